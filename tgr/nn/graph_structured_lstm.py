from typing import Optional, Tuple, Union

import torch
from torch import Tensor
from torch.nn import Parameter
from torch_geometric.nn import Linear, MessagePassing

from ..schedule import (LevelSchedule, LevelStep, build_schedule,
                        check_edge_index, check_single_parent,
                        parent_sibling_dependencies, propagate_levels,
                        sibling_order)
from ..schedule.engine import permute_rows
from ..schedule.orders import check_siblings
from ..utils import scatter
from ._checks import (check_channels, check_node_features, input_channels,
                      message_passing_kwargs)
from ._functional import sigmoid_backward as _sigmoid_backward
from ._functional import tanh_backward as _tanh_backward
from ._functional import tanh as _tanh
from ._fused import fused_cpu



class _GSStep(LevelStep):
    # One level of one direction. Every node has at most one hierarchical
    # (relation 0: parent, or first child backwards) and one temporal
    # (relation 1: previous sibling, or next sibling backwards) predecessor;
    # a missing one is replaced by the learned initial state of its relation.
    # Parameters: w_rec (5d, 2d) = [V | U], init (2, 2d) = [h0 | c0] per
    # relation. Gate order in xw and w_rec: i, f, g, o, c~.
    def forward(self, xw, src_state, dst_local, edge_in, aux, params):
        w_rec, init = params
        (rel, ) = aux
        n, d = xw.size(0), w_rec.size(1) // 2
        slot = dst_local * 2 + rel
        slots = init.unsqueeze(0).expand(n, 2, 2 * d).reshape(n * 2, 2 * d)
        slots = slots.index_copy(0, slot, src_state).view(n, 2, 2 * d)
        h_in = slots[..., :d].reshape(n, 2 * d)  # [h_pi | h_p]
        c_pi, c_p = slots[:, 0, d:], slots[:, 1, d:]
        pre = torch.addmm(xw, h_in, w_rec.t())
        fused = fused_cpu(xw)
        if fused is not None:  # two passes; the gates activated in place
            i, f, g, o, c_tilde = pre.split(d, dim=1)
            out = xw.new_empty(n, 2 * d)
            h, c = out[:, :d], out[:, d:]
            tc, gc_pi = torch.empty_like(h), torch.empty_like(h)
            fused.forget_forward(g, c_pi, gc_pi)  # g c_pi
            fused.cell_forward(i, o, c_tilde, f, c_p, gc_pi, h, c, tc)
            gates = pre[:, :4 * d]
        else:
            gates = torch.sigmoid(pre[:, :4 * d])
            i, f, g, o = gates.split(d, dim=1)
            c_tilde = _tanh(pre[:, 4 * d:])
            c = f * c_p + g * c_pi + i * c_tilde
            tc = _tanh(c)
            out = torch.cat([o * tc, c], dim=1)
        saved = (gates, c_tilde, tc, h_in, c_pi, c_p, slot, rel)
        return out, saved

    def backward(self, saved, grad, xw, src_state, dst_local, edge_in, aux,
                 params):
        w_rec, init = params
        gates, c_tilde, tc, h_in, c_pi, c_p, slot, rel = saved
        n, d = xw.size(0), w_rec.size(1) // 2
        i, f, g, o = gates.split(d, dim=1)
        gh, gc = grad[:, :d], grad[:, d:]
        fused = fused_cpu(xw)
        if fused is not None:  # three passes
            g_pre = xw.new_empty(n, 5 * d)
            g_i, g_f, g_g, g_o, g_u = g_pre.split(d, dim=1)
            g_slots = xw.new_empty(n, 2, 2 * d)
            g_c_pi, g_c_p = g_slots[:, 0, d:], g_slots[:, 1, d:]
            gc_new = torch.empty_like(tc)
            fused.cell_backward(i, o, c_tilde, tc, gh, gc, g_i, g_o, g_u,
                                gc_new)
            fused.forget_backward(gc_new, c_p, f, g_f, g_c_p)
            fused.forget_backward(gc_new, c_pi, g, g_g, g_c_pi)
            g_slots[:, :, :d] = (g_pre @ w_rec).view(n, 2, d)  # g_h
            g_slots = g_slots.view(n * 2, 2 * d)
        else:
            gc = gc + _tanh_backward(gh * o, tc)  # through h = o tanh(c)
            g_gates = _sigmoid_backward(
                torch.cat([gc * c_tilde, gc * c_p, gc * c_pi, gh * tc],
                          dim=1), gates)
            g_pre = torch.cat([g_gates, _tanh_backward(gc * i, c_tilde)],
                              dim=1)
            g_h = (g_pre @ w_rec).view(n, 2, d)  # [g_h_pi | g_h_p]
            g_c = torch.stack([gc * g, gc * f], dim=1)  # [g_c_pi | g_c_p]
            g_slots = torch.cat([g_h, g_c], dim=2).view(n * 2, 2 * d)
        g_src = g_slots.index_select(0, slot)
        # Slots not filled by an edge held the initial states:
        g_init = g_slots.view(n, 2, 2 * d).sum(dim=0) - scatter(g_src, rel, 2)
        return g_pre, g_src, None, [(g_pre, h_in), g_init]


