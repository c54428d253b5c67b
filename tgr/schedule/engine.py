r"""The level-wise engine: runs a per-level step over a
:class:`~tgr.schedule.LevelSchedule` inside one
:class:`torch.autograd.Function` that owns a single state buffer, so the
forward and the backward pass cost time proportional to each level's size
(a chain of :math:`T` nodes costs :math:`O(T)`), with no host-device
synchronisation inside the level loop. Computing a whole level in one batched
step gives exactly the result of the one-node-at-a-time definition, because
two nodes on one level never depend on each other."""
import functools
from typing import Callable, List, Optional, Sequence

import torch
from torch import Tensor

from ..utils.memory import empty
from .level_schedule import LevelSchedule

__all__ = ['LevelStep', 'propagate_levels', 'autocast_enabled',
           'no_autocast', 'without_autocast']


# Mixed precision #############################################################
def autocast_enabled(device: torch.device) -> bool:
    r"""Whether autocast is on for tensors on :obj:`device`."""
    try:
        return torch.is_autocast_enabled(device.type)
    except TypeError:  # torch < 2.4
        if device.type == 'cpu':
            return torch.is_autocast_cpu_enabled()
        return device.type == 'cuda' and torch.is_autocast_enabled()


def no_autocast(device: torch.device):
    r"""A context that turns autocast off for tensors on :obj:`device`, so
    that a recurrence runs in the dtype of its parameters: its per-step
    products are small, and a cell state summed over many steps in 16 bits
    would drift."""
    return torch.autocast(device_type=device.type, enabled=False)


def without_autocast(fn: Callable) -> Callable:
    r"""Decorates the :obj:`forward` or :obj:`backward` of a
    :class:`torch.autograd.Function` so that it runs with autocast off for
    the device of its first tensor argument (a backward called inside an
    autocast region would otherwise run its products in 16 bits against
    32-bit buffers)."""
    @functools.wraps(fn)
    def wrapper(ctx, *args):
        device = next((a.device for a in args if isinstance(a, Tensor)),
                      None)
        if device is None:
            return fn(ctx, *args)
        with no_autocast(device):
            return fn(ctx, *args)
    return wrapper


# Propagation #################################################################
Step = Callable[..., Tensor]


class LevelStep:
    r"""Base class for a per-level step with a hand-written backward pass.

    A plain function given to :func:`propagate_levels` is differentiated by
    autograd, one small graph per level. A :class:`LevelStep` skips autograd
    inside the level loop, which removes most of the per-level overhead on
    long chains: :meth:`forward` returns the level's states and whatever its
    :meth:`backward` needs, and :meth:`backward` returns the gradients.

    The gradient of a parameter may be returned as a pair :obj:`(A, B)`,
    meaning :math:`\mathbf{A}^{\top} \mathbf{B}`: the engine multiplies a
    pair of many rows at once and concatenates the small ones (a chain's
    single rows) into one matrix product at the end, instead of one small
    product per level.

    A step that sets :attr:`runs` to :obj:`True` also implements
    :meth:`run_forward` and :meth:`run_backward`, which the engine calls for
    every run of one-to-one levels (:meth:`LevelSchedule.runs`: chains,
    unary runs): :math:`k` levels of width :math:`w` whose node :math:`r`
    depends on node :math:`r` of the level before, i.e. :math:`w`
    independent sequences. There the step needs no gathers and no scatters,
    and can write into preallocated buffers.
    """
    #: Whether :meth:`run_forward` / :meth:`run_backward` exist.
    runs: bool = False
    #: Whether :meth:`forward` and :meth:`backward` take :obj:`out`, the
    #: level's slice of the engine's state buffer (of the node inputs'
    #: gradient buffer), and write their result there (saving a copy).
    writes_out: bool = False

    def forward(self, node_in: Tensor, src_state: Tensor, dst_local: Tensor,
                edge_in: Optional[Tensor], aux: tuple, params: list):
        r"""Returns :obj:`(state, saved)` for one level."""
        raise NotImplementedError

    def backward(self, saved, grad_state: Tensor, node_in: Tensor,
                 src_state: Tensor, dst_local: Tensor,
                 edge_in: Optional[Tensor], aux: tuple, params: list):
        r"""Returns :obj:`(grad_node_in, grad_src_state, grad_edge_in,
        grad_params)` for one level; any of them may be :obj:`None`."""
        raise NotImplementedError

    def run_forward(self, node_in: Tensor, state0: Tensor, out: Tensor,
                    aux: tuple, params: list):
        r"""Runs :math:`k` one-to-one levels at once: :obj:`node_in` is
        :math:`(k, w, *)`, :obj:`state0` the :math:`(w, S)` states of the
        level before the run, :obj:`aux` the per-edge tensors viewed as
        :math:`(k, w)`; writes the states into :obj:`out`
        (:math:`(k, w, S)`, a view of the engine's buffer) and returns what
        :meth:`run_backward` needs."""
        raise NotImplementedError

    def run_backward(self, saved, grad: Tensor, node_in: Tensor,
                     state0: Tensor, out: Tensor, aux: tuple, params: list):
        r"""Returns :obj:`(grad_node_in, grad_state0, grad_params)` of a run,
        given :obj:`grad` (:math:`(k, w, S)`), the gradient of the run's
        states from everything outside the run."""
        raise NotImplementedError

    def __call__(self, node_in, src_state, dst_local, edge_in, aux, params):
        return self.forward(node_in, src_state, dst_local, edge_in, aux,
                            params)[0]


