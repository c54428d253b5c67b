import io

import pytest
import torch
from torch.func import functional_call
from torch_geometric.data import Batch, Data

from tgr.nn import ChildSumTreeLSTM, NAryTreeLSTM
from tgr.schedule import build_schedule
from tgr.testing import chain, random_dag, random_forest
from tgr.transforms import AddLevels


# Independent references: node by node, in whatever order the nodes become
# ready, straight from the equations in the docstrings. ######################
def _weights(layer):
    d = layer.out_channels
    W, b = layer.lin.weight, layer.lin.bias
    if b is None:
        b = W.new_zeros(4 * d)
    Wi, Wo, Wu, Wf = W.split(d)
    bi, bo, bu, bf = b.split(d)
    Ui, Uo, Uu = layer.lin_iou.weight.split(d)
    return Wi, Wo, Wu, Wf, bi, bo, bu, bf, Ui, Uo, Uu, layer.lin_f.weight


def _sequential(num_nodes, children, cell):
    h, c = [None] * num_nodes, [None] * num_nodes
    done = 0
    while done < num_nodes:
        progress = False
        for j in range(num_nodes):
            if h[j] is None and all(h[k] is not None for k in children[j]):
                h[j], c[j] = cell(j, h, c)
                done, progress = done + 1, True
        assert progress
    return h, c


def reference_child_sum(layer, x, edge_index, mean=False):
    Wi, Wo, Wu, Wf, bi, bo, bu, bf, Ui, Uo, Uu, Uf = _weights(layer)
    d, n = layer.out_channels, x.size(0)
    children = [[] for _ in range(n)]
    for k, j in edge_index.t().tolist():
        children[j].append(k)

    def cell(j, h, c):
        # aggr='mean': the children's h and forget-gated c are averaged.
        scale = 1.0 / len(children[j]) if mean and children[j] else 1.0
        h_tilde = sum((h[k] for k in children[j]), x.new_zeros(d)) * scale
        i = torch.sigmoid(Wi @ x[j] + Ui @ h_tilde + bi)
        o = torch.sigmoid(Wo @ x[j] + Uo @ h_tilde + bo)
        u = torch.tanh(Wu @ x[j] + Uu @ h_tilde + bu)
        fc = x.new_zeros(d)
        for k in children[j]:
            f_jk = torch.sigmoid(Wf @ x[j] + Uf @ h[k] + bf)
            fc = fc + f_jk * c[k]
        c_j = i * u + fc * scale
        return o * torch.tanh(c_j), c_j

    h, c = _sequential(n, children, cell)
    if n == 0:
        return x.new_zeros(0, d), x.new_zeros(0, d)
    return torch.stack(h), torch.stack(c)


def reference_nary(layer, x, edge_index, child_pos):
    N, d, n = layer.num_children, layer.out_channels, x.size(0)
    W, b = layer.lin.weight, layer.lin.bias
    Wi, Wo, Wu, Wf = W.split(d)
    bi, bo, bu, bf = b.split(d)
    # U_{g,l}: the block of the gate's U that reads the child at position l.
    Ui, Uo, Uu = [U.split(d, dim=1) for U in layer.lin_iou.weight.split(d)]
    Uf = [row.split(d, dim=1) for row in layer.lin_f.weight.split(d)]
    slot = [[None] * N for _ in range(n)]
    for (k, j), pos in zip(edge_index.t().tolist(), child_pos.tolist()):
        slot[j][pos] = k
    children = [[k for k in s if k is not None] for s in slot]

    def cell(j, h, c):
        hs = [h[k] if k is not None else x.new_zeros(d) for k in slot[j]]
        cs = [c[k] if k is not None else x.new_zeros(d) for k in slot[j]]
        i = torch.sigmoid(Wi @ x[j] + sum(Ui[l] @ hs[l] for l in range(N)) +
                          bi)
        o = torch.sigmoid(Wo @ x[j] + sum(Uo[l] @ hs[l] for l in range(N)) +
                          bo)
        u = torch.tanh(Wu @ x[j] + sum(Uu[l] @ hs[l] for l in range(N)) + bu)
        c_j = i * u
        for k in range(N):
            f_jk = torch.sigmoid(Wf @ x[j] +
                                 sum(Uf[k][l] @ hs[l]
                                     for l in range(N)) + bf)
            c_j = c_j + f_jk * cs[k]
        return o * torch.tanh(c_j), c_j

    h, c = _sequential(n, children, cell)
    return torch.stack(h), torch.stack(c)


