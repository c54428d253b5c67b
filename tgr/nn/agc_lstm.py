from typing import Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.nn import Linear
from torch_geometric.nn.dense.linear import is_uninitialized_parameter

from ..schedule.engine import autocast_enabled, without_autocast
from ..utils.memory import empty
from ._checks import check_node_features
from ._functional import sigmoid_backward as _sigmoid_backward
from ._functional import tanh_backward as _tanh_backward
from ._functional import tanh as _tanh
from ._fused import fused_cpu
from .agc_lstm_cell import AGCLSTMCell
from .spatial_graph_conv import SubsetGraph

__all__ = ['AGCLSTMCell', 'AGCLSTM']


def _t_mm(a: Tensor, b: Tensor) -> Tensor:
    # a^T b for long a, b (rows = steps x nodes), with the narrower operand
    # transposed on the left: BLAS is several times slower on CPU the other
    # way round when the widths differ a lot.
    return a.t() @ b if a.size(1) <= b.size(1) else (b.t() @ a).t()


class _AGCLSTMRecurrence(torch.autograd.Function):
    r"""The time loop of :class:`AGCLSTM` from the hoisted input side
    :obj:`xg` (:math:`(T, N, 4d)`), without autograd inside the loop.

    Forward writes every step into preallocated :math:`(T, \dots)` buffers;
    backward runs the steps in reverse with the derivatives written out, and
    defers every weight gradient to one matrix product over all steps at the
    end (as :class:`tgr.schedule.LevelStep` does for the tree engine).
    Returns :obj:`(out, alpha, c_T)` with :obj:`out` :math:`(N, T, d)` and
    :obj:`alpha` :math:`(N, T)`.
    """
    @staticmethod
    @without_autocast
    def forward(ctx, record, graph, batch, num_graphs, xg, h0, c0, w_h,
                w_query, w_att, b_att, w_q, w_score, b_score):
        T, n, d4 = xg.shape
        d, B = d4 // 4, num_graphs
        xg, h0, c0 = xg.detach(), _detach(h0), _detach(c0)
        if c0 is not None:  # the fused kernels read rows of unit stride
            c0 = c0.contiguous()
        params = [p.detach() for p in (w_h, w_query, w_att, b_att, w_q,
                                       w_score, b_score)]
        w_h, w_query, w_att, b_att, w_q, w_score, b_score = params
        w_h_t, w_query_t, w_q_t, w_att_t = (w_h.t(), w_query.t(), w_q.t(),
                                            w_att.t())
        w_score_v, num_att = w_score.view(-1), w_att.size(0)
        def new(*shape):  # large buffers on huge pages (fewer page faults)
            return empty(shape, xg)

        out, alpha = new(n, T, d), new(n, T)  # node-major, as returned
        # What backward needs, one slice per step (a single step's worth
        # when nothing is recorded): the activated gates [i, f, o | u],
        # c, tanh(c), the gathered h, and the attention's intermediates.
        S = T if record else 1
        act, c, tc = new(S, n, 4 * d), new(T, n, d), new(S, n, d)
        a, h_hat, z = new(S, n, 3 * d), new(S, n, d), new(S, n, num_att)
        tot, r = new(S, B, d), new(S, B, d)
        # Per-step views, made once (slicing inside the loop costs more).
        xg_s, c_s = xg.unbind(0), c.unbind(0)
        out_s, alpha_s = out.unbind(1), alpha.unbind(1)
        steps = list(zip(*(buf.unbind(0) for buf in (act, tc, a, h_hat, z,
                                                      tot, r))))
        fused = fused_cpu(xg)
        h_prev, c_prev = h0, c0
        for t in range(T):
            act_t, tc_t, a_t, hh, z_t, tot_t, r_t = steps[t if record else 0]
            if h_prev is None:
                act_t.copy_(xg_s[t])
                a_t.zero_()
            else:
                graph.gather(h_prev, out=a_t)
                torch.addmm(xg_s[t], a_t, w_h_t, out=act_t)
            i, f, o, u_t = act_t.chunk(4, dim=1)
            c_t = c_s[t]
            if fused is not None:  # the cell in one pass, gates in place
                if c_prev is None:
                    f.sigmoid_()
                fused.cell_forward(i, o, u_t, None if c_prev is None else f,
                                   c_prev, None, hh, c_t, tc_t)
            else:
                act_t[:, :3 * d].sigmoid_()
                _tanh(u_t, out=u_t)
                torch.mul(i, u_t, out=c_t)
                if c_prev is not None:
                    c_t.addcmul_(f, c_prev)
                torch.mul(o, _tanh(c_t, out=tc_t), out=hh)
            tot_t.zero_().index_add_(0, batch, hh)
            torch.mm(tot_t, w_query_t, out=r_t).relu_()
            qq = torch.mm(r_t, w_q_t).index_select(0, batch)
            _tanh(torch.addmm(b_att, hh, w_att_t, out=z_t).add_(qq), out=z_t)
            al = torch.addmv(b_score, z_t, w_score_v).sigmoid_()
            alpha_s[t].copy_(al)
            h_prev = torch.mul(hh, al.add_(1).unsqueeze(1), out=out_s[t])
            c_prev = c_t
        if record:
            ctx.graph, ctx.batch = graph, batch
            ctx.has_h0, ctx.has_c0 = h0 is not None, c0 is not None
            ctx.save_for_backward(c0, act, c, tc, a, h_hat, z, tot, r,
                                  alpha, *params)
        return out, alpha, c[T - 1].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    @without_autocast
    def backward(ctx, grad_out, grad_alpha, grad_c_last):
        (c0, act, c, tc, a, h_hat, z, tot, r, alpha, w_h, w_query, w_att,
         b_att, w_q, w_score, b_score) = ctx.saved_tensors
        graph, batch = ctx.graph, ctx.batch
        T, n, d = c.shape
        B, num_att = tot.size(1), w_att.size(0)
        c_s = c.unbind(0)
        w_score_r = w_score.view(1, -1)
        def new(*shape):
            return empty(shape, c)

        g_xg = new(T, n, 4 * d)
        g_pa, g_zp = new(T, n), new(T, n, num_att)
        g_qq, g_rp = new(T, B, num_att), new(T, B, d)
        gh = grad_out[:, T - 1].clone() if grad_out is not None else \
            c.new_zeros(n, d)
        gc = grad_c_last.clone() if grad_c_last is not None else \
            c.new_zeros(n, d)
        g_xg_s, g_pa_s, g_zp_s = g_xg.unbind(0), g_pa.unbind(0), \
            g_zp.unbind(0)
        g_qq_s, g_rp_s = g_qq.unbind(0), g_rp.unbind(0)
        steps = list(zip(act.unbind(0), c.unbind(0), tc.unbind(0),
                         h_hat.unbind(0), z.unbind(0), r.unbind(0),
                         alpha.unbind(1)))
        fused = fused_cpu(c)
        grad_out_s = grad_out.unbind(1) if grad_out is not None else None
        grad_alpha_s = grad_alpha.unbind(1) if grad_alpha is not None \
            else None
        for t in range(T - 1, -1, -1):
            act_t, c_t, tc_t, hh, z_t, r_t, al = steps[t]
            if t < T - 1 and grad_out_s is not None:
                gh.add_(grad_out_s[t])
            # h = (1 + alpha) h_hat, alpha = sigmoid(U_s z + b_u):
            g_al = (gh * hh).sum(dim=1)
            if grad_alpha_s is not None:
                g_al.add_(grad_alpha_s[t])
            g_pa_t = g_pa_s[t]
            g_pa_t.copy_(_sigmoid_backward(g_al, al))
            g_hh = gh.mul_((al + 1).unsqueeze(1))
            # z = tanh(W_h h_hat + b_s + W_q q[batch]):
            g_zp_t = g_zp_s[t]
            g_zp_t.copy_(_tanh_backward(g_pa_t.unsqueeze(1) * w_score_r, z_t))
            g_hh.addmm_(g_zp_t, w_att)
            g_qq_t = g_qq_s[t].zero_().index_add_(0, batch, g_zp_t)
            # q = W_q relu(W sum_i h_hat_i):
            g_rp_t = torch.mul(g_qq_t @ w_q, r_t > 0, out=g_rp_s[t])
            g_hh.add_((g_rp_t @ w_query).index_select(0, batch))
            # The LSTM cell, h_hat = o tanh(c):
            i, f, o, u_t = act_t.chunk(4, dim=1)
            c_prev = c_s[t - 1] if t > 0 else c0
            g = g_xg_s[t]
            if fused is not None:  # one pass for the cell, one for f
                gc_new = torch.empty_like(gc)
                fused.cell_backward(i, o, u_t, tc_t, g_hh, gc, g[:, :d],
                                    g[:, 2 * d:3 * d], g[:, 3 * d:], gc_new)
                if c_prev is not None:
                    fused.forget_backward(gc_new, c_prev, f, g[:, d:2 * d],
                                          gc)  # gc = gc_new f
                else:
                    g[:, d:2 * d].zero_()
                    gc = gc_new.mul_(f)
            else:
                gc.add_(_tanh_backward(g_hh * o, tc_t))
                torch.mul(gc, u_t, out=g[:, :d])
                if c_prev is not None:
                    torch.mul(gc, c_prev, out=g[:, d:2 * d])
                else:
                    g[:, d:2 * d].zero_()
                torch.mul(g_hh, tc_t, out=g[:, 2 * d:3 * d])
                g[:, :3 * d] = _sigmoid_backward(g[:, :3 * d],
                                                 act_t[:, :3 * d])
                g[:, 3 * d:] = _tanh_backward(gc * i, u_t)
                if t > 0 or ctx.has_c0:
                    gc = gc.mul_(f)
            if t > 0 or ctx.has_h0:
                gh = graph.scatter(g @ w_h)
        g_x = g_xg.view(T * n, 4 * d)
        grads = [
            _t_mm(g_x, a.view(T * n, 3 * d)),                     # w_h
            _t_mm(g_rp.view(-1, d), tot.view(-1, d)),             # w_query
            _t_mm(g_zp.view(-1, num_att), h_hat.view(-1, d)),     # w_att
            g_zp.view(-1, num_att).sum(dim=0),                    # b_att
            _t_mm(g_qq.view(-1, num_att), r.view(-1, d)),         # w_q
            g_pa.view(1, -1) @ z.view(-1, num_att),               # w_score
            g_pa.sum().view(1),                                   # b_score
        ]
        g_h0 = gh if ctx.has_h0 else None
        g_c0 = gc if ctx.has_c0 else None
        return (None, None, None, None, g_xg, g_h0, g_c0, *grads)