class _LevelRecurrence(torch.autograd.Function):
    r"""Runs :obj:`step` level by level over one state buffer.

    Forward: for each level, the sources' states are gathered from the buffer
    (:math:`O(|E_l|)`), the step computes the level's new states and they are
    written into the level's slice (:math:`O(|V_l|)`). When gradients are
    needed, a plain step is recorded on detached leaves, one independent
    small graph per level; a :class:`LevelStep` keeps what its backward needs,
    and the engine keeps the gathered source states for it. The states leave
    in node order (split into parts with :obj:`bounds`), so that the
    backward's gradient buffer is a fresh gather the engine owns.

    Backward: levels in reverse order; the gradient of level :math:`l`'s
    states is complete once every later level is done (all its consumers lie
    there). The gradients of the gathered source states are added into the
    gradient buffer at the sources' positions (:math:`O(|E_l|)`).
    """
    @staticmethod
    @without_autocast
    def forward(ctx, step, sched, state_size, bounds, aux, node_in, edge_in,
                *params):
        record = any(ctx.needs_input_grad)
        manual = isinstance(step, LevelStep)
        num_nodes = node_in.size(0)
        states = empty((num_nodes, state_size), node_in)
        if record and not manual:
            leaves = [p.detach().requires_grad_() for p in params]
        else:
            leaves = [p.detach() for p in params]
        node_ptr, edge_ptr = sched.node_ptr, sched.edge_ptr
        level_edges = sched.level_edges()
        node_in_d = node_in.detach()
        runs = dict(sched.runs()) if manual and step.runs else {}
        segments = []  # ('level', lvl, saved) or ('run', first, last, saved)
        lvl = 0
        while lvl < sched.num_levels:
            a, b = node_ptr[lvl], node_ptr[lvl + 1]
            ea, eb = edge_ptr[lvl], edge_ptr[lvl + 1]
            if lvl in runs:
                last = runs[lvl]
                ni, s0, out, aux_r = _run_views(sched, lvl, last, node_in_d,
                                                states, aux)
                saved = step.run_forward(ni, s0, out, aux_r, leaves)
                segments.append(('run', lvl, last, saved if record else None))
                lvl = last + 1
                continue
            cur, lvl = lvl, lvl + 1
            if a == b:
                continue
            src_l, dst_l = level_edges[cur]
            src_state = states.index_select(0, src_l)
            ni = node_in_d[a:b]
            ei = edge_in[ea:eb].detach() if edge_in is not None else None
            aux_l = tuple(t[ea:eb] for t in aux) if aux else ()
            if manual:
                # The gathered source states are kept for the backward, which
                # would otherwise gather them again:
                if step.writes_out:
                    out, saved = step.forward(ni, src_state, dst_l, ei, aux_l,
                                              leaves, out=states[a:b])
                else:
                    out, saved = step.forward(ni, src_state, dst_l, ei, aux_l,
                                              leaves)
                segments.append(('level', cur, (saved, src_state)
                                 if record else None))
                if step.writes_out:
                    continue
            elif record:
                src_state.requires_grad_()
                ni = ni.detach().requires_grad_()
                if ei is not None:
                    ei.requires_grad_()
                with torch.enable_grad():
                    out = step(ni, src_state, dst_l, ei, aux_l, leaves)
                segments.append(('level', cur, (out, ni, src_state, ei)))
            else:
                out = step(ni, src_state, dst_l, ei, aux_l, leaves)
            states[a:b] = out
        if record:
            ctx.segments = segments
            ctx.leaves = leaves
            ctx.sched = sched
            ctx.step = step
            ctx.aux = aux
            ctx.save_for_backward(node_in, edge_in, states)
        # Back to node order, split into separate tensors (whose gradients
        # arrive separately: no zero-filled gradient of a column slice):
        if bounds is None:
            return states.index_select(0, sched.rank)
        return tuple(states[:, a:b].index_select(0, sched.rank)
                     for a, b in zip(bounds[:-1], bounds[1:]))

    @staticmethod
    @torch.autograd.function.once_differentiable
    @without_autocast
    def backward(ctx, *grad_outputs):
        sched, leaves, step = ctx.sched, ctx.leaves, ctx.step
        node_in, edge_in, states = ctx.saved_tensors
        manual = isinstance(step, LevelStep)
        node_ptr, edge_ptr = sched.node_ptr, sched.edge_ptr
        level_edges = sched.level_edges()
        # The gradient of the states in level order: a fresh tensor, which
        # the loop below owns and accumulates into.
        g_out = grad_outputs[0] if len(grad_outputs) == 1 else \
            torch.cat(grad_outputs, dim=1)
        grad = torch.index_select(g_out, 0, sched.perm,
                                  out=empty(g_out.shape, g_out))
        # Every level writes the rows of its nodes (no zero fill of a large
        # fresh buffer, whose page faults cost more than the fill):
        grad_node = empty(node_in.shape, node_in)
        grad_edge = torch.zeros_like(edge_in) if edge_in is not None else None
        grad_params: List[Optional[Tensor]] = [None] * len(leaves)
        deferred: List[List[tuple]] = [[] for _ in leaves]
        want = [i for i, p in enumerate(leaves) if p.requires_grad]
        for segment in reversed(ctx.segments):
            if segment[0] == 'run':
                _, first, last, saved = segment
                ni, s0, out, aux_r = _run_views(sched, first, last, node_in,
                                                states, ctx.aux)
                a, b = node_ptr[first], node_ptr[last + 1]
                g_node, g_s0, g_par = step.run_backward(
                    saved, grad[a:b].view(out.shape), ni, s0, out, aux_r,
                    leaves)
                grad_node[a:b] = g_node.reshape(b - a, -1)
                grad[node_ptr[first - 1]:a] += g_s0
                _collect(g_par, grad_params, deferred)
                continue
            _, lvl, record = segment
            a, b = node_ptr[lvl], node_ptr[lvl + 1]
            ea, eb = edge_ptr[lvl], edge_ptr[lvl + 1]
            src_l, dst_l = level_edges[lvl]
            if manual:
                kwargs = dict(out=grad_node[a:b]) if step.writes_out else {}
                saved, src_state = record
                g_node, g_src, g_edge, g_par = step.backward(
                    saved, grad[a:b], node_in[a:b], src_state, dst_l,
                    edge_in[ea:eb] if edge_in is not None else None,
                    tuple(t[ea:eb] for t in ctx.aux) if ctx.aux else (),
                    leaves, **kwargs)
            else:
                out, ni, src_state, ei = record
                inputs = [ni, src_state] + ([ei] if ei is not None else []) \
                    + [leaves[i] for i in want]
                # retain_graph: the outer graph may be run backward again
                # (retain_graph=True, gradcheck); the level graphs are freed
                # with this node.
                grads = torch.autograd.grad(out, inputs, grad[a:b],
                                            retain_graph=True,
                                            allow_unused=True)
                g_node, g_src = grads[0], grads[1]
                g_edge = grads[2] if ei is not None else None
                g_par = [None] * len(leaves)
                for i, g in zip(want, grads[3 if ei is not None else 2:]):
                    g_par[i] = g
            if g_node is None:
                grad_node[a:b].zero_()
            elif g_node.data_ptr() != grad_node[a:b].data_ptr():
                grad_node[a:b] = g_node
            if g_src is not None and eb > ea:
                grad.index_add_(0, src_l, g_src)
            if g_edge is not None:
                grad_edge[ea:eb] = g_edge
            _collect(g_par, grad_params, deferred)
        for i, p in enumerate(leaves):
            if deferred[i]:
                A = torch.cat([pair[0] for pair in deferred[i]])
                B = torch.cat([pair[1] for pair in deferred[i]])
                g = A.t() @ B
                grad_params[i] = g if grad_params[i] is None else \
                    grad_params[i] + g
            if grad_params[i] is None and ctx.needs_input_grad[7 + i]:
                grad_params[i] = torch.zeros_like(p)
        return (None, None, None, None, None, grad_node, grad_edge,
                *grad_params)


