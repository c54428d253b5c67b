import io
import random

import pytest
import torch
from torch.func import functional_call
from torch_geometric.data import Batch, Data

from tgr.nn import GraphStructuredLSTM
from tgr.schedule import sibling_order
from tgr.transforms import AddSiblingOrder


# Random threads #############################################################
def random_thread(num_nodes, seed, kind='mixed', num_roots=1, ties=False):
    r"""Reply edges (parent -> child) and times of a random forest."""
    rng = random.Random(seed)
    src, dst = [], []
    for v in range(num_roots, num_nodes):
        if kind == 'chain':
            p = v - 1
        elif kind == 'flat':
            p = 0
        else:
            p = rng.randrange(v)
        src.append(p)
        dst.append(v)
    labels = list(range(num_nodes))
    rng.shuffle(labels)
    edge_index = torch.tensor([[labels[u] for u in src],
                               [labels[v] for v in dst]],
                              dtype=torch.long).view(2, -1)
    if ties:
        time = torch.tensor([float(rng.randrange(4)) for _ in labels])
    else:
        time = torch.randperm(num_nodes,
                              generator=torch.Generator().manual_seed(seed))
        time = time.double()
    return edge_index, time


# Independent reference: comment by comment, from the equations. ############
def relations(edge_index, time, num_nodes):
    parent = {}
    children = {v: [] for v in range(num_nodes)}
    for u, v in edge_index.t().tolist():
        parent[v] = u
        children[u].append(v)
    prev, nxt, first = {}, {}, {}
    for u, kids in children.items():
        kids.sort(key=lambda v: (float(time[v]) if time is not None else 0.,
                                 v))
        if kids:
            first[u] = kids[0]
        for a, b in zip(kids[:-1], kids[1:]):
            prev[b], nxt[a] = a, b
    return parent, prev, first, nxt


def reference_direction(layer, k, x, hier, temp):
    d = layer.out_channels
    W, b = layer.lin[k].weight, layer.lin[k].bias
    if b is None:
        b = W.new_zeros(5 * d)
    R = layer.lin_rec[k].weight
    V, U = R[:, :d], R[:, d:]
    (h0_h, c0_h), (h0_t, c0_t) = [s.split(d) for s in layer.init_state[k]]
    n = x.size(0)
    h, c = [None] * n, [None] * n
    done = 0
    while done < n:
        for t in range(n):
            if h[t] is not None:
                continue
            a, s = hier.get(t), temp.get(t)
            if (a is not None and h[a] is None) or (s is not None
                                                    and h[s] is None):
                continue
            h_pi, c_pi = (h[a], c[a]) if a is not None else (h0_h, c0_h)
            h_p, c_p = (h[s], c[s]) if s is not None else (h0_t, c0_t)
            pre = W @ x[t] + U @ h_p + V @ h_pi + b
            i, f, g, o = [torch.sigmoid(z) for z in pre[:4 * d].split(d)]
            c_tilde = torch.tanh(pre[4 * d:])
            c[t] = f * c_p + g * c_pi + i * c_tilde
            h[t] = o * torch.tanh(c[t])
            done += 1
    return torch.stack(h), torch.stack(c)


def reference(layer, x, edge_index, time):
    parent, prev, first, nxt = relations(edge_index, time, x.size(0))
    hf, cf = reference_direction(layer, 0, x, parent, prev)
    if not layer.bidirectional:
        return hf, cf
    hb, cb = reference_direction(layer, 1, x, first, nxt)
    return torch.cat([hf, hb], 1), torch.cat([cf, cb], 1)


def make(bidirectional=True, bias=True, in_channels=5, out_channels=3):
    torch.manual_seed(7)
    layer = GraphStructuredLSTM(in_channels, out_channels,
                                bidirectional=bidirectional, bias=bias)
    with torch.no_grad():  # learned initial states, not zeros
        layer.init_state.normal_()
    return layer.double()


THREADS = {
    'mixed': dict(num_nodes=60, kind='mixed'),
    'deep_chain': dict(num_nodes=80, kind='chain'),
    'wide_post': dict(num_nodes=200, kind='flat'),
    'ties_in_time': dict(num_nodes=50, kind='mixed', ties=True),
    'forest_of_threads': dict(num_nodes=70, kind='mixed', num_roots=6),
}


