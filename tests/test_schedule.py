from contextlib import contextmanager

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils._python_dispatch import TorchDispatchMode

import tgr.schedule
from tgr.schedule import (LevelSchedule, build_schedule, check_edge_index,
                          layer_schedule, propagate_levels,
                          topological_levels)
from tgr.testing import chain, random_dag, random_forest


def longest_path_levels(edge_index, num_nodes):
    # Independent reference: relax edges until nothing changes.
    level = [0] * num_nodes
    edges = edge_index.t().tolist()
    changed = True
    while changed:
        changed = False
        for u, v in edges:
            if level[v] < level[u] + 1:
                level[v] = level[u] + 1
                changed = True
    return torch.tensor(level, dtype=torch.long)


@contextmanager
def peeling(path):
    # 'lists': CPU graphs below the threshold take the Python-list path;
    # 'tensors': every graph takes the tensor peeling used on GPUs and for
    # large graphs.
    old = tgr.schedule.SMALL_GRAPH
    tgr.schedule.SMALL_GRAPH = old if path == 'lists' else -1
    try:
        yield
    finally:
        tgr.schedule.SMALL_GRAPH = old


PATHS = ['lists', 'tensors']


@st.composite
def forests(draw):
    num_nodes = draw(st.integers(0, 40))
    parents = []
    for i in range(num_nodes):
        # -1 makes a root; otherwise any earlier node is the parent.
        parents.append(draw(st.integers(-1, i - 1)) if i > 0 else -1)
    perm = draw(st.permutations(list(range(num_nodes))))
    src = [perm[i] for i, p in enumerate(parents) if p >= 0]
    dst = [perm[p] for p in parents if p >= 0]
    return torch.tensor([src, dst], dtype=torch.long).view(2, -1), num_nodes


@pytest.mark.parametrize('path', PATHS)
@settings(max_examples=60, deadline=None)
@given(forest=forests())
def test_levels_on_random_forests(path, forest):
    edge_index, num_nodes = forest
    with peeling(path):
        level = topological_levels(edge_index, num_nodes)
    assert level.shape == (num_nodes, )
    if edge_index.numel() > 0:
        assert bool((level[edge_index[0]] < level[edge_index[1]]).all())
    assert torch.equal(level, longest_path_levels(edge_index, num_nodes))


@pytest.mark.parametrize('path', PATHS)
@settings(max_examples=40, deadline=None)
@given(num_nodes=st.integers(1, 30), num_edges=st.integers(0, 80),
       seed=st.integers(0, 10**6))
