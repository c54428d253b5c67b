import warnings
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn.conv import MessagePassing
from torch_geometric.nn.dense import Linear
from torch_geometric.nn.inits import glorot
from torch_geometric.utils import softmax

from ._checks import check_node_features
from ..utils.metapath import (check_metapath, is_edge_type,
                              metapath_edge_type, metapath_graph,
                              resolve_edge_type)

EdgeType = Tuple[str, str, str]


# The graph of one meta-path, prepared once ###################################
class _Graph(NamedTuple):
    # Edges sorted by destination then source, self loops added if asked.
    edge_index: Tensor  # (2, E): row 0 source, row 1 destination
    ptr: Tensor  # (N_dst + 1,): the edges of destination i are ptr[i]:ptr[i+1]
    csc_ptr: Tensor  # (N_src + 1,): the same, by source, in csc_perm order
    csc_dst: Tensor  # (E,): the destination of each edge in source order
    csc_perm: Tensor  # (E,): the position of each edge in source order
    size: Tuple[int, int]  # (N_src, N_dst)


def _ptr(sorted_index: Tensor, num: int) -> Tensor:
    counts = torch.bincount(sorted_index, minlength=num)
    return torch.cat([counts.new_zeros(1), counts.cumsum(0)])


def _prepare(edge_index: Tensor, size: Tuple[int, int],
             self_loops: bool) -> _Graph:
    src, dst = edge_index.long()
    if self_loops:  # GATConv's convention: drop the given ones, add one each
        keep = src != dst
        loop = torch.arange(size[1], device=src.device)
        src = torch.cat([src[keep], loop])
        dst = torch.cat([dst[keep], loop])
    perm = torch.argsort(dst * size[0] + src, stable=True)
    src, dst = src[perm], dst[perm]
    csc_perm = torch.argsort(src * size[1] + dst, stable=True)
    return _Graph(torch.stack([src, dst]), _ptr(dst, size[1]),
                  _ptr(src[csc_perm], size[0]), dst[csc_perm], csc_perm,
                  size)


# Attention-weighted aggregation of every head without per-edge features ######
def _csr(ptr: Tensor, col: Tensor, value: Tensor,
         size: Tuple[int, int]) -> Tensor:
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta"
        warnings.simplefilter('ignore')
        return torch.sparse_csr_tensor(ptr, col, value, size,
                                       check_invariants=False)


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    # The sparse kernels take float32 and float64 only.
    return dtype if dtype in (torch.float32, torch.float64) else torch.float32


def _spmm_heads(ptr: Tensor, col: Tensor, values: Tensor, x: Tensor,
                num_rows: int) -> Tensor:
    # out[k] = A_k @ x[k] for the CSR matrices A_k = (ptr, col, values[k]):
    # values (H, E), x (H, N, C) -> (H, num_rows, C).
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return torch.stack([
            torch.sparse.mm(_csr(ptr, col, values[k], (num_rows, x.size(1))),
                            x[k]) for k in range(values.size(0))
        ])


