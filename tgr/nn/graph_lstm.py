from typing import Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.nn import Linear, MessagePassing

from ..schedule import (LevelSchedule, LevelStep, build_schedule,
                        confidence_order, propagate_levels)
from ..utils import scatter
from ._checks import (check_channels, check_node_features, check_state,
                      input_channels, message_passing_kwargs)
from ._functional import sigmoid_backward as _sigmoid_backward
from ._functional import tanh as _tanh
from ._functional import tanh_backward as _tanh_backward
from ._fused import fused_cpu


class _GraphLSTMStep(LevelStep):
    # The q_j = 1 half of one level: the new states of the neighbours updated
    # earlier (the sources of the dependency edges into the level).
    # node_in = [base_u, base_c | m_base | g_o] per node, where base_{u,c}
    # holds everything of the u and c pre-activations that reads old states
    # (W f_i + U h_{i,t} + U^n of the old half of hbar_i + b), m_base the old
    # half of the neighbours' forget-gated memories plus g^f_i m_{i,t}, and
    # g_o the output gate; edge_in = the adaptive forget gate gbar^f_ij of
    # every dependency edge j -> i; aux = (1 / |N(i)|,) per edge;
    # params = (U^n,), the (2d, d) weight [U^un; U^cn] applied to hbar_i.
    def forward(self, node_in, src_state, dst_local, edge_in, aux, params):
        (w_nbr, ) = params
        d, n = w_nbr.size(1), node_in.size(0)
        w = aux[0].unsqueeze(1)
        h_j, m_j = src_state[:, :d], src_state[:, d:]
        hs = scatter(h_j * w, dst_local, n)  # the q_j = 1 half of hbar_i
        pre = torch.addmm(node_in[:, :2 * d], hs, w_nbr.t())
        fm = scatter(edge_in * m_j * w, dst_local, n)
        fused = fused_cpu(node_in)
        if fused is not None:  # one pass; the gates activated in place
            out = node_in.new_empty(n, 2 * d)
            h, m = out[:, :d], out[:, d:]
            g_u, g_c = pre[:, :d], pre[:, d:]
            fused.graph_cell_forward(g_u, g_c, node_in[:, 2 * d:3 * d], fm,
                                     node_in[:, 3 * d:], m, h)
            return out, (g_u, g_c, m, h, hs)
        g_u = torch.sigmoid(pre[:, :d])
        g_c = _tanh(pre[:, d:])
        m = torch.addcmul(node_in[:, 2 * d:3 * d] + fm, g_u, g_c)
        h = _tanh(node_in[:, 3 * d:] * m)
        return torch.cat([h, m], dim=1), (g_u, g_c, m, h, hs)

    def backward(self, saved, grad, node_in, src_state, dst_local, edge_in,
                 aux, params):
        (w_nbr, ) = params
        g_u, g_c, m, h, hs = saved
        d = w_nbr.size(1)
        w = aux[0].unsqueeze(1)
        h_j, m_j = src_state[:, :d], src_state[:, d:]
        g_o = node_in[:, 3 * d:]
        gh, gm = grad[:, :d], grad[:, d:]
        fused = fused_cpu(node_in)
        if fused is not None:  # one pass, into the node inputs' gradient
            g_node = node_in.new_empty(node_in.shape)
            g_pre, gm = g_node[:, :2 * d], g_node[:, 2 * d:3 * d]
            fused.graph_cell_backward(g_u, g_c, m, h, g_o, gh, grad[:, d:],
                                      g_node[:, :d], g_node[:, d:2 * d], gm,
                                      g_node[:, 3 * d:])
        else:
            g_act = _tanh_backward(gh, h)  # through h = tanh(g_o m)
            gm = gm + g_act * g_o
            g_pre = torch.cat([_sigmoid_backward(gm * g_c, g_u),
                               _tanh_backward(gm * g_u, g_c)], dim=1)
            g_node = torch.cat([g_pre, gm, g_act * m], dim=1)
        gm_e = gm.index_select(0, dst_local) * w
        g_hj = (g_pre @ w_nbr).index_select(0, dst_local) * w
        g_src = torch.cat([g_hj, gm_e * edge_in], dim=1)
        return g_node, g_src, gm_e * m_j, [(g_pre, hs)]


