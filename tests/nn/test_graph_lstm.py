import io

import pytest
import torch
from torch.func import functional_call
from torch_geometric.data import Batch, Data
from torch_geometric.utils import erdos_renyi_graph, grid, to_undirected

from tgr.nn import GraphLSTM
from tgr.schedule import confidence_order, topological_levels


# The independent reference: one node at a time, in order of decreasing
# confidence (ties by index), straight from the equations of the docstring.
def _weights(layer):
    d = layer.out_channels
    W = layer.lin.weight
    b = layer.lin.bias if layer.lin.bias is not None else W.new_zeros(4 * d)
    Wu, Wf, Wo, Wc = W.split(d)
    bu, bf, bo, bc = b.split(d)
    Uu, Uf, Uo, Uc = layer.lin_h.weight.split(d)
    Uun, Ucn = layer.lin_nbr.weight.split(d)
    Wfn = layer.lin_fn.weight
    return Wu, Wf, Wo, Wc, bu, bf, bo, bc, Uu, Uf, Uo, Uc, Uun, Ucn, Wfn


def reference(layer, x, edge_index, confidence, state=None):
    (Wu, Wf, Wo, Wc, bu, bf, bo, bc, Uu, Uf, Uo, Uc, Uun, Ucn,
     Wfn) = _weights(layer)
    n, d = x.size(0), layer.out_channels
    if state is None:
        state = (x.new_zeros(n, d), x.new_zeros(n, d))
    h_old, m_old = state
    nbrs = [set() for _ in range(n)]
    for j, i in edge_index.t().tolist():
        if i != j:
            nbrs[i].add(j)
    conf = confidence if confidence.dim() == 1 else confidence.max(dim=1)[0]
    order = sorted(range(n), key=lambda i: (-float(conf[i]), i))
    h_new, m_new = {}, {}
    for i in order:
        N = sorted(nbrs[i])
        hbar, msum = x.new_zeros(d), x.new_zeros(d)
        for j in N:
            q = j in h_new  # updated earlier
            hbar = hbar + (h_new[j] if q else h_old[j]) / len(N)
            gbar = torch.sigmoid(Wf @ x[i] + Wfn @ h_old[j] + bf)
            msum = msum + gbar * (m_new[j] if q else m_old[j]) / len(N)
        g_u = torch.sigmoid(Wu @ x[i] + Uu @ h_old[i] + Uun @ hbar + bu)
        g_f = torch.sigmoid(Wf @ x[i] + Uf @ h_old[i] + bf)
        g_o = torch.sigmoid(Wo @ x[i] + Uo @ h_old[i] + bo)
        g_c = torch.tanh(Wc @ x[i] + Uc @ h_old[i] + Ucn @ hbar + bc)
        m_new[i] = msum + g_f * m_old[i] + g_u * g_c
        h_new[i] = torch.tanh(g_o * m_new[i])
    if n == 0:
        return x.new_zeros(0, d), x.new_zeros(0, d)
    return (torch.stack([h_new[i] for i in range(n)]),
            torch.stack([m_new[i] for i in range(n)]))


def make(in_channels=5, out_channels=4, **kwargs):
    torch.manual_seed(12345)
    return GraphLSTM(in_channels, out_channels, **kwargs).double()


def random_state(n, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, d, generator=g, dtype=torch.double),
            torch.randn(n, d, generator=g, dtype=torch.double))


def _sparse(n, num_edges, seed, isolated=0):
    # Random undirected edges among the first n - isolated nodes.
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(n - isolated, (2, num_edges), generator=g)
    return to_undirected(ei, num_nodes=n)


