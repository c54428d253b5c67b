from typing import Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.nn import Linear, MessagePassing

from ..schedule import (LevelSchedule, LevelStep, check_single_parent,
                        layer_schedule, propagate_levels)
from ..schedule.engine import permute_rows
from ..utils import scatter
from ._checks import (check_channels, check_labels, check_node_features,
                      input_channels, message_passing_kwargs, reject_renamed)
from ._functional import sigmoid_backward as _sigmoid_backward
from ._functional import sigmoid_backward_out as _sigmoid_backward_out
from ._functional import tanh_backward as _tanh_backward
from ._functional import tanh_backward_out as _tanh_backward_out
from ._functional import tanh as _tanh
from ._fused import fused_cpu



class _ChildSumStep(LevelStep):
    # One level of the Child-Sum Tree-LSTM, with its backward written out.
    # xw = [W_i x; W_o x; W_u x; W_f x] + b for the level's nodes,
    # src_state = [h_k, c_k] of every child k (one row per edge); with
    # aggr='mean', aux = (w,) holds 1 / |C(j)| per edge, the weight of child
    # k in the mean over the children of its parent j.
    writes_out = True

    def forward(self, xw, src_state, dst_local, edge_in, aux, params,
                out=None):
        w_iou, w_f = params
        d, n = w_f.size(0), xw.size(0)
        if out is None:
            out = xw.new_empty(n, 2 * d)
        h, c = out[:, :d], out[:, d:]
        fused = fused_cpu(xw)
        leaves = dst_local.numel() == 0  # no children, no products
        w = aux[0].unsqueeze(1) if aux and not leaves else None
        if leaves:
            iou, f, fc, h_sum = xw[:, :3 * d], None, None, None
        else:
            h_k, c_k = src_state[:, :d], src_state[:, d:]
            h_sum = scatter(h_k if w is None else h_k * w, dst_local, n)
            iou = torch.addmm(xw[:, :3 * d], h_sum, w_iou.t())
            f = torch.addmm(xw[:, 3 * d:].index_select(0, dst_local), h_k,
                            w_f.t())
        if fused is not None:  # one pass per kernel, gates in place
            if leaves:
                iou = iou.clone()
            else:
                fc = torch.empty_like(f)
                fused.forget_forward(f, c_k, fc)
                fc = scatter(fc if w is None else fc.mul_(w), dst_local, n)
            tc = torch.empty_like(h)
            fused.cell_forward(iou[:, :d], iou[:, d:2 * d], iou[:, 2 * d:],
                               None, None, fc, h, c, tc)
            return out, (iou[:, :2 * d], iou[:, 2 * d:], f, tc, h_sum)
        io = torch.sigmoid(iou[:, :2 * d])
        u = _tanh(iou[:, 2 * d:])
        if leaves:
            torch.mul(io[:, :d], u, out=c)
        else:
            f = f.sigmoid_()
            fc = f * c_k
            fc = scatter(fc if w is None else fc * w, dst_local, n)
            torch.addcmul(fc, io[:, :d], u, out=c)
        tc = _tanh(c)
        torch.mul(io[:, d:], tc, out=h)
        return out, (io, u, f, tc, h_sum)

    def backward(self, saved, grad, xw, src_state, dst_local, edge_in, aux,
                 params, out=None):
        w_iou, w_f = params
        io, u, f, tc, h_sum = saved
        d, n = w_f.size(0), xw.size(0)
        i, o = io[:, :d], io[:, d:]
        gh, gc = grad[:, :d], grad[:, d:]
        # Gradients of the gates' pre-activations [i, o, u | f], written
        # into the engine's buffer for the level:
        g_node = xw.new_empty(n, 4 * d) if out is None else out
        g_iou, g_io = g_node[:, :3 * d], g_node[:, :2 * d]
        fused = fused_cpu(xw)
        if fused is not None:
            gc_new = torch.empty_like(tc)
            fused.cell_backward(i, o, u, tc, gh, gc, g_node[:, :d],
                                g_node[:, d:2 * d], g_node[:, 2 * d:3 * d],
                                gc_new)
            gc = gc_new
        else:
            gc = gc + _tanh_backward(gh * o, tc)  # through h = o tanh(c)
            torch.mul(gc, u, out=g_node[:, :d])
            torch.mul(gh, tc, out=g_node[:, d:2 * d])
            _sigmoid_backward_out(g_io, io, grad_input=g_io)
            torch.mul(gc, i, out=g_node[:, 2 * d:3 * d])
            _tanh_backward_out(g_node[:, 2 * d:3 * d], u,
                               grad_input=g_node[:, 2 * d:3 * d])
        if f is None:  # leaves
            g_node[:, 3 * d:].zero_()
            return g_node, None, None, [None, None]
        gc_e = gc.index_select(0, dst_local)
        g_sum = (g_iou @ w_iou).index_select(0, dst_local)
        if aux:  # the mean: every child's share is weighted
            w = aux[0].unsqueeze(1)
            gc_e, g_sum = gc_e * w, g_sum * w
        g_src = src_state.new_empty(src_state.shape)
        if fused is not None:
            g_f = torch.empty_like(gc_e)
            fused.forget_backward(gc_e, src_state[:, d:], f, g_f,
                                  g_src[:, d:])
        else:
            g_f = _sigmoid_backward(gc_e * src_state[:, d:], f)
            torch.mul(gc_e, f, out=g_src[:, d:])
        torch.addmm(g_sum, g_f, w_f, out=g_src[:, :d])
        g_node[:, 3 * d:].zero_().index_add_(0, dst_local, g_f)
        return g_node, g_src, None, [(g_iou, h_sum),
                                     (g_f, src_state[:, :d])]

    # One-to-one runs (chains): node r of a level has exactly one child, node
    # r of the level before (for aggr='mean' its weight is 1), so the step is
    # a plain LSTM cell with the fused recurrent matrix U = [U_o; U_i; U_f;
    # U_u] (gates reordered so that one sigmoid covers o, i, f), run over
    # preallocated buffers without gathers or scatters. The forward also
    # folds every derivative the backward needs into two tensors, so that
    # the backward does five kernels per step.
    runs = True

    def run_forward(self, xw, state0, out, aux, params):
        w_iou, w_f = params
        d = w_f.size(0)
        k, w = xw.shape[:2]
        # [o, i, f, u]; xw and w_iou hold [i, o, u] (+ f):
        u_all = torch.cat([w_iou[d:2 * d], w_iou[:d], w_f, w_iou[2 * d:]])
        u_t = u_all.t().contiguous()  # (d, 4d): the faster layout for BLAS
        gates = torch.cat([xw[..., d:2 * d], xw[..., :d], xw[..., 3 * d:],
                           xw[..., 2 * d:3 * d]], dim=-1)
        tcs = xw.new_empty(k, w, d)
        g4 = gates.view(k, w, 4, d)
        fused = fused_cpu(xw)
        if fused is not None:  # the whole loop in C++, one pass per cell
            fused.run_forward(gates, u_t, state0[:, :d], state0[:, d:], out,
                              tcs)
        else:
            # Per-step views, made in C++ before the loop:
            steps = zip(gates.unbind(0), gates[..., :3 * d].unbind(0),
                        *(g4[:, :, j].unbind(0) for j in range(4)),
                        out[..., :d].unbind(0), out[..., d:].unbind(0),
                        tcs.unbind(0))
            h_prev, c_prev = state0[:, :d], state0[:, d:]
            for g, g_sig, o, i, f, u, h, c, tc in steps:
                g.addmm_(h_prev, u_t)
                g_sig.sigmoid_()
                _tanh(u, out=u)
                torch.mul(i, u, out=c)
                c.addcmul_(f, c_prev)
                _tanh(c, out=tc)
                torch.mul(o, tc, out=h)
                h_prev, c_prev = h, c
        # Derivatives for the backward, for all steps at once:
        # dL/dpre = [gh * F_o | gc * F_i | gc * F_f | gc * F_u],
        # gc += gh * a with a = o (1 - tanh(c)^2).
        o, i, f, u = g4.unbind(2)
        c_prev = torch.cat([state0[:, d:].unsqueeze(0), out[:-1, :, d:]])
        sig = gates[..., :3 * d]
        factor = torch.cat([tcs, u, c_prev], dim=-1) * sig * (1 - sig)
        factor = torch.cat([factor, i * (1 - u * u)], dim=-1)
        a = o * (1 - tcs * tcs)
        return factor, a, f, u_all

    def run_backward(self, saved, grad, xw, state0, out, aux, params):
        factor, a, f, u_all = saved
        d = u_all.size(1)
        k, w = factor.shape[:2]
        g_pre = torch.empty_like(factor)  # [o, i, f, u], pre-activation
        fused = fused_cpu(factor)
        if fused is not None:  # the whole reverse loop in C++
            gc = fused.run_backward(factor, a, f, grad, u_all, g_pre)
            g_state0 = torch.cat([g_pre[0] @ u_all, gc * f[0]], dim=1)
        else:
            g_state0 = self._run_backward_aten(factor, a, f, grad, u_all,
                                               g_pre)
        g_node = torch.cat([g_pre[..., d:2 * d], g_pre[..., :d],
                            g_pre[..., 3 * d:], g_pre[..., 2 * d:3 * d]],
                           dim=-1).view(k * w, -1)  # [i, o, u, f]
        h_prev = torch.cat([state0[:, :d].unsqueeze(0), out[:-1, :, :d]])
        h_prev = h_prev.view(k * w, d)
        return g_node, g_state0, [(g_node[:, :3 * d], h_prev),
                                  (g_node[:, 3 * d:], h_prev)]

    @staticmethod
    def _run_backward_aten(factor, a, f, grad, u_all, g_pre):
        # The reverse loop of a run in ATen calls (five per step); fills
        # g_pre and returns the gradient of the state before the run.
        d = u_all.size(1)
        k, w = factor.shape[:2]
        steps = list(zip(factor[..., :d].unbind(0),
                         factor[..., d:].view(k, w, 3, d).unbind(0),
                         a.unbind(0), f.unbind(0), grad[..., :d].unbind(0),
                         grad[..., d:].unbind(0), g_pre.unbind(0),
                         g_pre[..., :d].unbind(0),
                         g_pre[..., d:].view(k, w, 3, d).unbind(0)))
        gg_next = f_next = gc = None
        for (f_o, f_ifu, a_t, f_t, gh, gc_ext, gg, gg_o,
             gg_ifu) in reversed(steps):
            if gg_next is not None:
                gh = torch.addmm(gh, gg_next, u_all)
                gc_ext = torch.addcmul(gc_ext, gc, f_next)
            gc = torch.addcmul(gc_ext, gh, a_t)
            torch.mul(gh, f_o, out=gg_o)
            torch.mul(gc.unsqueeze(1), f_ifu, out=gg_ifu)
            gg_next, f_next = gg, f_t
        return torch.cat([gg_next @ u_all, gc * f_next], dim=1)