def random_positions(edge_index, num_children, seed):
    # Distinct random positions among each parent's children (some empty).
    g = torch.Generator().manual_seed(seed)
    pos = torch.empty(edge_index.size(1), dtype=torch.long)
    for j in edge_index[1].unique().tolist():
        idx = (edge_index[1] == j).nonzero().view(-1)
        perm = torch.randperm(num_children, generator=g)[:idx.numel()]
        pos[idx] = perm
    return pos


def make(cls, in_channels=5, out_channels=4, **kwargs):
    torch.manual_seed(12345)
    return cls(in_channels, out_channels, **kwargs).double()


GRAPHS = {
    'forest': lambda: random_forest(60, num_trees=5, seed=1),
    'deep_chain': lambda: chain(120),
    'wide_star': lambda: torch.stack(
        [torch.arange(1, 25), torch.zeros(24, dtype=torch.long)]),
    'many_small': lambda: random_forest(90, num_trees=30, seed=2),
}


# Child-Sum ##################################################################
@pytest.mark.parametrize('name', list(GRAPHS) + ['dag'])
@pytest.mark.parametrize('bias', [True, False])
def test_child_sum_matches_reference(name, bias):
    if name == 'dag':
        edge_index = random_dag(40, 90, seed=4)
    else:
        edge_index = GRAPHS[name]()
    n = int(edge_index.max()) + 1
    x = torch.randn(n, 5, dtype=torch.double)
    layer = make(ChildSumTreeLSTM, bias=bias)
    h, c = layer(x, edge_index)
    h_ref, c_ref = reference_child_sum(layer, x, edge_index)
    assert torch.allclose(h, h_ref) and torch.allclose(c, c_ref)


@pytest.mark.parametrize('name', ['forest', 'wide_star', 'dag'])
@pytest.mark.parametrize('flow', ['source_to_target', 'target_to_source'])
def test_child_sum_mean_matches_reference_with_grads(name, flow):
    edge_index = random_dag(30, 70, seed=5) if name == 'dag' \
        else GRAPHS[name]()
    n = int(edge_index.max()) + 1
    x = torch.randn(n, 5, dtype=torch.double, requires_grad=True)
    layer = make(ChildSumTreeLSTM, aggr='mean', flow=flow)
    assert str(layer) == "ChildSumTreeLSTM(5, 4, aggr='mean')"
    ei = edge_index if flow == 'source_to_target' else edge_index.flip(0)
    h, c = layer(x, ei)
    h_ref, c_ref = reference_child_sum(layer, x, edge_index, mean=True)
    assert torch.allclose(h, h_ref) and torch.allclose(c, c_ref)
    params = list(layer.parameters())
    g = torch.autograd.grad((h * h_ref.detach()).sum() + c.sum(),
                            [x] + params)
    g_ref = torch.autograd.grad((h_ref * h_ref.detach()).sum() +
                                c_ref.sum(), [x] + params)
    assert all(torch.allclose(a, b) for a, b in zip(g, g_ref))
    # The mean differs from the sum wherever a node has two children:
    h_add, _ = make(ChildSumTreeLSTM, flow=flow)(x, ei)
    assert not torch.allclose(h, h_add)


