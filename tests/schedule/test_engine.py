import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from tgr.schedule import build_schedule, propagate_levels
from tgr.testing import chain, longest_path_levels, random_dag


def _sum_step(node_in, src_state, dst_local, edge_in, aux, params):
    # state_v = tanh(node_in_v + w * sum_u state_u (+ edge_in))
    (w, ) = params
    msg = src_state if edge_in is None else src_state * edge_in
    agg = node_in.new_zeros(node_in.shape).index_add_(0, dst_local, msg)
    return torch.tanh(node_in + w * agg)


def _reference_sum(node_in, edge_index, w, edge_in=None):
    num_nodes = node_in.size(0)
    level = longest_path_levels(edge_index, num_nodes)
    state = [None] * num_nodes
    for v in sorted(range(num_nodes), key=lambda v: int(level[v])):
        agg = torch.zeros_like(node_in[v])
        for e in range(edge_index.size(1)):
            if int(edge_index[1, e]) == v:
                s = state[int(edge_index[0, e])]
                agg = agg + (s if edge_in is None else s * edge_in[e])
        state[v] = torch.tanh(node_in[v] + w * agg)
    return torch.stack(state) if num_nodes else node_in.new_zeros(0, 3)


@pytest.mark.parametrize('with_edge_in', [False, True])
def test_propagate_levels_matches_reference_and_grads(with_edge_in):
    edge_index = random_dag(12, 20, seed=3)
    node_in = torch.randn(12, 3, dtype=torch.double, requires_grad=True)
    w = torch.tensor(0.7, dtype=torch.double, requires_grad=True)
    edge_in = torch.randn(20, 3, dtype=torch.double, requires_grad=True) \
        if with_edge_in else None
    sched = build_schedule(edge_index, 12)
    out = propagate_levels(_sum_step, sched, node_in, 3, params=(w, ),
                           edge_in=edge_in)
    ref = _reference_sum(node_in, edge_index, w, edge_in)
    assert torch.allclose(out, ref)
    inputs = (node_in, w) + ((edge_in, ) if with_edge_in else ())

    def fn(*args):
        ei = args[2] if with_edge_in else None
        return propagate_levels(_sum_step, sched, args[0], 3,
                                params=(args[1], ), edge_in=ei)

    assert torch.autograd.gradcheck(fn, inputs)


def test_propagate_levels_without_grad_and_empty():
    sched = build_schedule(torch.empty(2, 0, dtype=torch.long), 0)
    out = propagate_levels(_sum_step, sched, torch.randn(0, 3), 3,
                           params=(torch.tensor(1.), ))
    assert out.shape == (0, 3)
    sched = build_schedule(chain(3), 3)
    with torch.no_grad():
        out = propagate_levels(_sum_step, sched, torch.randn(3, 2), 2,
                               params=(torch.tensor(1.), ))
    assert not out.requires_grad
    with pytest.raises(ValueError, match='3 rows'):
        propagate_levels(_sum_step, sched, torch.randn(4, 2), 2)


class _CountWork(TorchDispatchMode):
    # Adds up the number of elements every aten op produces. An in-place op
    # (index_add_ into a buffer) returns the whole buffer but touches only
    # as many elements as its other tensor arguments hold; one without such
    # arguments (zero_, fill_) touches all of it.
    def __init__(self):
        super().__init__()
        self.work = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func._schema.is_mutable:
            others = [a.numel() for a in args[1:]
                      if isinstance(a, torch.Tensor)]
            self.work += sum(others) if others else args[0].numel()
            return out
        for t in (out if isinstance(out, (tuple, list)) else (out, )):
            if isinstance(t, torch.Tensor):
                self.work += t.numel()
        return out


def _chain_work(num_nodes):
    sched = build_schedule(chain(num_nodes), num_nodes)
    node_in = torch.randn(num_nodes, 8, requires_grad=True)
    w = torch.tensor(0.5, requires_grad=True)
    with _CountWork() as counter:
        out = propagate_levels(_sum_step, sched, node_in, 8, params=(w, ))
        out.sum().backward()
    return counter.work


def test_chain_work_is_linear():
    # A chain of T nodes has T levels. Per-level work proportional to the
    # level's size makes the total linear in T; one O(N) copy, mask or
    # index_put per level (forward or backward) would make it quadratic.
    small, large = _chain_work(200), _chain_work(800)
    assert large / small < 4.4, (small, large)


def test_split_returns_the_columns_with_the_same_gradients():
    # split=(1, 2): the state's columns as separate tensors, whose gradients
    # reach the backward separately; values and gradients as without it.
    edge_index = random_dag(15, 30, seed=4)
    sched = build_schedule(edge_index, 15)
    node_in = torch.randn(15, 3, dtype=torch.double, requires_grad=True)
    w = torch.tensor(0.4, dtype=torch.double, requires_grad=True)
    full = propagate_levels(_sum_step, sched, node_in, 3, params=(w, ))
    weights = torch.randn(15, 3, dtype=torch.double)
    g_full = torch.autograd.grad((full * weights).sum(), (node_in, w),
                                 retain_graph=True)
    a, b = propagate_levels(_sum_step, sched, node_in, 3, params=(w, ),
                            split=(1, 2))
    assert a.shape == (15, 1) and b.shape == (15, 2)
    assert torch.equal(torch.cat([a, b], dim=1), full)
    loss = (a * weights[:, :1]).sum() + (b * weights[:, 1:]).sum()
    g_split = torch.autograd.grad(loss, (node_in, w), retain_graph=True)
    for x, y in zip(g_split, g_full):
        assert torch.allclose(x, y)
    # Only one part used: the other's gradient counts as zero.
    g_a = torch.autograd.grad(a.sum(), node_in)[0]
    g_ref = torch.autograd.grad(full[:, :1].sum(), node_in)[0]
    assert torch.allclose(g_a, g_ref)


@pytest.mark.parametrize('split', [(1, 1), (3, 0), (4, -1)])
def test_split_must_cover_the_state(split):
    sched = build_schedule(chain(3), 3)
    with pytest.raises(ValueError, match="'split'"):
        propagate_levels(_sum_step, sched, torch.randn(3, 3), 3,
                         params=(torch.tensor(1.), ), split=split)