# torch.library.custom_op (torch >= 2.4) makes the sparse products opaque
# to torch.compile, with fake kernels for tracing; older versions gather.
_CUSTOM_OPS = hasattr(torch.library, 'custom_op')
if _CUSTOM_OPS:
    @torch.library.custom_op('tgr::han_attention_spmm', mutates_args=())
    def _spmm_forward(alpha: Tensor, x: Tensor, ptr: Tensor, col: Tensor,
                      csc_ptr: Tensor, csc_dst: Tensor,
                      csc_perm: Tensor) -> Tensor:
        # out[i, k] = sum over edges e = (j, i) of alpha[e, k] x[j, k].
        # (The transposed graph is an input only for the backward pass.)
        out_dtype = torch.promote_types(alpha.dtype, x.dtype)
        dtype = _compute_dtype(out_dtype)
        with torch.autocast(x.device.type, enabled=False):
            out = _spmm_heads(ptr, col, alpha.to(dtype).t().contiguous(),
                              x.to(dtype).transpose(0, 1).contiguous(),
                              ptr.numel() - 1)
        return out.transpose(0, 1).contiguous().to(out_dtype)

    @_spmm_forward.register_fake
    def _(alpha, x, ptr, col, csc_ptr, csc_dst, csc_perm):
        return x.new_empty((ptr.numel() - 1, x.size(1), x.size(2)),
                           dtype=torch.promote_types(alpha.dtype, x.dtype))

    @torch.library.custom_op('tgr::han_attention_spmm_backward',
                             mutates_args=())
    def _spmm_backward(grad_out: Tensor, alpha: Tensor, x: Tensor,
                       ptr: Tensor, col: Tensor, csc_ptr: Tensor,
                       csc_dst: Tensor, csc_perm: Tensor
                       ) -> Tuple[Tensor, Tensor]:
        # d alpha[e, k] = <grad_out[i, k], x[j, k]> (a sampled dense product)
        # and d x = A^T grad_out (a product with the transposed graph).
        dtype = _compute_dtype(torch.promote_types(alpha.dtype, x.dtype))
        a = alpha.to(dtype).t().contiguous()  # (H, E)
        xs = x.to(dtype).transpose(0, 1).contiguous()  # (H, N_src, C)
        g = grad_out.to(dtype).transpose(0, 1).contiguous()  # (H, N_dst, C)
        with warnings.catch_warnings(), torch.autocast(x.device.type,
                                                       enabled=False):
            warnings.simplefilter('ignore')
            grad_alpha = torch.stack([
                torch.sparse.sampled_addmm(
                    _csr(ptr, col, a[k], (g.size(1), xs.size(1))), g[k],
                    xs[k].t(), beta=0.0).values() for k in range(a.size(0))
            ], dim=1)
            grad_x = _spmm_heads(csc_ptr, csc_dst,
                                 a.index_select(1, csc_perm), g,
                                 xs.size(1)).transpose(0, 1)
        return (grad_alpha.to(alpha.dtype),
                grad_x.contiguous().to(x.dtype))

    @_spmm_backward.register_fake
    def _(grad_out, alpha, x, ptr, col, csc_ptr, csc_dst, csc_perm):
        return torch.empty_like(alpha), torch.empty_like(x)

    def _spmm_setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    def _spmm_autograd(ctx, grad_out):
        grad_alpha, grad_x = _spmm_backward(grad_out, *ctx.saved_tensors)
        return grad_alpha, grad_x, None, None, None, None, None

    _spmm_forward.register_autograd(_spmm_autograd,
                                    setup_context=_spmm_setup_context)


def _attention_spmm(alpha: Tensor, x: Tensor, graph: _Graph) -> Tensor:
    r"""The attention-weighted sum over every head, one sparse CSR product
    per head, so that the :math:`(|E|, K, C)` tensor of messages never
    exists (nor in the backward pass)."""
    return _spmm_forward(alpha, x, graph.ptr, graph.edge_index[0],
                         graph.csc_ptr, graph.csc_dst, graph.csc_perm)


def _attention_gather(alpha: Tensor, x: Tensor, graph: _Graph) -> Tensor:
    # The same sum by gathering the messages, for devices without the sparse
    # CSR kernels.
    src, dst = graph.edge_index
    msg = x.index_select(0, src) * alpha.unsqueeze(-1)
    return msg.new_zeros((graph.size[1], ) + msg.shape[1:]).index_add_(
        0, dst, msg)