def test_child_sum_on_chain_equals_torch_lstm():
    T, d = 30, 6
    layer = make(ChildSumTreeLSTM, 5, d)
    lstm = torch.nn.LSTM(5, d).double()
    Wi, Wo, Wu, Wf, bi, bo, bu, bf, Ui, Uo, Uu, Uf = _weights(layer)
    with torch.no_grad():  # torch's gate order is (i, f, g, o)
        lstm.weight_ih_l0.copy_(torch.cat([Wi, Wf, Wu, Wo]))
        lstm.weight_hh_l0.copy_(torch.cat([Ui, Uf, Uu, Uo]))
        lstm.bias_ih_l0.copy_(torch.cat([bi, bf, bu, bo]))
        lstm.bias_hh_l0.zero_()
    x = torch.randn(T, 5, dtype=torch.double)
    h, c = layer(x, chain(T))
    out, (h_n, c_n) = lstm(x.unsqueeze(1))
    assert torch.allclose(h, out.squeeze(1))
    assert torch.allclose(c[-1], c_n.view(-1))


# N-ary ######################################################################
@pytest.mark.parametrize('name', list(GRAPHS))
@pytest.mark.parametrize('num_children', [2, 3])
def test_nary_matches_reference_with_missing_positions(name, num_children):
    # Wide stars need as many positions as children.
    edge_index = GRAPHS[name]()
    n = int(edge_index.max()) + 1
    most = int(torch.bincount(edge_index[1]).max())
    N = max(num_children, most + (name == 'deep_chain'))
    pos = random_positions(edge_index, N, seed=5)
    x = torch.randn(n, 5, dtype=torch.double)
    layer = make(NAryTreeLSTM, num_children=N)
    h, c = layer(x, edge_index, child_pos=pos)
    h_ref, c_ref = reference_nary(layer, x, edge_index, pos)
    assert torch.allclose(h, h_ref) and torch.allclose(c, c_ref)


def test_nary_default_positions_follow_edge_order():
    edge_index = torch.tensor([[3, 1, 2, 4], [0, 0, 1, 1]])
    x = torch.randn(5, 5, dtype=torch.double)
    layer = make(NAryTreeLSTM)
    h, c = layer(x, edge_index)
    h_ref, _ = reference_nary(layer, x, edge_index, torch.tensor([0, 1, 0,
                                                                  1]))
    assert torch.allclose(h, h_ref)
    # Swapping the two children of node 0 changes the result:
    h2, _ = layer(x, edge_index, child_pos=torch.tensor([1, 0, 0, 1]))
    assert not torch.allclose(h2[0], h[0])


# Properties shared by both layers ###########################################
def _run(layer, x, edge_index, **kwargs):
    if isinstance(layer, NAryTreeLSTM) and 'child_pos' not in kwargs:
        kwargs['child_pos'] = None
    return layer(x, edge_index, **kwargs)


LAYERS = {
    'child_sum': lambda: make(ChildSumTreeLSTM),
    'nary': lambda: make(NAryTreeLSTM, num_children=3),
}


@pytest.mark.parametrize('kind', LAYERS)
def test_batch_equals_each_tree_alone(kind):
    layer = LAYERS[kind]()
    data_list = []
    for i, n in enumerate([1, 7, 15, 30]):
        ei = random_forest(n, seed=i, max_children=3)
        data_list.append(AddLevels()(Data(
            x=torch.randn(n, 5, dtype=torch.double), edge_index=ei,
            num_nodes=n)))
    batch = Batch.from_data_list(data_list)
    h, c = _run(layer, batch.x, batch.edge_index, level=batch.level)
    h2, c2 = _run(layer, batch.x, batch.edge_index)
    assert torch.allclose(h, h2) and torch.allclose(c, c2)
    for i, data in enumerate(data_list):
        h_i, c_i = _run(layer, data.x, data.edge_index)
        mask = batch.batch == i
        assert torch.allclose(h[mask], h_i) and torch.allclose(c[mask], c_i)


@pytest.mark.parametrize('kind', LAYERS)
def test_permutation_equivariance(kind):
    layer = LAYERS[kind]()
    n = 40
    edge_index = random_forest(n, num_trees=3, seed=7, max_children=3)
    x = torch.randn(n, 5, dtype=torch.double)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(n)  # new label of old node v is inv[v]
    h, c = _run(layer, x, edge_index)
    hp, cp = _run(layer, x[perm], inv[edge_index])
    assert torch.allclose(hp, h[perm]) and torch.allclose(cp, c[perm])


