from typing import NamedTuple, Optional

import torch
from torch import Tensor
from torch_geometric.nn import Linear, MessagePassing

from ..schedule import check_edge_index
from ..utils import scatter
from ._checks import (check_channels, check_labels, check_node_features,
                      input_channels, message_passing_kwargs)


class SubsetGraph(NamedTuple):
    r"""The per-edge tensors of :class:`SpatialGraphConv` for one graph:
    the bones plus one self-loop per joint, each edge's normalisation
    :math:`1 / |\mathcal{N}(i)|` and its output slot
    :math:`3 i + \text{subset}`. Built once by
    :meth:`SpatialGraphConv.subset_graph` and reused for every frame and
    every time step (the partition itself is
    :func:`tgr.utils.skeleton.skeleton_partition`)."""
    edge_index: Tensor
    norm: Tensor
    slot: Tensor
    num_nodes: int

    def gather(self, h: Tensor, out: Optional[Tensor] = None) -> Tensor:
        r"""The normalised subset sums :math:`\mathbf{S} \mathbf{h}` of
        :class:`SpatialGraphConv` before its weights, for node features
        :math:`(|\mathcal{V}|, F)`: a tensor :math:`(|\mathcal{V}|, 3 F)`,
        the three subsets side by side, written into :obj:`out` when
        given."""
        n, d = self.num_nodes, h.size(1)
        msg = h.index_select(0, self.edge_index[0])
        msg.mul_(self.norm.unsqueeze(1))
        out = h.new_zeros(n, 3 * d) if out is None else out.zero_()
        out.view(3 * n, d).index_add_(0, self.slot, msg)
        return out

    def scatter(self, g: Tensor) -> Tensor:
        r"""The transpose :math:`\mathbf{S}^{\top} \mathbf{g}` of
        :meth:`gather`, :math:`(|\mathcal{V}|, 3 F) \to
        (|\mathcal{V}|, F)` (the gradient of :meth:`gather`)."""
        n = self.num_nodes
        d = g.size(1) // 3
        msg = g.view(3 * n, d).index_select(0, self.slot)
        msg.mul_(self.norm.unsqueeze(1))
        return g.new_zeros(n, d).index_add_(0, self.edge_index[0], msg)