GRAPHS = {  # (edge_index, num_nodes)
    'dense': lambda: (erdos_renyi_graph(14, 0.6), 14),
    'sparse': lambda: (_sparse(40, 45, seed=1), 40),
    'grid': lambda: (grid(5, 6)[0], 30),  # 8 neighbours, with self loops
    'isolated': lambda: (_sparse(25, 20, seed=2, isolated=6), 25),
    'tree': lambda: (to_undirected(torch.stack([torch.arange(1, 20),
                                                torch.arange(19) // 2])), 20),
}


def _confidence(n, kind, seed):
    g = torch.Generator().manual_seed(seed)
    if kind == 'distinct':
        return torch.rand(n, generator=g, dtype=torch.double)
    if kind == 'ties':  # few values: many ties, broken by node index
        return torch.randint(3, (n, ), generator=g).double()
    return torch.randn(n, 3, generator=g, dtype=torch.double)  # per label


# Against the reference ######################################################
@pytest.mark.parametrize('name', list(GRAPHS))
@pytest.mark.parametrize('conf', ['distinct', 'ties', 'labels'])
@pytest.mark.parametrize('with_state', [False, True])
def test_matches_reference(name, conf, with_state):
    torch.manual_seed(0)
    edge_index, n = GRAPHS[name]()
    x = torch.randn(n, 5, dtype=torch.double)
    confidence = _confidence(n, conf, seed=3)
    state = random_state(n) if with_state else None
    layer = make()
    h, m = layer(x, edge_index, confidence, state)
    h_ref, m_ref = reference(layer, x, edge_index, confidence, state)
    assert torch.allclose(h, h_ref) and torch.allclose(m, m_ref)


@pytest.mark.parametrize('name', ['dense', 'grid', 'isolated'])
@pytest.mark.parametrize('bias', [True, False])
def test_gradients_match_reference(name, bias):
    torch.manual_seed(1)
    edge_index, n = GRAPHS[name]()
    x = torch.randn(n, 5, dtype=torch.double, requires_grad=True)
    h0, m0 = (s.requires_grad_() for s in random_state(n, seed=4))
    confidence = _confidence(n, 'ties', seed=5)
    layer = make(bias=bias)
    params = list(layer.parameters())
    assert len(params) == 4 + bias
    inputs = [x, h0, m0] + params
    # A loss that weighs every output differently:
    wh, wm = torch.randn(2, n, 4, dtype=torch.double)
    h, m = layer(x, edge_index, confidence, (h0, m0))
    grads = torch.autograd.grad((h * wh).sum() + (m * wm).sum(), inputs)
    h_ref, m_ref = reference(layer, x, edge_index, confidence, (h0, m0))
    ref = torch.autograd.grad((h_ref * wh).sum() + (m_ref * wm).sum(),
                              inputs)
    for g, r in zip(grads, ref):
        assert torch.allclose(g, r)


def test_batch_of_many_graphs():
    torch.manual_seed(2)
    data_list = []
    for k, name in enumerate(['dense', 'sparse', 'grid', 'isolated', 'tree',
                              'sparse']):
        edge_index, n = GRAPHS[name]()
        data_list.append(Data(x=torch.randn(n, 5, dtype=torch.double),
                              edge_index=edge_index,
                              conf=_confidence(n, 'ties', seed=k),
                              h0=random_state(n, seed=k)[0],
                              m0=random_state(n, seed=k)[1]))
    batch = Batch.from_data_list(data_list)
    layer = make()
    x = batch.x.requires_grad_()
    h, m = layer(x, batch.edge_index, batch.conf, (batch.h0, batch.m0))
    h_ref, m_ref = reference(layer, x, batch.edge_index, batch.conf,
                             (batch.h0, batch.m0))
    assert torch.allclose(h, h_ref) and torch.allclose(m, m_ref)
    # Each graph alone gives the same:
    for k, data in enumerate(data_list):
        a, b = int(batch.ptr[k]), int(batch.ptr[k + 1])
        h_k, m_k = layer(data.x, data.edge_index, data.conf,
                         (data.h0, data.m0))
        assert torch.allclose(h[a:b], h_k) and torch.allclose(m[a:b], m_k)
    g = torch.autograd.grad(h.sum() + m.pow(2).sum(), [x] +
                            list(layer.parameters()))
    g_ref = torch.autograd.grad(h_ref.sum() + m_ref.pow(2).sum(), [x] +
                                list(layer.parameters()))
    assert all(torch.allclose(a, b) for a, b in zip(g, g_ref))
    # Far fewer sequential steps than nodes:
    dep = confidence_order(batch.edge_index, batch.conf)
    levels = int(topological_levels(dep, batch.num_nodes).max()) + 1
    assert levels < batch.num_nodes // 4


# The order ##################################################################
def _linear_extension(dep, n, seed):
    # A random topological order of the DAG: another total order that
    # agrees with the first on every edge.
    g = torch.Generator().manual_seed(seed)
    pred = [set() for _ in range(n)]
    for u, v in dep.t().tolist():
        pred[v].add(u)
    done, order = set(), []
    while len(order) < n:
        ready = [v for v in range(n) if v not in done and pred[v] <= done]
        v = ready[int(torch.randint(len(ready), (1, ), generator=g))]
        order.append(v)
        done.add(v)
    conf = torch.empty(n, dtype=torch.double)
    conf[torch.tensor(order)] = -torch.arange(n, dtype=torch.double)
    return conf


@pytest.mark.parametrize('name', ['dense', 'sparse', 'grid'])
def test_orders_that_agree_on_every_edge_agree(name):
    edge_index, n = GRAPHS[name]()
    x = torch.randn(n, 5, dtype=torch.double)
    state = random_state(n, seed=6)
    layer = make()
    conf_a = _confidence(n, 'distinct', seed=7)
    dep = confidence_order(edge_index, conf_a)
    conf_b = _linear_extension(dep, n, seed=8)
    # A different total order ...
    assert not torch.equal(torch.argsort(-conf_a), torch.argsort(-conf_b))
    # ... with the same orientation of every edge:
    assert torch.equal(confidence_order(edge_index, conf_b), dep)
    h_a, m_a = layer(x, edge_index, conf_a, state)
    h_b, m_b = reference(layer, x, edge_index, conf_b, state)
    assert torch.allclose(h_a, h_b) and torch.allclose(m_a, m_b)


@pytest.mark.parametrize('name', ['sparse', 'grid'])
@pytest.mark.parametrize('with_state', [False, True])
def test_swapping_two_consecutive_neighbours_changes_the_output(name,
                                                                 with_state):
    edge_index, n = GRAPHS[name]()
    x = torch.randn(n, 5, dtype=torch.double)
    state = random_state(n, seed=9) if with_state else None
    layer = make()
    conf = _confidence(n, 'distinct', seed=10)
    order = torch.argsort(-conf).tolist()
    adjacent = set(map(tuple, edge_index.t().tolist()))
    k = next(k for k in range(n - 1) if (order[k], order[k + 1]) in adjacent
             and order[k] != order[k + 1])
    u, v = order[k], order[k + 1]
    swapped = conf.clone()
    swapped[u], swapped[v] = conf[v], conf[u]
    h, m = layer(x, edge_index, conf, state)
    h_s, m_s = layer(x, edge_index, swapped, state)
    # Both are right, and they differ at the two nodes:
    h_ref, m_ref = reference(layer, x, edge_index, swapped, state)
    assert torch.allclose(h_s, h_ref) and torch.allclose(m_s, m_ref)
    for i in (u, v):
        assert not torch.allclose(h[i], h_s[i])
        assert not torch.allclose(m[i], m_s[i])


def test_no_gradient_through_the_order():
    edge_index, n = GRAPHS['sparse']()
    x = torch.randn(n, 5, dtype=torch.double)
    conf = torch.rand(n, dtype=torch.double, requires_grad=True)
    h, m = make()(x, edge_index, conf)
    assert not conf.requires_grad or h.grad_fn is not None
    (h.sum() + m.sum()).backward()
    assert conf.grad is None


def test_permutation_equivariance():
    edge_index, n = GRAPHS['grid']()
    x = torch.randn(n, 5, dtype=torch.double)
    conf = _confidence(n, 'labels', seed=11)
    h0, m0 = random_state(n, seed=12)
    layer = make()
    h, m = layer(x, edge_index, conf, (h0, m0))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(13))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(n)  # old id -> new id
    h_p, m_p = layer(x[perm], inv[edge_index], conf[perm],
                     (h0[perm], m0[perm]))
    assert torch.allclose(h_p, h[perm]) and torch.allclose(m_p, m[perm])


def test_state_none_equals_zeros_and_self_loops_and_repeats_ignored():
    edge_index, n = GRAPHS['sparse']()
    x = torch.randn(n, 5, dtype=torch.double)
    conf = _confidence(n, 'ties', seed=14)
    layer = make()
    h, m = layer(x, edge_index, conf)
    zeros = (torch.zeros(n, 4, dtype=torch.double), ) * 2
    h_z, m_z = layer(x, edge_index, conf, zeros)
    assert torch.allclose(h, h_z) and torch.allclose(m, m_z)
    loops = torch.arange(n).repeat(2, 1)
    noisy = torch.cat([edge_index, loops, edge_index[:, :7].flip(0),
                       edge_index[:, :7]], dim=1)
    h_n, m_n = layer(x, noisy, conf)
    assert torch.allclose(h, h_n) and torch.allclose(m, m_n)


def test_stacked_layers():
    edge_index, n = GRAPHS['grid']()
    x = torch.randn(n, 5, dtype=torch.double, requires_grad=True)
    conf = _confidence(n, 'distinct', seed=15)
    first, second = make(), make(5, 4)
    with torch.no_grad():
        for p in second.parameters():
            p.mul_(1.5)
    state = first(x, edge_index, conf)
    h, m = second(x, edge_index, conf, state)
    ref1 = reference(first, x, edge_index, conf)
    h_ref, m_ref = reference(second, x, edge_index, conf, ref1)
    assert torch.allclose(h, h_ref) and torch.allclose(m, m_ref)
    params = [x] + list(first.parameters()) + list(second.parameters())
    g = torch.autograd.grad(h.sum() + m.sum(), params)
    g_ref = torch.autograd.grad(h_ref.sum() + m_ref.sum(), params)
    assert all(torch.allclose(a, b) for a, b in zip(g, g_ref))


def test_gradcheck():
    layer = make(3, 2)
    edge_index = to_undirected(torch.tensor([[0, 1, 2, 3, 0, 5],
                                             [1, 2, 3, 4, 2, 4]]))
    n = 7  # node 6 is isolated
    x = torch.randn(n, 3, dtype=torch.double, requires_grad=True)
    h0, m0 = (s.requires_grad_() for s in random_state(n, 2, seed=16))
    conf = torch.tensor([0.3, 0.9, 0.1, 0.5, 0.7, 0.2, 0.4])
    names = [name for name, _ in layer.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_()
                   for _, p in layer.named_parameters())

    def fn(x, h0, m0, *ps):
        return functional_call(layer, dict(zip(names, ps)),
                               (x, edge_index, conf, (h0, m0)))

    assert torch.autograd.gradcheck(fn, (x, h0, m0) + params)


def test_empty_graph_single_node_and_isolated_nodes():
    layer = make()
    h, m = layer(torch.randn(0, 5, dtype=torch.double),
                 torch.empty(2, 0, dtype=torch.long),
                 torch.empty(0, dtype=torch.double))
    assert h.shape == (0, 4) and m.shape == (0, 4)
    # An isolated node: empty means are zero.
    x = torch.randn(1, 5, dtype=torch.double)
    h0, m0 = random_state(1, seed=17)
    h, m = layer(x, torch.empty(2, 0, dtype=torch.long), torch.zeros(1),
                 (h0, m0))
    Wu, Wf, Wo, Wc, bu, bf, bo, bc, Uu, Uf, Uo, Uc = _weights(layer)[:12]
    g_u = torch.sigmoid(Wu @ x[0] + Uu @ h0[0] + bu)
    g_f = torch.sigmoid(Wf @ x[0] + Uf @ h0[0] + bf)
    g_o = torch.sigmoid(Wo @ x[0] + Uo @ h0[0] + bo)
    g_c = torch.tanh(Wc @ x[0] + Uc @ h0[0] + bc)
    assert torch.allclose(m[0], g_f * m0[0] + g_u * g_c)
    assert torch.allclose(h[0], torch.tanh(g_o * m[0]))


def test_lazy_initialization():
    layer = GraphLSTM(-1, 4)
    assert str(layer) == 'GraphLSTM(-1, 4)'
    edge_index, n = GRAPHS['sparse']()
    h, m = layer(torch.randn(n, 7), edge_index, torch.rand(n))
    assert h.shape == (n, 4) and layer.lin.weight.shape == (16, 7)
    with pytest.raises(ValueError, match="'GraphLSTM' expects 'x' of shape "
                       r"\(num_nodes, in_channels\) with 7 input channels"):
        layer(torch.randn(n, 6), edge_index, torch.rand(n))


def test_save_load():
    layer = make()
    edge_index, n = GRAPHS['grid']()
    x, conf = torch.randn(n, 5, dtype=torch.double), torch.rand(n)
    h, _ = layer(x, edge_index, conf)
    buf = io.BytesIO()
    torch.save(layer.state_dict(), buf)
    buf.seek(0)
    fresh = GraphLSTM(5, 4).double()
    fresh.load_state_dict(torch.load(buf))
    assert torch.allclose(fresh(x, edge_index, conf)[0], h)
    buf = io.BytesIO()
    torch.save(layer, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    assert torch.allclose(loaded(x, edge_index, conf)[0], h)


def test_repr_and_reset_parameters():
    assert str(GraphLSTM(16, 32)) == 'GraphLSTM(16, 32)'
    assert str(GraphLSTM(16, 32, bias=False)) == \
        'GraphLSTM(16, 32, bias=False)'
    layer = GraphLSTM(5, 4)
    before = [p.clone() for p in layer.parameters()]
    layer.reset_parameters()
    assert all(not torch.equal(a, b)
               for a, b in zip(before, layer.parameters()) if a.dim() == 2)


def test_flow_gives_the_same_result():
    edge_index, n = GRAPHS['sparse']()
    x, conf = torch.randn(n, 5, dtype=torch.double), torch.rand(n)
    a = make()
    b = make(flow='target_to_source')
    assert torch.allclose(a(x, edge_index, conf)[0],
                          b(x, edge_index, conf)[0])


# Errors #####################################################################
def test_errors():
    layer = GraphLSTM(3, 4)
    x = torch.randn(4, 3)
    ei = to_undirected(torch.tensor([[0, 1, 2], [1, 2, 3]]))
    conf = torch.rand(4)
    with pytest.raises(ValueError, match=r"'GraphLSTM' expects 'confidence' "
                       r"of shape \(4,\) or \(4, num_labels\).*got \(3,\)"):
        layer(x, ei, torch.rand(3))
    with pytest.raises(ValueError, match=r"'confidence' of shape.*"
                       r"got \(4, 2, 1\)"):
        layer(x, ei, torch.rand(4, 2, 1))
    with pytest.raises(ValueError, match="'GraphLSTM' expects finite "
                       "'confidence' \\(node 2"):
        layer(x, ei, torch.tensor([0.1, 0.2, float('nan'), 0.3]))
    with pytest.raises(ValueError, match="finite 'confidence' \\(node 1"):
        layer(x, ei, torch.tensor([[0.1, 0.], [0.2, float('inf')],
                                   [0., 0.], [0., 0.]]))
    with pytest.raises(ValueError, match="'GraphLSTM' expects an undirected "
                       "'edge_index'.*edge 0 -> 1 has no reverse 1 -> 0.*"
                       "torch_geometric.utils.to_undirected"):
        layer(x, torch.tensor([[0, 1, 2], [1, 2, 1]]), conf)
    with pytest.raises(ValueError, match="'GraphLSTM' found node index 4 .* "
                       "out of range for 4 nodes"):
        layer(x, torch.tensor([[0, 4], [4, 0]]), conf)
    with pytest.raises(TypeError, match="'GraphLSTM' expects 'confidence' "
                       "to be a real-valued"):
        layer(x, ei, torch.ones(4, dtype=torch.bool))
    with pytest.raises(TypeError, match="'GraphLSTM' expects 'confidence' "
                       "to be a torch.Tensor"):
        layer(x, ei, [0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="'GraphLSTM' expects 'state' "
                       r"tensors of shape \(4, 4\)"):
        layer(x, ei, conf, (torch.zeros(4, 4), torch.zeros(3, 4)))
    with pytest.raises(ValueError, match="'GraphLSTM' supports aggr in"):
        GraphLSTM(3, 4, aggr='add')
    with pytest.raises(ValueError, match="'GraphLSTM' expects "
                       "'out_channels' to be a positive integer"):
        GraphLSTM(3, 0)