@pytest.mark.parametrize('name', THREADS)
@pytest.mark.parametrize('bidirectional', [True, False])
def test_matches_reference(name, bidirectional):
    edge_index, time = random_thread(seed=3, **THREADS[name])
    n = THREADS[name]['num_nodes']
    x = torch.randn(n, 5, dtype=torch.double)
    layer = make(bidirectional)
    h, c = layer(x, edge_index, time=time, return_cell=True)
    h_ref, c_ref = reference(layer, x, edge_index, time)
    assert h.shape == (n, 6 if bidirectional else 3)
    assert torch.allclose(h, h_ref) and torch.allclose(c, c_ref)
    # Without times, siblings follow node index order.
    h = layer(x, edge_index)
    h_ref, _ = reference(layer, x, edge_index, None)
    assert torch.allclose(h, h_ref)


def _closure(deps, t):
    keep, stack = {t}, [t]
    while stack:
        v = stack.pop()
        for u in deps.get(v, []):
            if u not in keep:
                keep.add(u)
                stack.append(u)
    return sorted(keep)


@pytest.mark.parametrize('direction', [0, 1])
def test_closure_property(direction):
    # A comment's state equals its state on the sub-thread it depends on;
    # a wrong schedule (reading a state before it is final) breaks this.
    n = 70
    edge_index, time = random_thread(n, seed=11)
    x = torch.randn(n, 5, dtype=torch.double)
    layer = make(bidirectional=True)
    h = layer(x, edge_index, time=time)
    sib = sibling_order(edge_index, n, time)
    parent, prev, first, nxt = relations(edge_index, time, n)
    rels = (parent, prev) if direction == 0 else (first, nxt)
    deps = {v: [r[v] for r in rels if v in r] for v in range(n)}
    cols = slice(0, 3) if direction == 0 else slice(3, 6)
    for t in random.Random(0).sample(range(n), 12):
        keep = _closure(deps, t)
        new = {v: i for i, v in enumerate(keep)}

        def sub(ei):
            pairs = [(new[u], new[v]) for u, v in ei.t().tolist()
                     if u in new and v in new]
            return torch.tensor(pairs, dtype=torch.long).view(-1, 2).t()

        h_sub = layer(x[keep], sub(edge_index), sibling_index=sub(sib))
        assert torch.allclose(h_sub[new[t], cols], h[t, cols])


def test_batch_equals_each_thread_alone():
    layer = make()
    data_list = []
    for i, n in enumerate([1, 6, 25, 40]):
        ei, time = random_thread(n, seed=i, ties=True)
        data_list.append(AddSiblingOrder()(Data(
            x=torch.randn(n, 5, dtype=torch.double), edge_index=ei,
            time=time, num_nodes=n)))
    batch = Batch.from_data_list(data_list)
    h = layer(batch.x, batch.edge_index, sibling_index=batch.sibling_index,
              level=batch.level, rev_level=batch.rev_level)
    h2 = layer(batch.x, batch.edge_index, time=batch.time)
    assert torch.allclose(h, h2)
    for i, data in enumerate(data_list):
        h_i = layer(data.x, data.edge_index, time=data.time)
        assert torch.allclose(h[batch.batch == i], h_i)


def test_permutation_equivariance():
    n = 50
    edge_index, time = random_thread(n, seed=5)  # distinct times
    x = torch.randn(n, 5, dtype=torch.double)
    layer = make()
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(1))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(n)
    h = layer(x, edge_index, time=time)
    hp = layer(x[perm], inv[edge_index], time=time[perm])
    assert torch.allclose(hp, h[perm])


def test_gradcheck():
    layer = make(in_channels=2, out_channels=2)
    edge_index, time = random_thread(7, seed=2, num_roots=2)
    x = torch.randn(7, 2, dtype=torch.double, requires_grad=True)
    names = [name for name, _ in layer.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_()
                   for _, p in layer.named_parameters())

    def fn(x, *ps):
        return functional_call(layer, dict(zip(names, ps)), (x, edge_index),
                               {'time': time, 'return_cell': True})

    assert torch.autograd.gradcheck(fn, (x, ) + params, fast_mode=True)


def test_empty_and_single_node():
    layer = make()
    h = layer(torch.randn(0, 5, dtype=torch.double),
              torch.empty(2, 0, dtype=torch.long))
    assert h.shape == (0, 6)
    x = torch.randn(1, 5, dtype=torch.double)
    h = layer(x, torch.empty(2, 0, dtype=torch.long))
    h_ref, _ = reference(layer, x, torch.empty(2, 0, dtype=torch.long), None)
    assert torch.allclose(h, h_ref)