_child_sum_step = _ChildSumStep()


class _NAryStep(LevelStep):
    # One level of the N-ary Tree-LSTM, with its backward written out.
    # Children are placed in N slots per parent (missing slots stay zero),
    # then every gate reads all slots.
    def forward(self, xw, src_state, dst_local, edge_in, aux, params):
        w_iou, w_f = params
        (pos, ) = aux
        n, d = xw.size(0), w_iou.size(0) // 3
        num_children = w_f.size(0) // d
        slot = dst_local * num_children + pos
        slots = src_state.new_zeros(n * num_children, 2 * d)
        slots.index_copy_(0, slot, src_state)
        slots = slots.view(n, num_children, 2 * d)
        h_cat = slots[..., :d].reshape(n, num_children * d)
        c_cat = slots[..., d:]
        iou = torch.addmm(xw[:, :3 * d], h_cat, w_iou.t())
        f = torch.sigmoid(xw[:, 3 * d:].unsqueeze(1) +
                          (h_cat @ w_f.t()).view(n, num_children, d))
        io = torch.sigmoid(iou[:, :2 * d])
        u = _tanh(iou[:, 2 * d:])
        c = torch.addcmul((f * c_cat).sum(dim=1), io[:, :d], u)
        tc = _tanh(c)
        h = io[:, d:] * tc
        return torch.cat([h, c], dim=1), (io, u, f, tc, h_cat, c_cat, slot)

    def backward(self, saved, grad, xw, src_state, dst_local, edge_in, aux,
                 params):
        w_iou, w_f = params
        io, u, f, tc, h_cat, c_cat, slot = saved
        n, d = xw.size(0), w_iou.size(0) // 3
        num_children = w_f.size(0) // d
        i, o = io[:, :d], io[:, d:]
        gh, gc = grad[:, :d], grad[:, d:]
        gc = gc + _tanh_backward(gh * o, tc)  # through h = o tanh(c)
        g_io = _sigmoid_backward(torch.cat([gc * u, gh * tc], dim=1), io)
        g_iou = torch.cat([g_io, _tanh_backward(gc * i, u)], dim=1)
        gc = gc.unsqueeze(1)
        g_f = _sigmoid_backward(gc * c_cat, f).view(n, num_children * d)
        g_h = torch.addmm(g_iou @ w_iou, g_f, w_f)
        g_slots = torch.cat([g_h.view(n, num_children, d), gc * f], dim=2)
        g_src = g_slots.view(n * num_children, 2 * d).index_select(0, slot)
        g_xf = g_f.view(n, num_children, d).sum(dim=1)
        g_node = torch.cat([g_iou, g_xf], dim=1)
        return g_node, g_src, None, [(g_iou, h_cat), (g_f, h_cat)]