class _PermuteRows(torch.autograd.Function):
    # x[perm] for a permutation perm, whose backward is the gather by the
    # inverse permutation (index_select's backward would zero-fill a buffer
    # and scatter into it).
    @staticmethod
    def forward(ctx, x, perm, inv):
        ctx.save_for_backward(inv)
        return x.index_select(0, perm)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        (inv, ) = ctx.saved_tensors
        return grad.index_select(0, inv), None, None


def permute_rows(x: Tensor, perm: Tensor, inv: Tensor) -> Tensor:
    r"""The rows of :obj:`x` permuted, :obj:`x[perm]`, with :obj:`inv` the
    inverse permutation (:obj:`inv[perm] = arange`); differentiable, with a
    gather as its backward."""
    if not x.requires_grad:
        return x.index_select(0, perm)
    return _PermuteRows.apply(x, perm, inv)


def _run_views(sched: LevelSchedule, first: int, last: int, node_in: Tensor,
               states: Tensor, aux: Sequence[Tensor]):
    # A run of one-to-one levels as (k, w, *) views: its node inputs, the
    # states of the level before it, its output slice and its per-edge aux
    # (edges of a run are sorted like its nodes).
    node_ptr, edge_ptr = sched.node_ptr, sched.edge_ptr
    a, b = node_ptr[first], node_ptr[last + 1]
    k, w = last - first + 1, node_ptr[first + 1] - a
    ni = node_in[a:b].view((k, w) + tuple(node_in.shape[1:]))
    s0 = states[node_ptr[first - 1]:a]
    out = states[a:b].view(k, w, states.size(1))
    ea, eb = edge_ptr[first], edge_ptr[last + 1]
    aux_r = tuple(t[ea:eb].view((k, w) + tuple(t.shape[1:])) for t in aux)
    return ni, s0, out, aux_r