_gs_step = _GSStep()


class GraphStructuredLSTM(MessagePassing):
    r"""The Graph-Structured LSTM from the `"Conversation Modeling on Reddit
    Using a Graph-Structured LSTM" <https://arxiv.org/abs/1704.02080>`_ paper
    (Zayats & Ostendorf, TACL 2018).

    Every node :math:`t` of a reply forest (e.g. a comment thread) receives
    two states: its parent's :math:`\pi(t)` (hierarchical propagation) and its
    previous sibling's :math:`p(t)` (temporal propagation):

    .. math::
        \mathbf{i}_t &= \sigma(\mathbf{W}_i \mathbf{x}_t +
        \mathbf{U}_i \mathbf{h}_{p(t)} + \mathbf{V}_i \mathbf{h}_{\pi(t)} +
        \mathbf{b}_i) \quad \text{(likewise } \mathbf{f}_t, \mathbf{g}_t,
        \mathbf{o}_t)

        \tilde{\mathbf{c}}_t &= \tanh(\mathbf{W}_c \mathbf{x}_t +
        \mathbf{U}_c \mathbf{h}_{p(t)} + \mathbf{V}_c \mathbf{h}_{\pi(t)} +
        \mathbf{b}_c)

        \mathbf{c}_t &= \mathbf{f}_t \odot \mathbf{c}_{p(t)} +
        \mathbf{g}_t \odot \mathbf{c}_{\pi(t)} +
        \mathbf{i}_t \odot \tilde{\mathbf{c}}_t, \qquad
        \mathbf{h}_t = \mathbf{o}_t \odot \tanh(\mathbf{c}_t)

    :math:`\mathbf{f}` is the temporal and :math:`\mathbf{g}` the
    hierarchical forget gate. The lecture writes :math:`\tilde{\mathbf{c}}`
    without an activation; the authors' code applies :math:`\tanh`, and so
    does this layer. Where :math:`p(t)` or :math:`\pi(t)` does not exist, a
    learned initial state (one pair :math:`(\mathbf{h}_0, \mathbf{c}_0)` per
    relation and direction) takes its place. The backward direction replaces
    :math:`\pi(t)` by the first child :math:`k(t)` and :math:`p(t)` by the
    next sibling :math:`s(t)`, with its own weights.

    Siblings are the children of one parent, ordered by :obj:`time` (ties by
    node index; node index order when :obj:`time` is :obj:`None`); roots are
    not siblings of one another. The dependencies :math:`\pi(t) \to t` and
    :math:`p(t) \to t` (backwards :math:`k(t) \to t` and :math:`s(t) \to t`)
    are run by the level-wise engine of :mod:`tgr.schedule`, one batched step
    per level, with exactly the comment-by-comment result.

    .. note::
        Precompute the sibling links and levels of each thread with
        :class:`tgr.transforms.AddSiblingOrder` and pass
        :obj:`sibling_index=data.sibling_index`, :obj:`level=data.level`,
        :obj:`rev_level=data.rev_level`; they stay valid in a
        :class:`~torch_geometric.data.Batch`.

    Args:
        in_channels (int): Size of each input sample, or :obj:`-1` to derive
            the size from the first input(s) to the forward method.
        out_channels (int): Size of the hidden and cell states of one
            direction.
        bidirectional (bool, optional): If set to :obj:`True`, also runs the
            backward direction and concatenates both hidden states.
            (default: :obj:`True`)
        bias (bool, optional): If set to :obj:`False`, the layer will not
            learn the biases :math:`\mathbf{b}`. (default: :obj:`True`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F_{in})`,
          reply edges :math:`(2, |\mathcal{E}|)` (parent to child),
          times :math:`(|\mathcal{V}|)` *(optional)*
        - **output:** hidden states :math:`(|\mathcal{V}|, 2 F_{out})` if
          :obj:`bidirectional`, else :math:`(|\mathcal{V}|, F_{out})`; with
          :obj:`return_cell=True`, the pair (hidden, cell) of equal shapes
    """
    def __init__(self, in_channels: int, out_channels: int,
                 bidirectional: bool = True, bias: bool = True, **kwargs):
        who = self.__class__.__name__
        check_channels(who, in_channels=in_channels,
                       out_channels=out_channels)
        # One parent and one sibling per node: nothing to aggregate, and the
        # reply edges are oriented parent -> child, whatever 'flow' says.
        super().__init__(**message_passing_kwargs(who, kwargs, flow=False))
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.bidirectional = bidirectional
        self.bias = bias
        d = out_channels
        num_dir = 2 if bidirectional else 1
        self.lin = torch.nn.ModuleList(
            [Linear(in_channels, 5 * d, bias=bias) for _ in range(num_dir)])
        self.lin_rec = torch.nn.ModuleList(
            [Linear(2 * d, 5 * d, bias=False) for _ in range(num_dir)])
        self.init_state = Parameter(torch.empty(num_dir, 2, 2 * d))
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        super().reset_parameters()
        for lin in list(self.lin) + list(self.lin_rec):
            lin.reset_parameters()
        torch.nn.init.zeros_(self.init_state)

    def forward(self, x: Tensor, edge_index: Tensor,
                time: Optional[Tensor] = None,
                sibling_index: Optional[Tensor] = None,
                level: Optional[Tensor] = None,
                rev_level: Optional[Tensor] = None,
                return_cell: bool = False,
                ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        r"""Runs both directions over the whole reply forest.

        Args:
            x (torch.Tensor): Node features.
            edge_index (torch.Tensor): Reply edges, parent to child.
            time (torch.Tensor, optional): Node times that order siblings.
            sibling_index (torch.Tensor, optional): Precomputed links from
                each child to its next sibling (see
                :func:`tgr.schedule.sibling_order`); :obj:`time` is then not
                used.
            level (torch.Tensor, optional): Precomputed levels of the forward
                direction.
            rev_level (torch.Tensor, optional): Precomputed levels of the
                backward direction.
            return_cell (bool, optional): If set to :obj:`True`, returns the
                cell states too. (default: :obj:`False`)

        Returns:
            The hidden states :obj:`h`, or :obj:`(h, c)` with
            :obj:`return_cell=True` (both directions concatenated).
        """
        check_node_features(self.__class__.__name__, x,
                            channels=input_channels(self.lin[0]))
        structure = self._structure(x.size(0), edge_index, time,
                                    sibling_index, level, rev_level)
        hs, cs = [], []
        for k, (sched, rel) in enumerate(structure):
            h, c = self._direction(k, x, sched, rel)
            hs.append(h)
            cs.append(c)
        h = torch.cat(hs, dim=1) if len(hs) > 1 else hs[0]
        if return_cell:
            return h, torch.cat(cs, dim=1) if len(cs) > 1 else cs[0]
        return h

    @torch.compiler.disable
    def _structure(self, num_nodes: int, edge_index: Tensor,
                   time: Optional[Tensor], sibling_index: Optional[Tensor],
                   level: Optional[Tensor], rev_level: Optional[Tensor]):
        # Checks the forest and the sibling links and builds the schedule of
        # each direction: data-dependent work, run eagerly under
        # torch.compile.
        who = self.__class__.__name__
        check_edge_index(edge_index, num_nodes, who)
        edge_index = edge_index.long()
        check_single_parent(edge_index, num_nodes, who, parent_row=0)
        if sibling_index is None:
            sibling_index = sibling_order(edge_index, num_nodes, time, who)
        else:
            check_edge_index(sibling_index, num_nodes, who)
            sibling_index = sibling_index.long()
            check_siblings(edge_index, sibling_index, num_nodes, who)
        out = []
        for k in range(2 if self.bidirectional else 1):
            dep, rel = parent_sibling_dependencies(edge_index, sibling_index,
                                                   num_nodes, reverse=k == 1)
            sched = build_schedule(dep, num_nodes,
                                   level=level if k == 0 else rev_level,
                                   who=who)
            out.append((sched, rel))
        return out

    def _direction(self, k: int, x: Tensor, sched: LevelSchedule,
                   rel: Tensor) -> Tuple[Tensor, Tensor]:
        d = self.out_channels
        # The hoisted projection, in the schedule's order (permuting x is
        # cheaper than permuting its 5d-wide projection):
        xw = self.lin[k](permute_rows(x, sched.perm, sched.rank))
        h, c = propagate_levels(
            _gs_step, sched, xw, 2 * d,
            params=(self.lin_rec[k].weight, self.init_state[k]), aux=(rel, ),
            in_level_order=True, split=(d, d))
        return h, c

    def __repr__(self) -> str:
        extra = '' if self.bidirectional else ', bidirectional=False'
        extra += '' if self.bias else ', bias=False'
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}{extra})')