@pytest.mark.parametrize('kind', LAYERS)
def test_both_flows(kind):
    layer = LAYERS[kind]()
    edge_index = random_forest(25, num_trees=2, seed=3, max_children=3)
    x = torch.randn(25, 5, dtype=torch.double)
    h, c = _run(layer, x, edge_index)
    layer.flow = 'target_to_source'
    h2, c2 = _run(layer, x, edge_index.flip(0))
    assert torch.allclose(h, h2) and torch.allclose(c, c2)
    rev = make(type(layer), flow='target_to_source',
               **({'num_children': 3} if kind == 'nary' else {}))
    assert rev.flow == 'target_to_source'


@pytest.mark.parametrize('kind', LAYERS)
def test_gradcheck(kind):
    kwargs = {'num_children': 3} if kind == 'nary' else {}
    layer = make(type(LAYERS[kind]()), 2, 2, **kwargs)
    edge_index = random_forest(7, num_trees=2, seed=8, max_children=3)
    x = torch.randn(7, 2, dtype=torch.double, requires_grad=True)
    names = [name for name, _ in layer.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_()
                   for _, p in layer.named_parameters())

    def fn(x, *ps):
        h, c = functional_call(layer, dict(zip(names, ps)),
                               (x, edge_index))
        return h, c

    assert torch.autograd.gradcheck(fn, (x, ) + params)


@pytest.mark.parametrize('kind', LAYERS)
def test_gradients_match_reference(kind):
    # Gradients through the engine equal those through the sequential loop.
    layer = LAYERS[kind]()
    edge_index = random_forest(30, num_trees=3, seed=9, max_children=3)
    x = torch.randn(30, 5, dtype=torch.double, requires_grad=True)
    w = torch.randn(30, 4, dtype=torch.double)
    h, c = _run(layer, x, edge_index)
    ((h * w).sum() + c.sum()).backward()
    grads = [x.grad.clone()] + [p.grad.clone() for p in layer.parameters()]
    x.grad = None
    layer.zero_grad()
    if kind == 'nary':
        from tgr.nn.tree_lstm import _appearance_order
        h, c = reference_nary(layer, x, edge_index,
                              _appearance_order(edge_index[1], 30))
    else:
        h, c = reference_child_sum(layer, x, edge_index)
    ((h * w).sum() + c.sum()).backward()
    ref = [x.grad] + [p.grad for p in layer.parameters()]
    for g, r in zip(grads, ref):
        assert torch.allclose(g, r)


def _chains_and_runs(name):
    # Graphs whose schedules hold runs of one-to-one levels (the fast path
    # of the Child-Sum step), each mixed with ordinary levels.
    if name == 'chain':
        return chain(25)
    if name == 'side_by_side':  # three chains of 9, one run of width 3
        return torch.cat([chain(9) + 9 * i for i in range(3)], dim=1)
    if name == 'star_then_chain':  # leaves -> 0 -> 4 -> 5 -> 6
        return torch.tensor([[1, 2, 3, 0, 4, 5], [0, 0, 0, 4, 5, 6]])
    # A chain whose last node also reads a far-away node: the run ends
    # before it, and a run state feeds a level after the run.
    ei = chain(12)
    return torch.cat([ei, torch.tensor([[3], [11]])], dim=1)


@pytest.mark.parametrize('name', ['chain', 'side_by_side', 'star_then_chain',
                                  'chain_with_skip'])
@pytest.mark.parametrize('aggr', ['add', 'mean'])
def test_runs_of_one_to_one_levels_match_reference(name, aggr):
    edge_index = _chains_and_runs(name)
    n = int(edge_index.max()) + 1
    assert build_schedule(edge_index, n).runs()  # the fast path is taken
    layer = make(ChildSumTreeLSTM, aggr=aggr)
    x = torch.randn(n, 5, dtype=torch.double, requires_grad=True)
    w = torch.randn(n, 4, dtype=torch.double)
    h, c = layer(x, edge_index)
    ((h * w).sum() + (c * w).sum()).backward()
    grads = [x.grad.clone()] + [p.grad.clone() for p in layer.parameters()]
    x.grad = None
    layer.zero_grad()
    h_ref, c_ref = reference_child_sum(layer, x, edge_index,
                                       mean=aggr == 'mean')
    assert torch.allclose(h, h_ref) and torch.allclose(c, c_ref)
    ((h_ref * w).sum() + (c_ref * w).sum()).backward()
    ref = [x.grad] + [p.grad for p in layer.parameters()]
    for g, r in zip(grads, ref):
        assert torch.allclose(g, r)