def test_levels_on_random_dags(path, num_nodes, num_edges, seed):
    num_edges = min(num_edges, num_nodes * (num_nodes - 1) // 2)
    edge_index = random_dag(num_nodes, num_edges, seed)
    with peeling(path):
        level = topological_levels(edge_index, num_nodes)
    assert torch.equal(level, longest_path_levels(edge_index, num_nodes))


@pytest.mark.parametrize('path', PATHS)
def test_levels_of_known_graphs(path):
    with peeling(path):
        _known_graphs()


def _known_graphs():
    assert topological_levels(chain(5), 5).tolist() == [0, 1, 2, 3, 4]
    star = torch.tensor([[1, 2, 3, 4], [0, 0, 0, 0]])
    assert topological_levels(star, 5).tolist() == [1, 0, 0, 0, 0]
    # Longest path, not shortest: 0 -> 3 directly and 0 -> 1 -> 2 -> 3.
    ei = torch.tensor([[0, 0, 1, 2], [3, 1, 2, 3]])
    assert topological_levels(ei, 4).tolist() == [0, 1, 2, 3]
    assert topological_levels(torch.empty(2, 0, dtype=torch.long),
                              3).tolist() == [0, 0, 0]
    assert topological_levels(torch.empty(2, 0, dtype=torch.long),
                              0).numel() == 0
    # Duplicate edges are fine.
    ei = torch.tensor([[0, 0], [1, 1]])
    assert topological_levels(ei, 2).tolist() == [0, 1]


@pytest.mark.parametrize('path', PATHS)
def test_cycle_errors(path):
    with peeling(path):
        _cycle_errors()


def _cycle_errors():
    ei = torch.tensor([[0, 1, 2, 2], [1, 2, 0, 3]])  # 0->1->2->0, 3 behind
    with pytest.raises(ValueError, match=r'4 node\(s\) lie on or behind '
                       r'cycles \(node [012] is on a cycle\)'):
        topological_levels(ei, 5)
    with pytest.raises(ValueError, match='node 2 has a self loop'):
        topological_levels(torch.tensor([[0, 2], [1, 2]]), 3)
    with pytest.raises(ValueError, match='MyLayer'):
        topological_levels(torch.tensor([[0, 1], [1, 0]]), 2, who='MyLayer')


def test_edge_index_errors():
    with pytest.raises(ValueError, match=r'node index 5 .* out of range for '
                       r'3 nodes'):
        check_edge_index(torch.tensor([[0, 5], [1, 2]]), 3, 'L')
    with pytest.raises(ValueError, match='node index -1'):
        check_edge_index(torch.tensor([[0, -1], [1, 2]]), 3, 'L')
    with pytest.raises(ValueError, match=r'shape \(2, E\)'):
        check_edge_index(torch.tensor([[0, 1, 2]]), 3, 'L')
    with pytest.raises(TypeError, match='integers'):
        check_edge_index(torch.tensor([[0., 1.], [1., 2.]]), 3, 'L')
    with pytest.raises(TypeError, match='torch.Tensor'):
        check_edge_index([[0, 1], [1, 2]], 3, 'L')


def test_schedule_structure():
    edge_index = random_forest(50, num_trees=4, seed=1)
    sched = build_schedule(edge_index, 50)
    assert isinstance(sched, LevelSchedule)
    assert str(sched) == (f'LevelSchedule(num_nodes=50, num_edges=46, '
                          f'num_levels={sched.num_levels})')
    level = topological_levels(edge_index, 50)
    assert torch.equal(sched.level, level)
    assert sched.num_levels == int(level.max()) + 1
    assert torch.equal(sched.perm[sched.rank], torch.arange(50))
    for lvl in range(sched.num_levels):
        a, b = sched.node_ptr[lvl], sched.node_ptr[lvl + 1]
        assert bool((level[sched.perm[a:b]] == lvl).all())
        ea, eb = sched.edge_ptr[lvl], sched.edge_ptr[lvl + 1]
        assert bool((sched.dst[ea:eb] >= a).all())
        assert bool((sched.dst[ea:eb] < b).all())
        assert bool((sched.src[ea:eb] < a).all())  # sources come earlier
        assert torch.equal(sched.dst_local[ea:eb], sched.dst[ea:eb] - a)
    # Sorted edges map back to the original ones:
    orig = edge_index[:, sched.edge_perm]
    assert torch.equal(sched.perm[sched.src], orig[0])
    assert torch.equal(sched.perm[sched.dst], orig[1])


def test_schedule_from_given_levels():
    edge_index = chain(4)
    # Any levels that climb along every edge are exact; gaps are allowed.
    sched = build_schedule(edge_index, 4, level=torch.tensor([0, 2, 5, 6]))
    assert sched.num_levels == 7
    with pytest.raises(ValueError, match=r'edge 1 -> 2 goes from level 3 to '
                       r'level 1'):
        build_schedule(edge_index, 4, level=torch.tensor([0, 3, 1, 4]))
    with pytest.raises(ValueError, match=r"'level' of shape \(4,\)"):
        build_schedule(edge_index, 4, level=torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="'level' to be an integer"):
        build_schedule(edge_index, 4, level=torch.tensor([0., 1, 2, 3]))


def test_layer_schedule_checks():
    x, ei = torch.randn(3, 2), chain(3)
    sched = layer_schedule('L', x, ei)
    assert layer_schedule('L', x, ei, schedule=sched) is sched
    with pytest.raises(ValueError, match='schedule for 3 nodes'):
        layer_schedule('L', torch.randn(4, 2), chain(4), schedule=sched)
    with pytest.raises(TypeError, match="'L' expects 'schedule'"):
        layer_schedule('L', x, ei, schedule='nope')
    with pytest.raises(ValueError, match="'flow'"):
        layer_schedule('L', x, ei, flow='sideways')
    with pytest.raises(TypeError, match='floating-point'):
        layer_schedule('L', torch.ones(3, 2, dtype=torch.long), ei)
    with pytest.raises(ValueError, match=r'\(num_nodes, in_channels\)'):
        layer_schedule('L', torch.randn(3), ei)
    moved = sched.to('meta')
    assert moved.device.type == 'meta' and moved.node_ptr == sched.node_ptr
    with pytest.raises(ValueError, match=r"schedule on meta .* "
                       r"'schedule.to\(x.device\)'"):
        layer_schedule('L', x, ei, schedule=moved)
    rev = layer_schedule('L', x, ei, flow='target_to_source')
    assert rev.level.tolist() == [2, 1, 0]


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