_nary_step = _NAryStep()


class _TreeLSTMBase(MessagePassing):
    # Glue shared by both Tree-LSTMs: parameters W (hoisted, all four gates
    # fused, with the bias) and U (recurrent, split into the i/o/u part and
    # the f part), reset, repr and the call into the engine.
    def __init__(self, in_channels: int, out_channels: int,
                 hidden_in: int, f_out: int, bias: bool = True,
                 aggrs: Tuple[str, ...] = ('add', ), **kwargs):
        who = self.__class__.__name__
        check_channels(who, in_channels=in_channels,
                       out_channels=out_channels)
        super().__init__(**message_passing_kwargs(who, kwargs, aggr=aggrs))
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.bias = bias
        self.lin = Linear(in_channels, 4 * out_channels, bias=bias)
        self.lin_iou = Linear(hidden_in, 3 * out_channels, bias=False)
        self.lin_f = Linear(hidden_in, f_out, bias=False)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        super().reset_parameters()
        self.lin.reset_parameters()
        self.lin_iou.reset_parameters()
        self.lin_f.reset_parameters()

    def _check_x(self, x: Tensor) -> None:
        check_node_features(self.__class__.__name__, x,
                            channels=input_channels(self.lin))

    def _dependencies(self, edge_index: Tensor) -> Tensor:
        # Child -> parent, whatever the flow of the input.
        return edge_index if self.flow == 'source_to_target' \
            else edge_index.flip(0)

    def _run(self, step, x: Tensor, sched: LevelSchedule,
             aux: Tuple[Tensor, ...] = ()) -> Tuple[Tensor, Tensor]:
        # The input projection of all gates, hoisted, computed in the
        # schedule's order (permuting x is cheaper than permuting W x):
        xw = self.lin(permute_rows(x, sched.perm, sched.rank))
        d = self.out_channels
        h, c = propagate_levels(step, sched, xw, 2 * d,
                                params=(self.lin_iou.weight,
                                        self.lin_f.weight), aux=aux,
                                in_level_order=True, split=(d, d))
        return h, c

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.in_channels}, '
                f'{self.out_channels}{self._extra_repr()})')

    def _extra_repr(self) -> str:
        extra = '' if self.aggr == 'add' else f', aggr={self.aggr!r}'
        return extra + ('' if self.bias else ', bias=False')