# The layer ###################################################################
class HAN(MessagePassing):
    r"""The heterogeneous graph attention layer from the `"Heterogeneous
    Graph Attention Network" <https://arxiv.org/abs/1903.07293>`_ paper
    (Wang et al., WWW 2019), as the paper writes it: node-level attention
    within each meta-path, then semantic attention across the meta-paths
    that end at the same node type.

    For every meta-path :math:`\Phi` from node type :math:`S` to node type
    :math:`T`, with the type-specific projection
    :math:`\mathbf{h}'_i = \mathbf{M}_{\tau(i)} \mathbf{h}_i` split into
    :math:`K` heads of :obj:`out_channels` each, and the neighbours
    :math:`\mathcal{N}^{\Phi}_i` of :math:`i` along :math:`\Phi` (:math:`i`
    itself included when :math:`S = T`):

    .. math::
        e^{\Phi,k}_{ij} &= \mathrm{LeakyReLU}\left(\mathbf{a}_{\Phi,k}^{\top}
        [\mathbf{h}'^{k}_i \, \Vert \, \mathbf{h}'^{k}_j]\right),
        \qquad \alpha^{\Phi,k}_{ij} = \frac{\exp(e^{\Phi,k}_{ij})}
        {\sum_{l \in \mathcal{N}^{\Phi}_i} \exp(e^{\Phi,k}_{il})}

        \mathbf{z}^{\Phi}_i &= \big\Vert_{k=1}^{K} \mathrm{ELU}\left(
        \sum_{j \in \mathcal{N}^{\Phi}_i} \alpha^{\Phi,k}_{ij}
        \mathbf{h}'^{k}_j\right)

        w_{\Phi} &= \frac{1}{|\mathcal{V}_T|} \sum_{i \in \mathcal{V}_T}
        \mathbf{q}^{\top} \tanh(\mathbf{W} \mathbf{z}^{\Phi}_i + \mathbf{b}),
        \qquad \beta_{\Phi} = \frac{\exp(w_{\Phi})}
        {\sum_{\Phi' \to T} \exp(w_{\Phi'})}

        \mathbf{Z}_i &= \sum_{\Phi \to T} \beta_{\Phi} \mathbf{z}^{\Phi}_i

    The softmax over neighbours is a scatter softmax over the meta-path's
    edges, and the weighted sum is one sparse product per head: no dense
    :math:`|\mathcal{V}| \times |\mathcal{V}|` matrix and no
    :math:`(|\mathcal{E}|, K, C)` tensor of messages is ever built. Dropout
    acts on the inputs :math:`\mathbf{h}_i` and on the coefficients
    :math:`\alpha` (the paper's code does both).

    .. note::

        How this differs from :class:`~torch_geometric.nn.conv.HANConv`,
        whose call it shares (swap one for the other): :obj:`heads` heads of
        :obj:`out_channels` each (so the output has
        :obj:`heads * out_channels` channels) instead of :obj:`out_channels`
        split over the heads; ELU instead of ReLU; self loops; dropout on the
        inputs too; node-level attention returned on request. The paper's
        own code (TensorFlow, dense adjacency) takes a softmax of the
        semantic scores per node; this layer follows the paper's Eq. 7, an
        average over the nodes of :math:`T`. That code, and DGL's example
        after it, also project the features once per meta-path (one
        :class:`GATConv` each); this layer follows the paper's text, one
        projection :math:`\mathbf{M}_{\tau}` per node type shared by its
        meta-paths. A bias of the projection
        (:obj:`bias=True`) equals a bias added before the ELU: the
        coefficients sum to one and the attention logits of one node shift
        by the same amount for every neighbour.

    .. note::

        **Meta-paths.** An entry of :obj:`metadata[1]` is either an edge type
        of the input (e.g. made by
        :class:`~torch_geometric.transforms.AddMetaPaths` or read as a
        meta-path adjacency, as in :class:`tgr.datasets.ACM3025`) or a
        sequence of edge types that chain, e.g.
        :obj:`[('movie', 'director'), ('director', 'movie')]`. A sequence's
        graph is the sparse product of its steps' adjacencies with duplicate
        paths dropped (:func:`tgr.utils.metapath_edge_index`), built at the
        first call and cached, like every meta-path's sorted edges: it is
        rebuilt only when another :obj:`edge_index` tensor (or an in-place
        change of it) comes in. The place to build meta-path graphs is,
        however, the dataset: :class:`tgr.transforms.AddMetaPathGraphs`
        builds them once, where :class:`~torch_geometric.data.DataLoader`
        workers can do it, and makes them edge types that
        :class:`~torch_geometric.loader.NeighborLoader` samples (a sampled
        batch of the raw edge types does not hold its seed nodes' meta-path
        neighbourhoods, so the layer cannot rebuild them per batch). It
        stores each under :func:`tgr.utils.metapath_edge_type`, the key this
        layer gives a sequence's parameters, so a model built with sequences
        loads into one built with the transform's edge types. Sequences in
        the layer are the convenience for full-graph training.

    .. note::

        **Mini-batches.** :math:`w_{\Phi}` averages over all nodes of
        :math:`T`; on a sampled batch the layer averages over the batch's
        nodes of :math:`T` (an estimate, as batch normalisation's statistics
        are). To reproduce full-graph outputs on the seed nodes, pass the
        full graph's :math:`\beta` as :obj:`semantic_attention_weights`.

    Args:
        in_channels (int or Dict[str, int]): Size of each input sample of
            every node type, or :obj:`-1` to derive the size from the first
            input(s) to the forward method.
        out_channels (int): Size of each head's output; the output has
            :obj:`heads * out_channels` channels.
        metadata (Tuple[List[str], List]): The node types and the
            meta-paths, each an edge type :obj:`(src, rel, dst)` of the input
            or a sequence of edge types (see above); :obj:`data.metadata()`
            of a graph whose edge types are meta-path graphs fits.
        heads (int, optional): Number of attention heads :math:`K`.
            (default: :obj:`8`)
        dropout (float, optional): Dropout probability of the input features
            and of the attention coefficients. (default: :obj:`0.6`)
        negative_slope (float, optional): LeakyReLU angle of the negative
            slope. (default: :obj:`0.2`)
        semantic_channels (int, optional): Size of the semantic attention's
            hidden layer :math:`\mathbf{W}`. (default: :obj:`128`)
        add_self_loops (bool, optional): If set to :obj:`False`, will not add
            self loops to meta-paths that start and end at the same node type
            (given ones are removed and one per node added otherwise).
            (default: :obj:`True`)
        bias (bool, optional): If set to :obj:`False`, the type-specific
            projection has no bias. (default: :obj:`True`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing` (not :obj:`aggr`,
            :obj:`node_dim` and :obj:`flow`, which the layer fixes).

    Shapes:
        - **input:** node features :obj:`x_dict[t]` of shape
          :math:`(|\mathcal{V}_t|, F_{t})`, edge indices
          :obj:`edge_index_dict[e]` of shape :math:`(2, |\mathcal{E}_e|)`
        - **output:** :obj:`out_dict[t]` of shape
          :math:`(|\mathcal{V}_t|, K \cdot F_{out})` for every node type at
          which a meta-path ends, :obj:`None` for the others
    """
    def __init__(
        self,
        in_channels: Union[int, Dict[str, int]],
        out_channels: int,
        metadata: Tuple[List[str], List],
        heads: int = 8,
        dropout: float = 0.6,
        negative_slope: float = 0.2,
        semantic_channels: int = 128,
        add_self_loops: bool = True,
        bias: bool = True,
        **kwargs,
    ):
        who = self.__class__.__name__
        for name, value in (('aggr', 'add'), ('node_dim', 0),
                            ('flow', 'source_to_target'),
                            ('decomposed_layers', 1)):
            if kwargs.get(name, value) != value:
                raise ValueError(f"'{who}' supports only {name}={value!r} "
                                 f"(got {kwargs[name]!r})")
            kwargs[name] = value
        super().__init__(**kwargs)
        for name, value in (('out_channels', out_channels), ('heads', heads),
                            ('semantic_channels', semantic_channels)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"'{who}' expects '{name}' to be a positive "
                                 f"integer (got {value!r})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"'{who}' expects 'dropout' in [0, 1) (got "
                             f"{dropout!r})")
        if not (isinstance(metadata, (tuple, list)) and len(metadata) == 2):
            raise TypeError(f"'{who}' expects 'metadata' to be a pair "
                            f"(node_types, metapaths), as "
                            f"HeteroData.metadata() returns")
        node_types, metapaths = list(metadata[0]), list(metadata[1])
        if not metapaths:
            raise ValueError(f"'{who}' expects at least one meta-path in "
                             f"'metadata[1]'")

        # One entry per meta-path: its key, its edge type, its steps when
        # given as a sequence (None for an edge type of the input).
        self.metapaths: List[Tuple[str, EdgeType, Optional[list]]] = []
        for metapath in metapaths:
            steps = check_metapath(who, metapath, node_types)
            given = is_edge_type(metapath) and len(metapath) == 3
            edge_type = metapath_edge_type(metapath)
            key = '__'.join(edge_type)
            if any(key == other[0] for other in self.metapaths):
                raise ValueError(f"'{who}' got meta-path {metapath!r} twice")
            self.metapaths.append((key, edge_type, None if given else steps))
        ends = sorted({t for _, et, _ in self.metapaths
                       for t in (et[0], et[-1])}, key=node_types.index)
        if not isinstance(in_channels, dict):
            in_channels = {node_type: in_channels for node_type in ends}
        missing = [t for t in ends if t not in in_channels]
        if missing:
            raise ValueError(f"'{who}' expects 'in_channels' for node types "
                             f"{missing}")

        self.in_channels = in_channels
        self.out_channels = out_channels
        self.heads = heads
        self.dropout = dropout
        self.negative_slope = negative_slope
        self.semantic_channels = semantic_channels
        self.add_self_loops = add_self_loops
        self.metadata = (node_types, metapaths)

        self.proj = nn.ModuleDict({
            t: Linear(in_channels[t], heads * out_channels, bias=bias,
                      weight_initializer='glorot')
            for t in ends
        })
        self.att_src = nn.ParameterDict()
        self.att_dst = nn.ParameterDict()
        for key, _, _ in self.metapaths:
            self.att_src[key] = nn.Parameter(torch.empty(1, heads,
                                                         out_channels))
            self.att_dst[key] = nn.Parameter(torch.empty(1, heads,
                                                         out_channels))
        self.k_lin = nn.Linear(heads * out_channels, semantic_channels)
        self.q = nn.Parameter(torch.empty(1, semantic_channels))
        self._cache: Dict[str, tuple] = {}

        self.reset_parameters()

    def reset_parameters(self):
        super().reset_parameters()
        for lin in self.proj.values():
            lin.reset_parameters()
        glorot(self.att_src)
        glorot(self.att_dst)
        self.k_lin.reset_parameters()
        glorot(self.q)

    def forward(
        self,
        x_dict: Dict[str, Tensor],
        edge_index_dict: Dict[EdgeType, Tensor],
        return_semantic_attention_weights: bool = False,
        return_attention_weights: bool = False,
        semantic_attention_weights: Optional[Dict[str, Tensor]] = None,
    ):
        r"""Runs the layer.

        Args:
            x_dict (Dict[str, torch.Tensor]): The features of every node type
                (at least those at which a meta-path starts or ends).
            edge_index_dict (Dict[Tuple[str, str, str], torch.Tensor]): The
                :obj:`edge_index` of every edge type the meta-paths use; other
                edge types are ignored.
            return_semantic_attention_weights (bool, optional): If set to
                :obj:`True`, also returns :math:`\beta` per destination node
                type, a vector over its meta-paths in the order of
                :obj:`metadata[1]`. (default: :obj:`False`)
            return_attention_weights (bool, optional): If set to :obj:`True`,
                also returns the node-level coefficients of every meta-path,
                keyed by its edge type, as :obj:`(edge_index, alpha)` with
                the edges the layer used (self loops included) and
                :obj:`alpha` of shape :math:`(|\mathcal{E}|, K)` (before
                dropout: they sum to one per node), in the form of
                :class:`~torch_geometric.nn.conv.GATConv`'s.
                (default: :obj:`False`)
            semantic_attention_weights (Dict[str, torch.Tensor], optional):
                :math:`\beta` to use instead of computing it (e.g. the full
                graph's, on a sampled mini-batch). (default: :obj:`None`)

        Returns:
            :obj:`out_dict`, followed by the semantic weights and then the
            node-level coefficients when asked for.
        """
        who = self.__class__.__name__
        if not isinstance(x_dict, dict) or not isinstance(
                edge_index_dict, dict):
            raise TypeError(f"'{who}' expects 'x_dict' and "
                            f"'edge_index_dict' to be dictionaries")
        H, C = self.heads, self.out_channels
        for node_type in self.proj:
            if node_type not in x_dict:
                raise ValueError(f"'{who}' expects features of node type "
                                 f"'{node_type}' in 'x_dict', where a "
                                 f"meta-path starts or ends (got types "
                                 f"{sorted(x_dict)})")
        num_nodes = {t: x.size(0) for t, x in x_dict.items()
                     if isinstance(x, Tensor)}
        # The meta-path graphs first, from the cache (the only step that
        # torch.compile does not trace):
        graphs = self._graphs(edge_index_dict, num_nodes)

        h_dict: Dict[str, Tensor] = {}
        for node_type, lin in self.proj.items():
            x = x_dict[node_type]
            channels = self.in_channels[node_type]
            check_node_features(who, x, shape=f"(num_nodes, "
                                f"{channels if channels > 0 else 'F'}) "
                                f"for node type '{node_type}'",
                                channels=channels if channels > 0 else None)
            x = F.dropout(x, p=self.dropout, training=self.training)
            h_dict[node_type] = lin(x).view(-1, H, C)

        outs: Dict[str, List[Tensor]] = {}
        alpha_dict = {}
        for (key, edge_type, _), graph in zip(self.metapaths, graphs):
            src_type, dst_type = edge_type[0], edge_type[-1]
            h_src, h_dst = h_dict[src_type], h_dict[dst_type]
            s_src = (h_src * self.att_src[key]).sum(dim=-1)  # (N_src, H)
            s_dst = (h_dst * self.att_dst[key]).sum(dim=-1)  # (N_dst, H)
            alpha = self.edge_updater(graph.edge_index, alpha=(s_src, s_dst),
                                      dst_ptr=graph.ptr, size=graph.size)
            if return_attention_weights:
                alpha_dict[edge_type] = (graph.edge_index, alpha)
            alpha = F.dropout(alpha, p=self.dropout, training=self.training)
            out = self.propagate(graph.edge_index, alpha=alpha, h_src=h_src,
                                 graph=graph, size=graph.size)
            outs.setdefault(dst_type, []).append(F.elu(out).view(-1, H * C))

        out_dict: Dict[str, Optional[Tensor]] = {t: None for t in x_dict}
        beta_dict: Dict[str, Optional[Tensor]] = {t: None for t in x_dict}
        for node_type, zs in outs.items():
            beta = None
            if semantic_attention_weights is not None:
                beta = semantic_attention_weights.get(node_type)
                if beta is not None and beta.shape != (len(zs), ):
                    raise ValueError(f"'{who}' expects "
                                     f"'semantic_attention_weights' of node "
                                     f"type '{node_type}' of shape "
                                     f"({len(zs)},) (got "
                                     f"{tuple(beta.shape)})")
            out_dict[node_type], beta_dict[node_type] = self._semantic(
                zs, beta)

        result = (out_dict, )
        if return_semantic_attention_weights:
            result += (beta_dict, )
        if return_attention_weights:
            result += (alpha_dict, )
        return result[0] if len(result) == 1 else result

    def edge_update(self, alpha_j: Tensor, alpha_i: Tensor, index: Tensor,
                    dst_ptr: Tensor, size_i: Optional[int]) -> Tensor:
        alpha = F.leaky_relu(alpha_j + alpha_i, self.negative_slope)
        return softmax(alpha, index, dst_ptr, size_i)

    def message(self, alpha: Tensor) -> Tensor:
        return alpha  # (E, H): the features are summed in aggregate()

    def aggregate(self, inputs: Tensor, h_src: Tensor,
                  graph: _Graph) -> Tensor:
        if _CUSTOM_OPS and h_src.device.type in ('cpu', 'cuda'):
            return _attention_spmm(inputs, h_src, graph)
        return _attention_gather(inputs, h_src, graph)

    def _semantic(self, zs: List[Tensor],
                  beta: Optional[Tensor]) -> Tuple[Tensor, Tensor]:
        z = torch.stack(zs)  # (P, N, K * C)
        if beta is None:
            score = (torch.tanh(self.k_lin(z)) * self.q).sum(dim=-1)
            w = score.mean(dim=1) if z.size(1) > 0 else score.new_zeros(
                z.size(0))
            beta = torch.softmax(w, dim=0)
        return (beta.view(-1, 1, 1) * z).sum(dim=0), beta

    # The cache of prepared meta-path graphs ##################################
    @torch.compiler.disable
    def _graphs(self, edge_index_dict: Dict[EdgeType, Tensor],
                num_nodes: Dict[str, int]) -> List[_Graph]:
        return [self._graph(key, edge_type, steps, edge_index_dict, num_nodes)
                for key, edge_type, steps in self.metapaths]

    def _graph(self, key: str, edge_type: EdgeType, steps: Optional[list],
               edge_index_dict: Dict[EdgeType, Tensor],
               num_nodes: Dict[str, int]) -> _Graph:
        who = self.__class__.__name__
        if steps is None:
            if edge_type not in edge_index_dict:
                raise ValueError(f"'{who}' found no edge type {edge_type} "
                                 f"of its meta-paths in 'edge_index_dict' "
                                 f"(it has {sorted(edge_index_dict)})")
            tensors = [edge_index_dict[edge_type]]
        else:
            tensors = [edge_index_dict[resolve_edge_type(
                who, step, list(edge_index_dict))] for step in steps]
        for t in tensors:
            if not isinstance(t, Tensor) or t.layout != torch.strided:
                raise TypeError(f"'{who}' expects every edge_index of "
                                f"{edge_type} to be a dense tensor of shape "
                                f"(2, E) (got {type(t).__name__})")
        types = [edge_type[0]] + ([s[-1] for s in steps] if steps else
                                  [edge_type[-1]])
        sizes = tuple(num_nodes.get(t) for t in types)
        try:
            stamp = tuple(t._version for t in tensors)
        except RuntimeError:  # inference tensors have no version counter
            stamp = None
        cached = self._cache.get(key)
        if (stamp is not None and cached is not None
                and len(cached[0]) == len(tensors)
                and all(a is b for a, b in zip(cached[0], tensors))
                and cached[1] == stamp and cached[2] == sizes):
            return cached[3]

        size = (sizes[0], sizes[-1])
        if steps is None:
            edge_index = tensors[0]
            if edge_index.is_floating_point() or edge_index.dim() != 2 \
                    or edge_index.size(0) != 2:
                raise ValueError(f"'{who}' expects the edge_index of "
                                 f"{edge_type} to be an integer tensor of "
                                 f"shape (2, E) (got "
                                 f"{tuple(edge_index.shape)}, "
                                 f"{edge_index.dtype})")
            for row, n, role in ((0, size[0], 'source'),
                                 (1, size[1], 'destination')):
                if edge_index.size(1) > 0:
                    lo, hi = (int(edge_index[row].min()),
                              int(edge_index[row].max()))
                    if lo < 0 or hi >= n:
                        raise ValueError(
                            f"'{who}' found {role} index "
                            f"{lo if lo < 0 else hi} in the edge_index of "
                            f"{edge_type}, out of range for {n} nodes of "
                            f"type '{edge_type[-row]}'")
        else:
            edge_index = metapath_graph(who, steps, edge_index_dict,
                                        dict(zip(types, sizes)))
        graph = _prepare(edge_index, size,
                         self.add_self_loops and edge_type[0] == edge_type[-1])
        if stamp is not None:
            self._cache[key] = (tuple(tensors), stamp, sizes, graph)
        return graph

    def __getstate__(self):
        state = self.__dict__.copy()
        state['_cache'] = {}  # prepared graphs are not part of the model
        return state

    def __repr__(self) -> str:
        channels = set(self.in_channels.values())
        in_channels = (channels.pop() if len(channels) == 1 else
                       self.in_channels)
        return (f'{self.__class__.__name__}({in_channels}, '
                f'{self.out_channels}, heads={self.heads}, '
                f'metapaths={[mp[1][1] for mp in self.metapaths]})')