def _linear(lin: Linear, x: Tensor) -> Tensor:
    # lin(x) for a long x (T N rows) as x W^T + b, with W^T made contiguous
    # so that autograd forms the weight gradient as x^T g (then transposed):
    # for a narrow x that is several times faster on CPU than the g^T x that
    # F.linear's backward runs.
    if is_uninitialized_parameter(lin.weight):
        return lin(x)  # lazy initialisation on the first call
    flat = x.reshape(-1, x.size(-1))
    w = lin.weight.t().contiguous()
    out = flat @ w if lin.bias is None else torch.addmm(lin.bias, flat, w)
    return out.view(x.shape[:-1] + (lin.weight.size(0), ))


def _detach(t: Optional[Tensor]) -> Optional[Tensor]:
    return None if t is None else t.detach()


class AGCLSTM(torch.nn.Module):
    r"""The attention enhanced graph convolutional LSTM from the `"An
    Attention Enhanced Graph Convolutional LSTM Network for Skeleton-Based
    Action Recognition" <https://arxiv.org/abs/1902.09130>`_ paper (Si et
    al., CVPR 2019), run over a whole skeleton sequence: the recurrence of
    :class:`AGCLSTMCell` (held in :obj:`cell`) for :math:`t = 1, \dots, T`,

    .. math::
        (\mathbf{H}_t, \mathbf{C}_t, \alpha_t) =
        \mathrm{AGCLSTMCell}(\mathbf{X}_t, \mathbf{H}_{t-1},
        \mathbf{C}_{t-1}).

    The input side :math:`\mathbf{W}_x *\mathcal{G} \mathbf{X}_t +
    \mathbf{b}` of all four gates does not depend on the recurrence: it is
    computed for all :math:`T` frames before the time loop, one neighbourhood
    aggregation over :math:`(|\mathcal{V}|, T, F_{in})` and one matrix
    product. Inside the loop only the hidden side
    :math:`\mathbf{W}_h *\mathcal{G} \mathbf{H}_{t-1}` (one aggregation,
    one fused :math:`4 F_{out}`-wide product) and the attention run, without
    autograd: the loop has a hand-written backward that defers every weight
    gradient to one matrix product over all steps. Outputs and gradients
    equal those of a loop over :obj:`cell`.

    Args:
        in_channels (int): Size of each input sample, or :obj:`-1` to derive
            the size from the first input(s) to the forward method.
        out_channels (int): Size of the hidden and cell states.
        att_channels (int, optional): Size of the attention's hidden layer.
            (default: :obj:`out_channels`)
        bias (bool, optional): If set to :obj:`False`, the gates will not
            learn the biases. (default: :obj:`True`)
        init_gain (float, optional): The gain of the gate weights'
            initialisation (see :class:`AGCLSTMCell`), or :obj:`None` for
            PyTorch's default. (default: :obj:`2.0`)

    Shapes:
        - **input:** joint features :math:`(|\mathcal{V}|, T, F_{in})`,
          edge indices :math:`(2, |\mathcal{E}|)`, subset labels
          :math:`(|\mathcal{E}|,)`, batch vector :math:`(|\mathcal{V}|)`
          *(optional)*, initial state :math:`((|\mathcal{V}|, F_{out}),
          (|\mathcal{V}|, F_{out}))` *(optional)*
        - **output:** hidden states :math:`(|\mathcal{V}|, T, F_{out})`,
          attention :math:`(|\mathcal{V}|, T)`, final state
          :math:`((|\mathcal{V}|, F_{out}), (|\mathcal{V}|, F_{out}))`
    """
    def __init__(self, in_channels: int, out_channels: int,
                 att_channels: Optional[int] = None, bias: bool = True,
                 init_gain: Optional[float] = 2.0):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.cell = AGCLSTMCell(in_channels, out_channels, att_channels,
                                bias=bias, init_gain=init_gain)

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        self.cell.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, partition: Tensor,
                batch: Optional[Tensor] = None,
                state: Optional[Tuple[Tensor, Tensor]] = None,
                ) -> Tuple[Tensor, Tensor, Tuple[Tensor, Tensor]]:
        r"""Runs the recurrence over all frames.

        Args:
            x (torch.Tensor): Joint features :math:`(|\mathcal{V}|, T,
                F_{in})` (every sample of a batch has the same :math:`T`).
            edge_index (torch.Tensor): The bones, both directions.
            partition (torch.Tensor): The subset label of every edge
                (:func:`skeleton_partition`).
            batch (torch.Tensor, optional): The sample of every joint
                (default: all joints form one sample).
            state ((torch.Tensor, torch.Tensor), optional): The initial
                :math:`(\mathbf{H}_0, \mathbf{C}_0)` (default: zeros).

        Returns:
            :obj:`(out, alpha, (h, c))`: the hidden states :math:`\mathbf{H}_t`
            of all frames, the attention :math:`\alpha_t` of all frames, and
            the final state.
        """
        cell = self.cell
        who = self.__class__.__name__
        check_node_features(who, x, '(num_nodes, num_frames, in_channels)',
                            dims=(3, ), channels=cell._in_channels())
        n, T = x.size(0), x.size(1)
        graph, num_graphs, state = cell._structure(who, x, edge_index,
                                                   partition, batch, state)
        d = self.out_channels
        if T == 0:
            if state is None:
                zero = x.new_zeros(n, d)
                state = (zero, zero)
            return x.new_zeros(n, 0, d), x.new_zeros(n, 0), state

        # Hoisted: the input side of all gates for all frames, time-major.
        a = cell.conv_x.aggregate_subsets(x, graph)  # (N, 3, T, C)
        a = a.permute(2, 0, 1, 3).reshape(T, n, 3 * x.size(2))
        cell._materialize(a)
        xg = _linear(cell.conv_x.lin, a)  # (T, N, 4 d)

        return self.recurrence(xg, graph, batch, num_graphs, state)

    @torch.compiler.disable
    def recurrence(self, xg: Tensor, graph: SubsetGraph,
                   batch: Optional[Tensor], num_graphs: int,
                   state: Optional[Tuple[Tensor, Tensor]] = None,
                   ) -> Tuple[Tensor, Tensor, Tuple[Tensor, Tensor]]:
        r"""The time loop alone, from the hoisted input side
        :obj:`xg` :math:`= \mathbf{W}_x *\mathcal{G} \mathbf{X}_t +
        \mathbf{b}` of all frames (time-major, :math:`(T, |\mathcal{V}|,
        4 F_{out})`), on a :class:`~tgr.nn.spatial_graph_conv.SubsetGraph`
        from :meth:`SpatialGraphConv.subset_graph`, with :obj:`num_graphs`
        samples in :obj:`batch`. Does no checks and no host-device
        synchronisation; :meth:`forward` checks the inputs and calls it.
        Under :func:`torch.compile` it is an opaque boundary (the loop runs
        eagerly, with its hand-written backward).

        Returns:
            :obj:`(out, alpha, (h, c))` as :meth:`forward`.
        """
        cell = self.cell
        n = xg.size(1)
        h0, c0 = state if state is not None else (None, None)
        att = cell.att
        params = (cell.conv_h.lin.weight, att.lin_query.weight,
                  att.lin_h.weight, att.lin_h.bias, att.lin_q.weight,
                  att.lin_score.weight, att.lin_score.bias)
        if autocast_enabled(xg.device):
            # The time loop runs in the weights' dtype (see no_autocast).
            dtype = params[0].dtype
            xg, h0, c0 = (None if t is None else t.to(dtype)
                          for t in (xg, h0, c0))
        record = torch.is_grad_enabled() and any(
            t is not None and t.requires_grad for t in (xg, h0, c0) + params)
        out, alpha, c = _AGCLSTMRecurrence.apply(
            record, graph, batch if batch is not None else
            xg.new_zeros(n, dtype=torch.long), num_graphs, xg, h0, c0,
            *params)
        return out, alpha, (out[:, -1], c)

    def __repr__(self) -> str:
        return repr(self.cell).replace('AGCLSTMCell', 'AGCLSTM', 1)