def test_lazy_repr_save_load():
    layer = GraphStructuredLSTM(-1, 4)
    assert str(layer) == 'GraphStructuredLSTM(-1, 4)'
    assert str(GraphStructuredLSTM(3, 4, bidirectional=False, bias=False)) \
        == 'GraphStructuredLSTM(3, 4, bidirectional=False, bias=False)'
    edge_index, time = random_thread(9, seed=1)
    x = torch.randn(9, 6)
    h = layer(x, edge_index, time=time)
    assert h.shape == (9, 8)
    buf = io.BytesIO()
    torch.save(layer, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    assert torch.allclose(loaded(x, edge_index, time=time), h)


def test_errors():
    layer = GraphStructuredLSTM(3, 4)
    x = torch.randn(4, 3)
    with pytest.raises(ValueError, match="'GraphStructuredLSTM' expects a "
                       "forest, but node 2 has 2 parents"):
        layer(x, torch.tensor([[0, 1], [2, 2]]))
    with pytest.raises(ValueError, match="'GraphStructuredLSTM' expects an "
                       "acyclic graph"):
        layer(x, torch.tensor([[0, 1, 2], [1, 2, 0]]))
    with pytest.raises(ValueError, match=r"'time' of shape \(4,\)"):
        layer(x, torch.tensor([[0], [1]]), time=torch.zeros(3))
    with pytest.raises(ValueError, match='out of range for 4 nodes'):
        layer(x, torch.tensor([[0], [4]]))
    with pytest.raises(TypeError, match='floating-point'):
        layer(x.long(), torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match='levels that do not fit'):
        layer(x, torch.tensor([[0], [1]]), level=torch.tensor([1, 0, 0, 0]))


def test_gradients_match_reference():
    n = 40
    edge_index, time = random_thread(n, seed=4, num_roots=3, ties=True)
    layer = make()
    x = torch.randn(n, 5, dtype=torch.double, requires_grad=True)
    w = torch.randn(n, 6, dtype=torch.double)

    def loss(h, c):
        return (h * w).sum() + c.pow(2).sum()

    loss(*layer(x, edge_index, time=time, return_cell=True)).backward()
    grads = [x.grad.clone()] + [p.grad.clone() for p in layer.parameters()]
    x.grad = None
    layer.zero_grad()
    loss(*reference(layer, x, edge_index, time)).backward()
    ref = [x.grad] + [p.grad for p in layer.parameters()]
    for g, r in zip(grads, ref):
        assert torch.allclose(g, r)


def test_aggr_and_flow_other_than_default_are_refused():
    with pytest.raises(ValueError, match=r"supports aggr in \('add',\)"):
        GraphStructuredLSTM(3, 4, aggr='max')
    with pytest.raises(ValueError, match="'GraphStructuredLSTM' expects "
                       "'flow' to be 'source_to_target' .*edge_index.flip"):
        GraphStructuredLSTM(3, 4, flow='target_to_source')


def test_sibling_links_are_checked():
    # 0 -> {1, 2}, 1 -> {3, 4}; 5 is another root.
    edge_index = torch.tensor([[0, 0, 1, 1], [1, 2, 3, 4]])
    x = torch.randn(6, 3)
    layer = GraphStructuredLSTM(3, 4)
    layer(x, edge_index, sibling_index=torch.tensor([[1, 3, 0], [2, 4, 5]]))
    with pytest.raises(ValueError, match=r"link 0 goes from node 2 \(parent:"
                       r" node 0\) to node 3 \(parent: node 1\)"):
        layer(x, edge_index, sibling_index=torch.tensor([[2], [3]]))
    with pytest.raises(ValueError, match=r"node 1 \(parent: node 0\) to "
                       r"node 5 \(parent: a root\)"):
        layer(x, edge_index, sibling_index=torch.tensor([[1], [5]]))
    with pytest.raises(ValueError, match="link from node 3 to itself"):
        layer(x, edge_index, sibling_index=torch.tensor([[3], [3]]))
    with pytest.raises(ValueError, match="node 1 with 2 next siblings"):
        layer(x, torch.tensor([[0, 0, 0], [1, 2, 3]]),
              sibling_index=torch.tensor([[1, 1], [2, 3]]))
    with pytest.raises(ValueError, match="acyclic"):
        layer(x, edge_index, sibling_index=torch.tensor([[1, 2], [2, 1]]))


def test_self_loop_is_named():
    with pytest.raises(ValueError, match="node 3 has a self loop"):
        GraphStructuredLSTM(3, 4)(torch.randn(5, 3),
                                  torch.tensor([[0, 0, 3], [1, 3, 3]]))