_graph_lstm_step = _GraphLSTMStep()


class GraphLSTM(MessagePassing):
    r"""The Graph LSTM from the `"Semantic Object Parsing with Graph LSTM"
    <https://arxiv.org/abs/1603.07063>`_ paper (Liang et al., ECCV 2016).

    The nodes of an undirected graph are updated one at a time, in order of
    decreasing confidence. When node :math:`i` is updated, a neighbour
    :math:`j \in \mathcal{N}(i)` updated before it (:math:`q_j = 1`)
    contributes its new state :math:`(\mathbf{h}_{j,t+1},
    \mathbf{m}_{j,t+1})`, the others (:math:`q_j = 0`) their old state
    :math:`(\mathbf{h}_{j,t}, \mathbf{m}_{j,t})`, and every neighbour has its
    own adaptive forget gate:

    .. math::
        \bar{\mathbf{h}}_i &= \frac{1}{|\mathcal{N}(i)|}
        \sum_{j \in \mathcal{N}(i)} \big(q_j \mathbf{h}_{j,t+1} +
        (1 - q_j) \mathbf{h}_{j,t}\big)

        \mathbf{g}^u_i &= \sigma(\mathbf{W}^u \mathbf{f}_i +
        \mathbf{U}^u \mathbf{h}_{i,t} + \mathbf{U}^{un} \bar{\mathbf{h}}_i +
        \mathbf{b}^u), \quad
        \mathbf{g}^c_i = \tanh(\mathbf{W}^c \mathbf{f}_i +
        \mathbf{U}^c \mathbf{h}_{i,t} + \mathbf{U}^{cn} \bar{\mathbf{h}}_i +
        \mathbf{b}^c)

        \bar{\mathbf{g}}^f_{ij} &= \sigma(\mathbf{W}^f \mathbf{f}_i +
        \mathbf{W}^{fn} \mathbf{h}_{j,t} + \mathbf{b}^f), \quad
        \mathbf{g}^f_i = \sigma(\mathbf{W}^f \mathbf{f}_i +
        \mathbf{U}^f \mathbf{h}_{i,t} + \mathbf{b}^f), \quad
        \mathbf{g}^o_i = \sigma(\mathbf{W}^o \mathbf{f}_i +
        \mathbf{U}^o \mathbf{h}_{i,t} + \mathbf{b}^o)

        \mathbf{m}_{i,t+1} &= \frac{1}{|\mathcal{N}(i)|}
        \sum_{j \in \mathcal{N}(i)} \bar{\mathbf{g}}^f_{ij} \odot
        \big(q_j \mathbf{m}_{j,t+1} + (1 - q_j) \mathbf{m}_{j,t}\big) +
        \mathbf{g}^f_i \odot \mathbf{m}_{i,t} +
        \mathbf{g}^u_i \odot \mathbf{g}^c_i

        \mathbf{h}_{i,t+1} &= \tanh(\mathbf{g}^o_i \odot \mathbf{m}_{i,t+1})

    where :math:`\mathbf{f}_i` is the input feature of node :math:`i` and
    :math:`(\mathbf{h}_{i,t}, \mathbf{m}_{i,t})` its state from the previous
    Graph LSTM layer (zeros for the first). :math:`\mathbf{W}^f,
    \mathbf{b}^f` are shared by both forget gates, as in the paper. An
    isolated node has empty means (zero).

    The order sorts nodes by :obj:`confidence`, highest first; a
    :math:`(|\mathcal{V}|, C)` confidence (per-label scores) counts by its
    maximum over :math:`C` (the paper assigns each superpixel its most
    confident label). Ties are broken by node index (the paper breaks them
    spatially). No gradient flows through the order.

    The update order is a DAG (:func:`tgr.schedule.confidence_order`): every
    edge points from the node updated earlier to the later one. Nodes on one
    topological level of it are never adjacent, so neither reads the other's
    new state in the node-by-node definition either, and the layer updates a
    whole level in one batched step with exactly the node-by-node result;
    the number of sequential steps drops from :math:`|\mathcal{V}|` to the
    longest chain. Everything that reads old states only (the
    :math:`q_j = 0` halves, :math:`\mathbf{U} \mathbf{h}_{i,t}`,
    :math:`\mathbf{W} \mathbf{f}_i`, all forget and output gates) is computed
    for all nodes and edges before the level loop.

    .. note::
        :obj:`edge_index` must be undirected as PyG stores it (both
        directions of every edge; see
        :func:`torch_geometric.utils.to_undirected`). A node is not its own
        neighbour: self loops are ignored, and repeated edges count once.
        The graphs of a :class:`~torch_geometric.data.Batch` are
        disconnected, so one order over the batch is exact for each of them.

    Args:
        in_channels (int): Size of each input sample, or :obj:`-1` to derive
            the size from the first input(s) to the forward method.
        out_channels (int): Size of the hidden and memory states.
        bias (bool, optional): If set to :obj:`False`, the layer will not
            learn the biases :math:`\mathbf{b}`. (default: :obj:`True`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`: the neighbours
            are averaged, so :obj:`aggr` stays :obj:`"mean"`; either
            :obj:`flow` gives the same result on an undirected graph; other
            values are refused.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F_{in})`,
          undirected edge indices :math:`(2, |\mathcal{E}|)`,
          confidence :math:`(|\mathcal{V}|)` or :math:`(|\mathcal{V}|, C)`,
          state :math:`((|\mathcal{V}|, F_{out}), (|\mathcal{V}|, F_{out}))`
          *(optional)*
        - **output:** hidden and memory states
          :math:`((|\mathcal{V}|, F_{out}), (|\mathcal{V}|, F_{out}))`
    """
    def __init__(self, in_channels: int, out_channels: int, bias: bool = True,
                 **kwargs):
        who = self.__class__.__name__
        check_channels(who, in_channels=in_channels,
                       out_channels=out_channels)
        super().__init__(**message_passing_kwargs(who, kwargs,
                                                  aggr=('mean', )))
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.bias = bias
        d = out_channels
        # W^u, W^f, W^o, W^c and their biases, on the input features:
        self.lin = Linear(in_channels, 4 * d, bias=bias)
        # U^u, U^f, U^o, U^c, on the node's own old hidden state:
        self.lin_h = Linear(d, 4 * d, bias=False)
        # U^un, U^cn, on the mean hidden state of the neighbours:
        self.lin_nbr = Linear(d, 2 * d, bias=False)
        # W^fn, on a neighbour's old hidden state (adaptive forget gates):
        self.lin_fn = Linear(d, d, bias=False)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        super().reset_parameters()
        self.lin.reset_parameters()
        self.lin_h.reset_parameters()
        self.lin_nbr.reset_parameters()
        self.lin_fn.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, confidence: Tensor,
                state: Optional[Tuple[Tensor, Tensor]] = None,
                ) -> Tuple[Tensor, Tensor]:
        r"""Updates every node once, in order of decreasing confidence.

        Args:
            x (torch.Tensor): Node features :math:`\mathbf{f}`.
            edge_index (torch.Tensor): Undirected edges (both directions).
            confidence (torch.Tensor): Per-node confidence :math:`(|V|,)`,
                or per-label scores :math:`(|V|, C)` (their maximum counts).
            state (Tuple[torch.Tensor, torch.Tensor], optional): The states
                :math:`(\mathbf{h}_t, \mathbf{m}_t)` from a previous Graph
                LSTM layer. (default: :obj:`None`, zeros)

        Returns:
            :obj:`(h, m)`, the new hidden and memory state of every node.
        """
        who = self.__class__.__name__
        d = self.out_channels
        check_node_features(who, x, channels=input_channels(self.lin))
        state = check_state(who, state, (x.size(0), d))
        sched, dep, inv_deg = self._structure(x, edge_index, confidence)
        # The recurrence runs in the weights' dtype: the products may run in
        # 16 bits under autocast, the gates and sums over neighbours do not.
        n, dtype = x.size(0), self.lin_nbr.weight.dtype
        pre = self.lin(x).to(dtype)  # W f + b of the gates u, f, o, c
        earlier, later = dep[0], dep[1]
        if state is None:
            # Zeros, computed through (every parameter gets its gradient,
            # as data-parallel training expects).
            state = (pre.new_zeros(n, d), pre.new_zeros(n, d))
        h_old, m_old = (s.to(dtype) for s in state)
        # Gate by gate, through splits (the backward of a split is one
        # concatenation; a column slice's fills a full-width zero gradient):
        x_u, wf, x_o, x_c = pre.split(d, dim=1)  # wf = W^f f + b^f, shared
        h_u, h_f, h_o, h_c = self.lin_h(h_old).to(dtype).split(d, dim=1)
        hw = self.lin_fn(h_old).to(dtype)  # W^fn h_{j,t}
        # Adaptive forget gates of the dependency edges j -> i (q_j = 1):
        gate_new = torch.sigmoid(wf.index_select(0, later) +
                                 hw.index_select(0, earlier))
        # The q_j = 0 halves: the earlier node of every dependency edge reads
        # the old state of the later one.
        w_old = inv_deg.index_select(0, earlier).unsqueeze(1)
        gate_old = torch.sigmoid(wf.index_select(0, earlier) +
                                 hw.index_select(0, later))
        hbar_old = scatter(h_old.index_select(0, later) * w_old, earlier, n)
        fm_old = scatter(gate_old * m_old.index_select(0, later) * w_old,
                         earlier, n)
        m_base = torch.addcmul(fm_old, torch.sigmoid(wf + h_f), m_old)
        uc = torch.cat([x_u + h_u, x_c + h_c], dim=1) + \
            self.lin_nbr(hbar_old).to(dtype)
        g_o = torch.sigmoid(x_o + h_o)
        node_in = torch.cat([uc, m_base, g_o], dim=1)
        h, m = propagate_levels(_graph_lstm_step, sched, node_in, 2 * d,
                                params=(self.lin_nbr.weight, ),
                                edge_in=gate_new,
                                aux=(inv_deg.index_select(0, later), ),
                                split=(d, d))
        return h, m

    @torch.compiler.disable
    def _structure(self, x: Tensor, edge_index: Tensor, confidence: Tensor,
                   ) -> Tuple[LevelSchedule, Tensor, Tensor]:
        # The order's DAG, its schedule and 1 / |N(i)| of every node:
        # data-dependent work, run eagerly under torch.compile.
        who = self.__class__.__name__
        num_nodes = x.size(0)
        if not isinstance(confidence, Tensor):
            raise TypeError(f"'{who}' expects 'confidence' to be a "
                            f"torch.Tensor (got {type(confidence).__name__})")
        if confidence.dim() not in (1, 2) or confidence.size(0) != num_nodes:
            got = tuple(confidence.shape)
            raise ValueError(f"'{who}' expects 'confidence' of shape "
                             f"({num_nodes},) or ({num_nodes}, num_labels), "
                             f"one value or one score per label for every "
                             f"node (got {got})")
        dep = confidence_order(edge_index, confidence.to(x.device), who=who)
        sched = build_schedule(dep, num_nodes, who=who)
        deg = torch.bincount(dep.view(-1), minlength=num_nodes)
        inv_deg = deg.clamp(min=1).to(self.lin_nbr.weight.dtype).reciprocal()
        return sched, dep, inv_deg

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}'
                f'{"" if self.bias else ", bias=False"})')