def test_gradcheck_through_a_run():
    layer = make(ChildSumTreeLSTM, 2, 2)
    edge_index = _chains_and_runs('star_then_chain')
    x = torch.randn(7, 2, dtype=torch.double, requires_grad=True)
    names = [name for name, _ in layer.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_()
                   for _, p in layer.named_parameters())

    def fn(x, *ps):
        return functional_call(layer, dict(zip(names, ps)), (x, edge_index))

    assert torch.autograd.gradcheck(fn, (x, ) + params)


@pytest.mark.parametrize('kind', LAYERS)
def test_empty_graph_and_single_node(kind):
    layer = LAYERS[kind]()
    h, c = _run(layer, torch.randn(0, 5, dtype=torch.double),
                torch.empty(2, 0, dtype=torch.long))
    assert h.shape == (0, 4) and c.shape == (0, 4)
    x = torch.randn(1, 5, dtype=torch.double, requires_grad=True)
    h, c = _run(layer, x, torch.empty(2, 0, dtype=torch.long))
    assert h.shape == (1, 4)
    d = layer.out_channels
    xw = layer.lin(x)[0]
    i, o, u = torch.sigmoid(xw[:d]), torch.sigmoid(xw[d:2 * d]), \
        torch.tanh(xw[2 * d:3 * d])
    assert torch.allclose(c[0], i * u)
    assert torch.allclose(h[0], o * torch.tanh(i * u))
    h.sum().backward()
    assert x.grad is not None


@pytest.mark.parametrize('kind', LAYERS)
def test_isolated_nodes_and_reused_schedule(kind):
    layer = LAYERS[kind]()
    edge_index = torch.tensor([[1, 2], [0, 0]])  # nodes 3, 4 isolated
    x = torch.randn(5, 5, dtype=torch.double)
    sched = build_schedule(edge_index, 5)
    h, c = _run(layer, x, edge_index, schedule=sched)
    h2, c2 = _run(layer, x, edge_index)
    assert torch.allclose(h, h2)
    h_alone, _ = _run(layer, x[3:4], torch.empty(2, 0, dtype=torch.long))
    assert torch.allclose(h[3], h_alone[0])


@pytest.mark.parametrize('kind', LAYERS)
def test_lazy_initialization(kind):
    cls = type(LAYERS[kind]())
    kwargs = {'num_children': 3} if kind == 'nary' else {}
    layer = cls(-1, 4, **kwargs)
    assert str(layer).startswith(f'{cls.__name__}(-1, 4')
    h, c = _run(layer, torch.randn(6, 7), random_forest(6, seed=0,
                                                       max_children=3))
    assert h.shape == (6, 4) and layer.lin.weight.shape == (16, 7)