#: A level's :math:`(A, B)` pair with at least this many rows is multiplied
#: at once (a product that large runs at full speed); smaller ones are
#: concatenated and multiplied together at the end.
_DEFER_ROWS = 256


def _collect(g_par, grad_params, deferred) -> None:
    # Adds a segment's parameter gradients: tensors at once, (A, B) pairs
    # deferred to one product A^T B at the end.
    for i, g in enumerate(g_par):
        if g is None:
            continue
        if isinstance(g, tuple):
            if g[0].size(0) < _DEFER_ROWS:
                deferred[i].append(g)
            elif grad_params[i] is None:
                grad_params[i] = g[0].t() @ g[1]
            else:
                grad_params[i].addmm_(g[0].t(), g[1])
        elif grad_params[i] is None:
            grad_params[i] = g.clone()
        else:
            grad_params[i].add_(g)


@torch.compiler.disable
def propagate_levels(step: Step, schedule: LevelSchedule, node_in: Tensor,
                     state_size: int, params: Sequence[Tensor] = (),
                     edge_in: Optional[Tensor] = None,
                     aux: Sequence[Tensor] = (),
                     in_level_order: bool = False,
                     split: Optional[Sequence[int]] = None):
    r"""Runs a recurrence over a DAG, one batched step per level, and returns
    the state of every node (in node order).

    For each level :math:`l` (in increasing order), :obj:`step` is called as

    .. code-block:: python

        state_l = step(node_in_l, src_state_l, dst_local_l, edge_in_l,
                       aux_l, params)

    with the level's node inputs :obj:`node_in_l` (:math:`(|V_l|, *)`), the
    states of the sources of the edges into the level :obj:`src_state_l`
    (:math:`(|E_l|, S)`), the row of each edge's target within the level
    :obj:`dst_local_l` (:math:`(|E_l|,)`), the edges' inputs :obj:`edge_in_l`
    (or :obj:`None`), the tuple of per-edge non-differentiable tensors
    :obj:`aux_l`, and the list :obj:`params`. It must return the level's new
    states, :math:`(|V_l|, S)`, and depend on nothing but its arguments.

    Gradients flow to :obj:`node_in`, :obj:`edge_in` and :obj:`params`
    (first-order only). Time and memory are linear in the graph's size.

    Under :func:`torch.autocast`, the level loop runs with autocast off, in
    the dtype of the (floating-point) parameters: :obj:`node_in` and
    :obj:`edge_in` (e.g. a hoisted projection computed in bfloat16) are cast
    to it, and so are the returned states. Under :func:`torch.compile` the
    call is an opaque boundary (:func:`torch.compiler.disable`): the level
    loop runs eagerly, the code around it is compiled, and a new batch
    shape does not re-trace the loop.

    Args:
        step (callable): The per-level step.
        schedule (LevelSchedule): From :func:`build_schedule`.
        node_in (torch.Tensor): Per-node inputs, :math:`(|V|, *)`, in node
            order (typically the hoisted input projection :math:`Wx + b`).
        state_size (int): :math:`S`, the width of a node's state.
        params (sequence of torch.Tensor): Tensors used inside :obj:`step`.
        edge_in (torch.Tensor, optional): Per-edge inputs in the order of the
            edges given to :func:`build_schedule`.
        aux (sequence of torch.Tensor): Per-edge tensors without gradient
            (e.g. child positions), in the original edge order.
        in_level_order (bool, optional): If :obj:`True`, :obj:`node_in` is
            already in the schedule's order (:obj:`node_in_orig[schedule.perm]`,
            e.g. a projection of :obj:`x[schedule.perm]`: permuting the
            narrower input is cheaper than permuting the projection).
            (default: :obj:`False`)
        split (sequence of int, optional): If given, the widths the state is
            split into (summing to :math:`S`, e.g. :obj:`(d, d)` for
            :math:`[\mathbf{h}, \mathbf{c}]`), returned as separate
            tensors; their gradients then reach the backward pass
            separately, without the zero-filled full-width gradient that
            slicing the returned state would cost. (default: :obj:`None`)

    :rtype: :class:`torch.Tensor` of shape :math:`(|V|, S)`, or a tuple of
        :math:`(|V|, S_i)` tensors with :obj:`split`.
    """
    sched = schedule
    if node_in.size(0) != sched.num_nodes:
        raise ValueError(f"'propagate_levels' expects 'node_in' with "
                         f"{sched.num_nodes} rows (got {node_in.size(0)})")
    bounds = None
    if split is not None:
        split = [int(s) for s in split]
        if sum(split) != state_size or any(s <= 0 for s in split):
            raise ValueError(f"'propagate_levels' expects 'split' to be "
                             f"positive widths summing to 'state_size' "
                             f"{state_size} (got {split})")
        bounds = [0]
        for s in split:
            bounds.append(bounds[-1] + s)
    if autocast_enabled(node_in.device):
        dtype = next((p.dtype for p in params if p.is_floating_point()),
                     node_in.dtype)
        node_in = node_in.to(dtype)
        edge_in = edge_in.to(dtype) if edge_in is not None else None
    node_pos = node_in if in_level_order else \
        permute_rows(node_in, sched.perm, sched.rank)
    edge_pos = edge_in.index_select(0, sched.edge_perm) \
        if edge_in is not None else None
    aux_pos = tuple(t.index_select(0, sched.edge_perm) for t in aux)
    return _LevelRecurrence.apply(step, sched, state_size, bounds, aux_pos,
                                  node_pos, edge_pos, *params)