class ChildSumTreeLSTM(_TreeLSTMBase):
    r"""The Child-Sum Tree-LSTM from the `"Improved Semantic Representations
    From Tree-Structured Long Short-Term Memory Networks"
    <https://arxiv.org/abs/1503.00075>`_ paper (Tai et al., ACL 2015).

    .. math::
        \tilde{\mathbf{h}}_j &= \sum_{k \in \mathcal{C}(j)} \mathbf{h}_k

        \mathbf{i}_j &= \sigma(\mathbf{W}_i \mathbf{x}_j +
        \mathbf{U}_i \tilde{\mathbf{h}}_j + \mathbf{b}_i), \quad
        \mathbf{o}_j = \sigma(\mathbf{W}_o \mathbf{x}_j +
        \mathbf{U}_o \tilde{\mathbf{h}}_j + \mathbf{b}_o)

        \mathbf{u}_j &= \tanh(\mathbf{W}_u \mathbf{x}_j +
        \mathbf{U}_u \tilde{\mathbf{h}}_j + \mathbf{b}_u), \quad
        \mathbf{f}_{jk} = \sigma(\mathbf{W}_f \mathbf{x}_j +
        \mathbf{U}_f \mathbf{h}_k + \mathbf{b}_f)

        \mathbf{c}_j &= \mathbf{i}_j \odot \mathbf{u}_j +
        \sum_{k \in \mathcal{C}(j)} \mathbf{f}_{jk} \odot \mathbf{c}_k

        \mathbf{h}_j &= \mathbf{o}_j \odot \tanh(\mathbf{c}_j)

    where :math:`\mathcal{C}(j)` are the children of node :math:`j` (the
    sources of its incoming edges). Leaves see :math:`\tilde{\mathbf{h}} =
    \mathbf{0}`. The layer runs on any DAG (a node's "children" are then all
    nodes it depends on), one batched step per topological level of
    :mod:`tgr.schedule`, with exactly the node-by-node result. The input
    projection :math:`\mathbf{W}\mathbf{x} + \mathbf{b}` of all four gates is
    one matrix product over all nodes before the level loop.

    With :obj:`aggr="mean"` the children's hidden states and their
    forget-gated cells are averaged instead of summed,
    :math:`\tilde{\mathbf{h}}_j = \frac{1}{|\mathcal{C}(j)|} \sum_k
    \mathbf{h}_k` and :math:`\mathbf{c}_j = \mathbf{i}_j \odot \mathbf{u}_j
    + \frac{1}{|\mathcal{C}(j)|} \sum_k \mathbf{f}_{jk} \odot
    \mathbf{c}_k`, which keeps the cell of a node with many children (a wide
    syntax-tree node) from growing with their number.

    .. note::
        In a :class:`~torch_geometric.data.Batch`, precompute the levels with
        :class:`tgr.transforms.AddLevels` and pass :obj:`level=batch.level`,
        or pass a :class:`tgr.schedule.LevelSchedule` built once with
        :func:`tgr.schedule.build_schedule` to reuse it across layers and
        epochs.

    Args:
        in_channels (int): Size of each input sample, or :obj:`-1` to derive
            the size from the first input(s) to the forward method.
        out_channels (int): Size of the hidden and cell states.
        bias (bool, optional): If set to :obj:`False`, the layer will not
            learn the biases :math:`\mathbf{b}`. (default: :obj:`True`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`:
            :obj:`aggr` (:obj:`"add"`, the paper's sum, also spelt
            :obj:`"sum"`, or :obj:`"mean"`) and :obj:`flow`
            (:obj:`"target_to_source"` for parent-to-child edges); other
            values are refused.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F_{in})`,
          edge indices :math:`(2, |\mathcal{E}|)` (child to parent),
          levels :math:`(|\mathcal{V}|)` *(optional)*
        - **output:** hidden and cell states
          :math:`((|\mathcal{V}|, F_{out}), (|\mathcal{V}|, F_{out}))`
    """
    def __init__(self, in_channels: int, out_channels: int, bias: bool = True,
                 **kwargs):
        super().__init__(in_channels, out_channels, out_channels,
                         out_channels, bias=bias, aggrs=('add', 'mean'),
                         **kwargs)

    def forward(self, x: Tensor, edge_index: Tensor,
                level: Optional[Tensor] = None,
                schedule: Optional[LevelSchedule] = None,
                ) -> Tuple[Tensor, Tensor]:
        r"""Runs the recurrence bottom-up over the whole forest or DAG.

        Args:
            x (torch.Tensor): Node features.
            edge_index (torch.Tensor): Child-to-parent edges (parent-to-child
                with :obj:`flow="target_to_source"`).
            level (torch.Tensor, optional): Precomputed topological levels.
            schedule (LevelSchedule, optional): A precomputed schedule.

        Returns:
            :obj:`(h, c)`, the hidden and the cell state of every node.
        """
        self._check_x(x)
        sched, aux = self._structure(x, edge_index, level, schedule)
        return self._run(_child_sum_step, x, sched, aux)

    @torch.compiler.disable
    def _structure(self, x: Tensor, edge_index: Tensor,
                   level: Optional[Tensor],
                   schedule: Optional[LevelSchedule]):
        # The schedule and, for aggr='mean', the weight 1 / |C(j)| of every
        # edge into j: data-dependent work, run eagerly under torch.compile.
        sched = layer_schedule(self.__class__.__name__, x, edge_index,
                               self.flow, level, schedule)
        if self.aggr != 'mean':
            return sched, ()
        parent = self._dependencies(edge_index)[1].long()
        deg = torch.bincount(parent, minlength=x.size(0))
        weight = deg.to(self.lin_iou.weight.dtype).reciprocal()
        return sched, (weight.index_select(0, parent), )