@pytest.mark.parametrize('kind', LAYERS)
def test_save_load(kind):
    layer = LAYERS[kind]()
    x = torch.randn(8, 5, dtype=torch.double)
    edge_index = random_forest(8, seed=1, max_children=3)
    h, _ = _run(layer, x, edge_index)
    buf = io.BytesIO()
    torch.save(layer, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    assert torch.allclose(_run(loaded, x, edge_index)[0], h)
    buf = io.BytesIO()
    torch.save(layer.state_dict(), buf)
    buf.seek(0)
    fresh = LAYERS[kind]()
    torch.nn.init.zeros_(fresh.lin.weight)
    fresh.load_state_dict(torch.load(buf))
    assert torch.allclose(_run(fresh, x, edge_index)[0], h)


def test_repr():
    assert str(ChildSumTreeLSTM(16, 32)) == 'ChildSumTreeLSTM(16, 32)'
    assert str(ChildSumTreeLSTM(16, 32, bias=False)) == \
        'ChildSumTreeLSTM(16, 32, bias=False)'
    assert str(NAryTreeLSTM(16, 32)) == 'NAryTreeLSTM(16, 32, num_children=2)'
    assert str(NAryTreeLSTM(16, 32, num_children=4, bias=False)) == \
        'NAryTreeLSTM(16, 32, num_children=4, bias=False)'


def test_reset_parameters():
    layer = ChildSumTreeLSTM(5, 4)
    before = layer.lin_f.weight.clone()
    layer.reset_parameters()
    assert not torch.equal(before, layer.lin_f.weight)


# Errors #####################################################################
@pytest.mark.parametrize('cls', [ChildSumTreeLSTM, NAryTreeLSTM])
def test_structure_errors(cls):
    layer = cls(3, 4)
    x = torch.randn(4, 3)
    name = cls.__name__
    with pytest.raises(ValueError, match=f"'{name}' expects an acyclic graph"
                       r", but 3 node\(s\) lie on or behind cycles"):
        layer(x, torch.tensor([[0, 1, 2], [1, 2, 0]]))
    with pytest.raises(ValueError, match=f"'{name}' .* node 1 has a self"):
        layer(x, torch.tensor([[1], [1]]))
    with pytest.raises(ValueError, match=f"'{name}' found node index 4 .* "
                       "out of range for 4 nodes"):
        layer(x, torch.tensor([[4], [0]]))
    with pytest.raises(ValueError, match=r"'edge_index' of shape \(2, E\)"):
        layer(x, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r'\(num_nodes, in_channels\)'):
        layer(torch.randn(4), torch.tensor([[1], [0]]))
    with pytest.raises(ValueError, match='levels that do not fit'):
        layer(x, torch.tensor([[1], [0]]), level=torch.tensor([0, 1, 0, 0]))


def test_nary_errors():
    layer = NAryTreeLSTM(3, 4, num_children=2)
    x = torch.randn(4, 3)
    ei = torch.tensor([[1, 2, 3], [0, 0, 1]])
    with pytest.raises(ValueError, match=r"'NAryTreeLSTM' expects "
                       r"'child_pos' values in \[0, 1\] for num_children=2 "
                       r"\(got 2\)"):
        layer(x, ei, child_pos=torch.tensor([0, 2, 0]))
    with pytest.raises(ValueError, match='got -1'):
        layer(x, ei, child_pos=torch.tensor([0, -1, 0]))
    with pytest.raises(ValueError, match='found 2 children at position 1 of '
                       'node 0'):
        layer(x, ei, child_pos=torch.tensor([1, 1, 0]))
    with pytest.raises(ValueError, match=r"'child_pos' of shape \(3,\)"):
        layer(x, ei, child_pos=torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="'child_pos' to be an integer"):
        layer(x, ei, child_pos=torch.tensor([0., 1., 0.]))
    with pytest.raises(ValueError, match=r'\(got 2\)'):
        layer(x, torch.tensor([[1, 2, 3], [0, 0, 0]]))  # star of 3 > N=2
    with pytest.raises(ValueError, match="'NAryTreeLSTM' expects a forest, "
                       "but node 3 has 2 parents"):
        layer(x, torch.tensor([[3, 3], [0, 1]]))
    with pytest.raises(ValueError, match="'num_children' to be a positive"):
        NAryTreeLSTM(3, 4, num_children=0)


@pytest.mark.parametrize('cls,aggr', [
    (ChildSumTreeLSTM, 'max'), (ChildSumTreeLSTM, ['add', 'mean']),
    (NAryTreeLSTM, 'mean'), (NAryTreeLSTM, 'max')])
def test_unsupported_aggr_is_refused(cls, aggr):
    with pytest.raises(ValueError, match=f"'{cls.__name__}' supports aggr "
                       "in"):
        cls(3, 4, aggr=aggr)


@pytest.mark.parametrize('cls', [ChildSumTreeLSTM, NAryTreeLSTM])
def test_sum_is_an_alias_of_add(cls):
    assert cls(3, 4, aggr='sum').aggr == 'add'
    assert str(cls(3, 4, aggr='sum')) == str(cls(3, 4))