class SpatialGraphConv(MessagePassing):
    r"""The spatial graph convolution of ST-GCN from the `"Spatial Temporal
    Graph Convolutional Networks for Skeleton-Based Action Recognition"
    <https://arxiv.org/abs/1801.07455>`_ paper (Yan et al., AAAI 2018), with
    the spatial configuration partitioning, as AGC-LSTM uses it
    (:math:`*\mathcal{G}` in :class:`AGCLSTMCell`):

    .. math::
        \mathbf{x}^{\prime}_i = \sum_{k \in \{\text{root},
        \text{centripetal}, \text{centrifugal}\}}
        \sum_{j \in \mathcal{N}_k(i)} \frac{1}{|\mathcal{N}(i)|}
        \mathbf{W}_k \mathbf{x}_j + \mathbf{b}

    where :math:`\mathcal{N}(i)` is joint :math:`i` with its bone
    neighbours, split into the subsets :math:`\mathcal{N}_k(i)` by the hop
    distance to the skeleton's centre joint (:func:`skeleton_partition`):
    the root subset (the joint itself and neighbours as far from the centre
    as it), the centripetal subset (nearer) and the centrifugal subset
    (farther). As in ST-GCN's code, every subset is normalised by the size of
    the whole neighbourhood, :math:`|\mathcal{N}(i)| = 1 + \deg(i)`.

    The layer aggregates first, one sum per subset, then applies the three
    weights as one matrix product over the concatenation
    :math:`[\mathbf{a}_{\text{root}} \,\|\, \mathbf{a}_{\text{centripetal}}
    \,\|\, \mathbf{a}_{\text{centrifugal}}]` (:obj:`lin`, of shape
    :math:`(F_{out}, 3 F_{in})`). Node features may carry extra dimensions
    between the nodes and the channels, e.g. :math:`(|\mathcal{V}|, T,
    F_{in})` for all frames of a skeleton sequence at once.

    Args:
        in_channels (int): Size of each input sample, or :obj:`-1` to derive
            the size from the first input(s) to the forward method.
        out_channels (int): Size of each output sample.
        bias (bool, optional): If set to :obj:`False`, the layer will not
            learn the bias :math:`\mathbf{b}`. (default: :obj:`True`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`: :obj:`flow`
            (:obj:`"target_to_source"` takes :obj:`edge_index[1]` as the
            sender of every edge); the aggregation is the normalised
            subset sum above, so :obj:`aggr` stays :obj:`"add"` and
            :obj:`node_dim` stays :obj:`0`, and other values are refused.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, *, F_{in})`,
          edge indices :math:`(2, |\mathcal{E}|)` (bones in both directions,
          no self-loops), subset labels :math:`(|\mathcal{E}|,)`
        - **output:** node features :math:`(|\mathcal{V}|, *, F_{out})`
    """
    def __init__(self, in_channels: int, out_channels: int, bias: bool = True,
                 **kwargs):
        who = self.__class__.__name__
        check_channels(who, in_channels=in_channels,
                       out_channels=out_channels)
        # The three normalised subset sums are its own aggregation: 'aggr'
        # stays a sum, and node features come first (node_dim=0).
        super().__init__(**message_passing_kwargs(who, kwargs, node_dim=0))
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.bias = bias
        self.lin = Linear(3 * in_channels if in_channels > 0 else -1,
                          out_channels, bias=bias)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        super().reset_parameters()
        self.lin.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor,
                partition: Tensor) -> Tensor:
        r"""Runs the convolution.

        Args:
            x (torch.Tensor): Node features :math:`(|\mathcal{V}|, *,
                F_{in})`.
            edge_index (torch.Tensor): The bones, both directions.
            partition (torch.Tensor): The subset label of every edge
                (:func:`skeleton_partition`).

        Returns:
            The new node features :math:`(|\mathcal{V}|, *, F_{out})`.
        """
        who = self.__class__.__name__
        fan_in = input_channels(self.lin)
        check_node_features(who, x, '(num_nodes, *, in_channels)',
                            dims=tuple(range(2, 8)),
                            channels=None if fan_in is None else fan_in // 3)
        graph = self.subset_graph(edge_index, partition, x.size(0), x.dtype,
                                  who)
        a = self.aggregate_subsets(x, graph)  # (N, 3, *, C)
        a = a.movedim(1, -2)
        return self.lin(a.reshape(a.shape[:-2] + (3 * x.size(-1), )))

    @torch.compiler.disable
    def subset_graph(self, edge_index: Tensor, partition: Tensor,
                     num_nodes: int, dtype: torch.dtype = torch.float,
                     who: Optional[str] = None) -> SubsetGraph:
        r"""Checks the graph once and builds the :class:`SubsetGraph` that
        :meth:`aggregate_subsets` reuses for every frame and step."""
        who = who or self.__class__.__name__
        check_edge_index(edge_index, num_nodes, who)
        edge_index = edge_index.long()
        partition = check_labels(who, 'partition', partition,
                                 edge_index.size(1), 3, per='edge',
                                 meaning=' (root, centripetal, centrifugal;'
                                 ' see skeleton_partition)')
        # Messages go from src to dst: edge_index[0] -> edge_index[1], or the
        # other way with flow='target_to_source'.
        src, dst = edge_index[0], edge_index[1]
        if self.flow == 'target_to_source':
            src, dst = dst, src
        if bool((src == dst).any()):
            node = int(src[src == dst][0])
            raise ValueError(f"'{who}' expects 'edge_index' without "
                             f"self-loops (found one at node {node}; the "
                             f"root subset always holds the joint itself)")
        loop = torch.arange(num_nodes, device=edge_index.device)
        src, dst = torch.cat([src, loop]), torch.cat([dst, loop])
        subset = torch.cat([partition, torch.zeros_like(loop)])
        deg = torch.bincount(dst, minlength=num_nodes)  # |N(i)|, with i
        norm = deg.to(dtype).reciprocal().index_select(0, dst)
        return SubsetGraph(torch.stack([src, dst]), norm, 3 * dst + subset,
                           num_nodes)

    def aggregate_subsets(self, x: Tensor, graph: SubsetGraph) -> Tensor:
        r"""The normalised neighbourhood sums of the three subsets, before
        the weights: a tensor of shape :math:`(|\mathcal{V}|, 3, *, F_{in})`
        (subsets in the order of :data:`tgr.utils.skeleton.SUBSETS`)."""
        n = graph.num_nodes
        norm = graph.norm.to(x.dtype)
        edge_index = graph.edge_index  # src -> dst, as propagate's flow:
        if self.flow == 'target_to_source':
            edge_index = edge_index.flip(0)
        out = self.propagate(edge_index, x=x, norm=norm,
                             slot=graph.slot, size=(n, n))
        return out.view((n, 3) + tuple(x.shape[1:]))

    def message(self, x_j: Tensor, norm: Tensor) -> Tensor:
        return x_j * norm.view((-1, ) + (1, ) * (x_j.dim() - 1))

    def aggregate(self, inputs: Tensor, slot: Tensor,
                  dim_size: Optional[int] = None) -> Tensor:
        # Sums every message into row 3 i + subset.
        return scatter(inputs, slot, 3 * dim_size)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}'
                f'{"" if self.bias else ", bias=False"})')