class NAryTreeLSTM(_TreeLSTMBase):
    r"""The N-ary Tree-LSTM from the `"Improved Semantic Representations
    From Tree-Structured Long Short-Term Memory Networks"
    <https://arxiv.org/abs/1503.00075>`_ paper (Tai et al., ACL 2015,
    eq. 9-14), for trees in which every child has a position
    :math:`l \in \{1, \dots, N\}` under its parent.

    .. math::
        \mathbf{i}_j &= \sigma\Big(\mathbf{W}_i \mathbf{x}_j +
        \sum_{l=1}^{N} \mathbf{U}_{i,l} \mathbf{h}_{jl} + \mathbf{b}_i\Big)
        \quad \text{(likewise } \mathbf{o}_j, \text{ and }
        \mathbf{u}_j \text{ with } \tanh)

        \mathbf{f}_{jk} &= \sigma\Big(\mathbf{W}_f \mathbf{x}_j +
        \sum_{l=1}^{N} \mathbf{U}_{f,kl} \mathbf{h}_{jl} + \mathbf{b}_f\Big)

        \mathbf{c}_j &= \mathbf{i}_j \odot \mathbf{u}_j +
        \sum_{l=1}^{N} \mathbf{f}_{jl} \odot \mathbf{c}_{jl}, \qquad
        \mathbf{h}_j = \mathbf{o}_j \odot \tanh(\mathbf{c}_j)

    where :math:`\mathbf{h}_{jl}, \mathbf{c}_{jl}` are the states of the
    :math:`l`-th child of :math:`j`; a missing position contributes zeros.
    Positions come from :obj:`child_pos` (0-based) or, when it is not
    given, from the order in which a parent's edges appear in
    :obj:`edge_index`. Runs one batched step per tree level.

    .. note::
        Store positions in a :class:`~torch_geometric.data.Data` as
        :obj:`child_pos` (as :class:`tgr.datasets.SST` does): an edge-level
        attribute that :class:`~torch_geometric.data.Batch` concatenates
        without shifting (it shifts every attribute whose name contains
        ``"index"``).

    Args:
        in_channels (int): Size of each input sample, or :obj:`-1` to derive
            the size from the first input(s) to the forward method.
        out_channels (int): Size of the hidden and cell states.
        num_children (int, optional): :math:`N`, the number of child
            positions. (default: :obj:`2`)
        bias (bool, optional): If set to :obj:`False`, the layer will not
            learn the biases :math:`\mathbf{b}`. (default: :obj:`True`)
        **kwargs (optional): Additional arguments of
            :class:`torch_geometric.nn.conv.MessagePassing`: :obj:`flow`
            (:obj:`"target_to_source"` for parent-to-child edges); the
            children's slots are summed, so :obj:`aggr` stays
            :obj:`"add"`, and other values are refused.

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, F_{in})`,
          edge indices :math:`(2, |\mathcal{E}|)` (child to parent),
          child positions :math:`(|\mathcal{E}|)` *(optional)*,
          levels :math:`(|\mathcal{V}|)` *(optional)*
        - **output:** hidden and cell states
          :math:`((|\mathcal{V}|, F_{out}), (|\mathcal{V}|, F_{out}))`
    """
    def __init__(self, in_channels: int, out_channels: int,
                 num_children: int = 2, bias: bool = True, **kwargs):
        if not isinstance(num_children, int) or num_children < 1:
            raise ValueError(f"'{self.__class__.__name__}' expects "
                             f"'num_children' to be a positive integer "
                             f"(got {num_children})")
        self.num_children = num_children
        super().__init__(in_channels, out_channels,
                         num_children * out_channels,
                         num_children * out_channels, bias=bias, **kwargs)

    def forward(self, x: Tensor, edge_index: Tensor,
                child_pos: Optional[Tensor] = None,
                level: Optional[Tensor] = None,
                schedule: Optional[LevelSchedule] = None, **kwargs,
                ) -> Tuple[Tensor, Tensor]:
        r"""Runs the recurrence bottom-up over the whole forest.

        Args:
            x (torch.Tensor): Node features.
            edge_index (torch.Tensor): Child-to-parent edges (parent-to-child
                with :obj:`flow="target_to_source"`).
            child_pos (torch.Tensor, optional): The 0-based position of
                every edge's child under its parent, in :math:`[0, N)`
                (called :obj:`child_index` before version 0.2).
            level (torch.Tensor, optional): Precomputed topological levels.
            schedule (LevelSchedule, optional): A precomputed schedule.

        Returns:
            :obj:`(h, c)`, the hidden and the cell state of every node.
        """
        who = self.__class__.__name__
        reject_renamed(who, kwargs, {'child_index': 'child_pos'})
        self._check_x(x)
        sched, child_pos = self._structure(x, edge_index, child_pos, level,
                                           schedule)
        return self._run(_nary_step, x, sched, aux=(child_pos, ))

    @torch.compiler.disable
    def _structure(self, x: Tensor, edge_index: Tensor,
                   child_pos: Optional[Tensor], level: Optional[Tensor],
                   schedule: Optional[LevelSchedule]):
        # The schedule and the checked child positions: data-dependent work,
        # run eagerly under torch.compile.
        who = self.__class__.__name__
        sched = layer_schedule(who, x, edge_index, self.flow, level, schedule)
        dep = self._dependencies(edge_index)
        num_nodes, num_edges = x.size(0), edge_index.size(1)
        check_single_parent(dep, num_nodes, who, parent_row=1)
        parent = dep[1].long()
        if child_pos is None:
            child_pos = _appearance_order(parent, num_nodes)
        child_pos = self._check_child_pos(child_pos, num_edges)
        if num_edges > 0:
            slot = parent * self.num_children + child_pos
            count = torch.bincount(slot,
                                   minlength=num_nodes * self.num_children)
            if bool((count > 1).any()):
                s = int((count > 1).nonzero()[0, 0])
                raise ValueError(
                    f"'{who}' found {int(count[s])} children at position "
                    f"{s % self.num_children} of node "
                    f"{s // self.num_children} (each position holds at most "
                    f"one child)")
        return sched, child_pos

    def _check_child_pos(self, child_pos: Tensor, num_edges: int) -> Tensor:
        # Without 'child_pos', positions follow edge order, and a value
        # >= N means some node has more than N children.
        return check_labels(self.__class__.__name__, 'child_pos',
                            child_pos, num_edges, self.num_children,
                            per='edge',
                            meaning=f' for num_children={self.num_children}')

    def _extra_repr(self) -> str:
        return f', num_children={self.num_children}' + super()._extra_repr()


def _appearance_order(parent: Tensor, num_nodes: int) -> Tensor:
    # The position of each edge among the edges of its parent, in edge order.
    if parent.numel() == 0:
        return parent.clone()
    sorted_parent, order = torch.sort(parent, stable=True)
    count = torch.bincount(parent, minlength=num_nodes)
    start = torch.cumsum(count, 0) - count
    pos = torch.empty_like(parent)
    pos[order] = torch.arange(parent.numel(), device=parent.device) - \
        start[sorted_parent]
    return pos
