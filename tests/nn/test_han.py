import copy
import io

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Batch, HeteroData
from torch_geometric.nn import GATConv

from tgr.nn import HAN
from tgr.nn.han import _attention_gather, _attention_spmm, _prepare
from tgr.transforms import AddMetaPathGraphs
from tgr.utils import metapath_edge_type

# Meta-paths given as edge types of the input: two paper -> paper graphs,
# a bipartite author -> paper one and a paper -> author one.
PAP, PSP = ('paper', 'pap', 'paper'), ('paper', 'psp', 'paper')
AP, PA = ('author', 'writes', 'paper'), ('paper', 'written_by', 'author')
METAPATHS = [PAP, PSP, AP, PA]
SIZES = {'paper': 9, 'author': 6, 'subject': 3}
CHANNELS = {'paper': 5, 'author': 4, 'subject': 3}


def random_edges(gen, n_src, n_dst, num_edges, unique=True):
    src = torch.randint(0, n_src, (num_edges, ), generator=gen)
    dst = torch.randint(0, n_dst, (num_edges, ), generator=gen)
    edge_index = torch.stack([src, dst])
    return edge_index.unique(dim=1) if unique else edge_index


def hetero_graph(seed=0, sizes=SIZES, dtype=torch.double):
    gen = torch.Generator().manual_seed(seed)
    data = HeteroData()
    for t, n in sizes.items():
        data[t].x = torch.randn(n, CHANNELS[t], generator=gen, dtype=dtype)
    p, a, s = sizes['paper'], sizes['author'], sizes['subject']
    data[PAP].edge_index = random_edges(gen, p, p, 3 * p)
    data[PSP].edge_index = random_edges(gen, p, p, 2 * p)
    # Authors 0 and 1 write nothing, so the last papers may have no author.
    data[AP].edge_index = random_edges(gen, a - 2, p, 2 * p) + \
        torch.tensor([[2], [0]])
    data[PA].edge_index = data[AP].edge_index.flip(0)
    # Raw edge types for meta-paths given as sequences (with repeats):
    data['paper', 'to', 'author'].edge_index = random_edges(
        gen, p, a, 3 * p, unique=False)
    data['author', 'to', 'paper'].edge_index = \
        data['paper', 'to', 'author'].edge_index.flip(0)
    data['paper', 'in', 'subject'].edge_index = torch.stack(
        [torch.arange(p), torch.randint(0, s, (p, ), generator=gen)])
    data['subject', 'has', 'paper'].edge_index = \
        data['paper', 'in', 'subject'].edge_index.flip(0)
    return data


def make(metapaths=METAPATHS, heads=3, out_channels=4, seed=12345, **kw):
    torch.manual_seed(seed)
    kw.setdefault('dropout', 0.0)
    layer = HAN(CHANNELS, out_channels, (list(SIZES), metapaths), heads=heads,
                semantic_channels=6, **kw)
    if layer.bias is not None:  # zeros at first: make them count
        for b in layer.bias.values():
            torch.nn.init.normal_(b)
    return layer.double().eval()


def dense_reference(layer, x_dict, edge_index_dict, beta_dict=None):
    # The equations of the docstring with dense matrices, in float64.
    H, C = layer.heads, layer.out_channels
    zs, alphas = {}, {}
    for key, edge_type, _ in layer.metapaths:
        s, d = edge_type[0], edge_type[-1]
        # M_type(j) h_j, or M_Phi h_j with projection='metapath':
        proj = layer.proj if layer.projection == 'type' else layer.proj[key]
        h = {t: proj[t](x_dict[t]).view(-1, H, C) for t in (s, d)}
        n_s, n_d = h[s].size(0), h[d].size(0)
        adj = torch.zeros(n_d, n_s, dtype=torch.bool)
        src, dst = edge_index_dict[edge_type]
        adj[dst, src] = True
        if layer.add_self_loops and s == d:
            adj.fill_diagonal_(True)
        heads = []
        alpha_k = []
        for k in range(H):
            a_src = layer.att_src[key][0, k]
            a_dst = layer.att_dst[key][0, k]
            e = F.leaky_relu((h[d][:, k] @ a_dst)[:, None] +
                             (h[s][:, k] @ a_src)[None, :],
                             layer.negative_slope)
            e = e.masked_fill(~adj, float('-inf'))
            alpha = torch.softmax(e, dim=1).nan_to_num(0.0)  # no neighbour
            alpha_k.append(alpha)
            b = 0 if layer.bias is None else layer.bias[key].view(H, C)[k]
            heads.append(F.elu(alpha @ h[s][:, k] + b))
        zs.setdefault(d, []).append(torch.cat(heads, dim=1))
        alphas[edge_type] = torch.stack(alpha_k, dim=-1)  # (N_d, N_s, H)
    out, betas = {}, {}
    for t, z in zs.items():
        if beta_dict is None:
            w = torch.stack([
                (torch.tanh(zp @ layer.k_lin.weight.t() + layer.k_lin.bias)
                 @ layer.q[0]).mean() for zp in z
            ])
            beta = torch.softmax(w, dim=0)
        else:
            beta = beta_dict[t]
        out[t] = sum(b * zp for b, zp in zip(beta, z))
        betas[t] = beta
    return out, betas, alphas


@pytest.mark.parametrize('add_self_loops', [True, False])
@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('projection', ['type', 'metapath'])
def test_matches_dense_reference_values_and_gradients(add_self_loops, bias,
                                                      projection):
    data = hetero_graph()
    layer = make(add_self_loops=add_self_loops, bias=bias,
                 projection=projection)
    x_dict = {t: x.clone().requires_grad_() for t, x in data.x_dict.items()}
    out, beta = layer(x_dict, data.edge_index_dict, True)
    ref, ref_beta, _ = dense_reference(layer, x_dict, data.edge_index_dict)
    assert out['subject'] is None and beta['subject'] is None
    assert set(ref) == {'paper', 'author'}
    gen = torch.Generator().manual_seed(1)
    loss, ref_loss = 0, 0
    for t in ref:
        assert out[t].shape == (SIZES[t], 3 * 4)
        torch.testing.assert_close(out[t], ref[t])
        torch.testing.assert_close(beta[t], ref_beta[t])
        w = torch.randn(out[t].shape, generator=gen, dtype=torch.double)
        loss = loss + (out[t] * w).sum()
        ref_loss = ref_loss + (ref[t] * w).sum()
    inputs = [x_dict['paper'], x_dict['author']] + list(layer.parameters())
    grads = torch.autograd.grad(loss, inputs)
    ref_grads = torch.autograd.grad(ref_loss, inputs)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r)


def test_gradcheck():
    data = hetero_graph(sizes={'paper': 5, 'author': 4, 'subject': 2})
    layer = make(heads=2, out_channels=2)
    x_p = data['paper'].x.clone().requires_grad_()
    x_a = data['author'].x.clone().requires_grad_()

    def f(x_p, x_a):
        out = layer({'paper': x_p, 'author': x_a}, data.edge_index_dict)
        return out['paper'], out['author']

    assert torch.autograd.gradcheck(f, (x_p, x_a))


def test_sparse_aggregation_equals_gathered_messages():
    gen = torch.Generator().manual_seed(3)
    graph = _prepare(random_edges(gen, 7, 5, 20, unique=False), (7, 5), False)
    E = graph.edge_index.size(1)
    alpha = torch.rand(E, 3, dtype=torch.double, generator=gen)
    x = torch.randn(7, 3, 2, dtype=torch.double, generator=gen)
    alpha.requires_grad_()
    x.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, x: _attention_spmm(a, x, graph), (alpha, x))
    out = _attention_spmm(alpha, x, graph)
    ref = _attention_gather(alpha, x, graph)
    torch.testing.assert_close(out, ref)
    w = torch.randn(out.shape, generator=gen, dtype=torch.double)
    torch.testing.assert_close(
        torch.autograd.grad((out * w).sum(), (alpha, x)),
        torch.autograd.grad((ref * w).sum(), (alpha, x)))


def test_one_metapath_one_head_is_gat():
    data = hetero_graph()
    layer = make([PAP], heads=1)
    gat = GATConv(CHANNELS['paper'], 4, heads=1).double()
    with torch.no_grad():
        gat.lin.weight.copy_(layer.proj['paper'].weight)
        gat.bias.copy_(layer.bias['paper__pap__paper'])
        gat.att_src.copy_(layer.att_src['paper__pap__paper'])
        gat.att_dst.copy_(layer.att_dst['paper__pap__paper'])
    x, edge_index = data['paper'].x, data[PAP].edge_index
    out, beta = layer({'paper': x}, {PAP: edge_index}, True)
    torch.testing.assert_close(out['paper'], F.elu(gat(x, edge_index)))
    assert beta['paper'].tolist() == [1.0]


def test_metapath_projection_is_a_gatconv_per_metapath():
    # DGL's HAN example: one GATConv per meta-path (bipartite ones with
    # their own source and destination projections), an ELU, then the
    # semantic attention over the meta-paths that end at a type.
    data = hetero_graph()
    layer = make(projection='metapath')
    out, beta = layer(data.x_dict, data.edge_index_dict, True)
    zs = {}
    for key, (s, rel, d), _ in layer.metapaths:
        proj = layer.proj[key]
        gat = GATConv((CHANNELS[s], CHANNELS[d]) if s != d else CHANNELS[s],
                      4, heads=3, add_self_loops=s == d).double()
        with torch.no_grad():
            if s == d:
                gat.lin.weight.copy_(proj[s].weight)
            else:
                gat.lin_src.weight.copy_(proj[s].weight)
                gat.lin_dst.weight.copy_(proj[d].weight)
            gat.bias.copy_(layer.bias[key])
            gat.att_src.copy_(layer.att_src[key])
            gat.att_dst.copy_(layer.att_dst[key])
        x = data[s].x if s == d else (data[s].x, data[d].x)
        zs.setdefault(d, []).append(F.elu(gat(
            x, data[s, rel, d].edge_index, size=(SIZES[s], SIZES[d]))))
    for t, z in zs.items():
        z = torch.stack(z)
        w = (torch.tanh(layer.k_lin(z)) * layer.q).sum(-1).mean(-1)
        ref_beta = torch.softmax(w, dim=0)
        torch.testing.assert_close(beta[t], ref_beta)
        torch.testing.assert_close(out[t], (ref_beta[:, None, None] *
                                            z).sum(0))
    # One projection matrix per meta-path (two for bipartite ones):
    assert [(key, list(proj)) for key, proj in layer.proj.items()] == [
        ('paper__pap__paper', ['paper']), ('paper__psp__paper', ['paper']),
        ('author__writes__paper', ['author', 'paper']),
        ('paper__written_by__author', ['paper', 'author'])]


@pytest.mark.parametrize('projection', ['type', 'metapath'])
def test_input_dropout_per_type_or_per_metapath(projection):
    # Two meta-paths over the same graph with the same parameters: their
    # coefficients (returned before attention dropout) see the same dropped
    # inputs with one projection per type, independent ones per meta-path.
    data = hetero_graph()
    twin = ('paper', 'pap2', 'paper')
    edge_index_dict = {PAP: data[PAP].edge_index,
                       twin: data[PAP].edge_index}
    layer = HAN(CHANNELS, 4, (['paper'], [PAP, twin]), heads=2,
                projection=projection, dropout=0.5).double()
    keys = ['paper__pap__paper', 'paper__pap2__paper']
    with torch.no_grad():
        for params in (layer.att_src, layer.att_dst, layer.bias):
            params[keys[1]].copy_(params[keys[0]])
    if projection == 'metapath':
        layer.proj[keys[1]].load_state_dict(layer.proj[keys[0]].state_dict())
    alpha = layer(data.x_dict, edge_index_dict,
                  return_attention_weights=True)[1]
    same = torch.allclose(alpha[PAP][1], alpha[twin][1])
    assert same == (projection == 'type')
    alpha = layer.eval()(data.x_dict, edge_index_dict,
                         return_attention_weights=True)[1]
    torch.testing.assert_close(alpha[PAP][1], alpha[twin][1])


def test_alpha_sums_to_one_per_node_and_beta_per_type():
    data = hetero_graph()
    layer = make()
    out, beta, alpha = layer(data.x_dict, data.edge_index_dict, True, True)
    assert set(alpha) == set(METAPATHS)
    for edge_type, (edge_index, a) in alpha.items():
        n_dst = SIZES[edge_type[-1]]
        assert a.shape == (edge_index.size(1), 3)
        sums = torch.zeros(n_dst, 3, dtype=a.dtype).index_add_(
            0, edge_index[1], a)
        has_edge = torch.zeros(n_dst, dtype=torch.bool)
        has_edge[edge_index[1]] = True
        torch.testing.assert_close(sums[has_edge],
                                   torch.ones_like(sums[has_edge]))
        if edge_type[0] == edge_type[-1]:  # one self loop per node
            loops = edge_index[:, edge_index[0] == edge_index[1]]
            assert loops[0].sort().values.tolist() == list(range(n_dst))
    assert not bool(has_edge.all())  # the bipartite paper -> author case
    for t in ('paper', 'author'):
        assert torch.isclose(beta[t].sum(), torch.tensor(1.0).double())
    assert beta['paper'].shape == (3, ) and beta['author'].shape == (1, )
    # The node-level coefficients are the dense reference's:
    _, _, ref = dense_reference(layer, data.x_dict, data.edge_index_dict)
    for edge_type, (edge_index, a) in alpha.items():
        torch.testing.assert_close(a, ref[edge_type][edge_index[1],
                                                     edge_index[0]])


SEQUENCES = [  # by pairs, by triples, and a longer one
    [('paper', 'subject'), ('subject', 'paper')],
    [('paper', 'to', 'author'), ('author', 'to', 'paper')],
    [('paper', 'to', 'author'), ('author', 'to', 'paper'),
     ('paper', 'subject'), ('subject', 'has', 'paper')],
]


def test_sequences_equal_edge_types():
    data = hetero_graph()
    layer = make(SEQUENCES)
    out, beta, alpha = layer(data.x_dict, data.edge_index_dict, True, True)
    transform = AddMetaPathGraphs(SEQUENCES, drop_orig_edge_types=True)
    meta = transform(copy.copy(data))
    edge_types = [metapath_edge_type(mp) for mp in SEQUENCES]
    assert meta.edge_types == edge_types
    assert edge_types[0] == ('paper', 'paper_subject_paper', 'paper')
    assert edge_types[1] == ('paper', 'paper_to_author_to_paper', 'paper')
    # The same parameters under the same keys:
    other = HAN(CHANNELS, 4, meta.metadata(), heads=3, semantic_channels=6,
                dropout=0.0).double().eval()
    other.load_state_dict(layer.state_dict())
    out2, beta2, alpha2 = other(meta.x_dict, meta.edge_index_dict, True,
                                True)
    torch.testing.assert_close(out['paper'], out2['paper'])
    torch.testing.assert_close(beta['paper'], beta2['paper'])
    for edge_type in edge_types:
        assert torch.equal(alpha[edge_type][0], alpha2[edge_type][0])
        torch.testing.assert_close(alpha[edge_type][1], alpha2[edge_type][1])


def test_graphs_are_cached_until_the_input_changes():
    data = hetero_graph()
    layer = make(SEQUENCES[:1])
    edge_index_dict = data.edge_index_dict
    out = layer(data.x_dict, edge_index_dict)['paper']
    key = 'paper__paper_subject_paper__paper'
    graph = layer._cache[key][3]
    layer(data.x_dict, edge_index_dict)
    assert layer._cache[key][3] is graph
    # An in-place change of a step's edges rebuilds the meta-path graph:
    edge_index_dict['paper', 'in', 'subject'][1, :4] = 0
    out2 = layer(data.x_dict, edge_index_dict)['paper']
    assert layer._cache[key][3] is not graph
    assert not torch.allclose(out, out2)
    fresh = make(SEQUENCES[:1])
    torch.testing.assert_close(out2,
                               fresh(data.x_dict, edge_index_dict)['paper'])


def _sampled_batch(data, seeds, edge_types):
    # What NeighborLoader with num_neighbors=[-1] and one hop returns: the
    # seeds first, then their in-neighbours, and the edges into the seeds.
    n = data['paper'].num_nodes
    into = torch.zeros(n, dtype=torch.bool)
    into[seeds] = True
    nodes = seeds.tolist()
    for et in edge_types:
        src, dst = data[et].edge_index
        for j in src[into[dst]].tolist():
            if j not in nodes:
                nodes.append(j)
    n_id = torch.tensor(nodes)
    new = torch.full((n, ), -1)
    new[n_id] = torch.arange(len(nodes))
    batch = HeteroData()
    batch['paper'].x = data['paper'].x[n_id]
    for et in edge_types:
        src, dst = data[et].edge_index
        keep = into[dst]
        batch[et].edge_index = torch.stack([new[src[keep]], new[dst[keep]]])
    return batch, n_id


def test_sampled_batch_equals_full_graph_on_seed_nodes():
    data = hetero_graph(sizes={'paper': 40, 'author': 12, 'subject': 4})
    meta = AddMetaPathGraphs(SEQUENCES[:2], drop_orig_edge_types=True)(data)
    edge_types = meta.edge_types
    layer = HAN(CHANNELS['paper'], 4, (['paper'], edge_types), heads=2,
                semantic_channels=6).double().eval()
    full, beta = layer(meta.x_dict, meta.edge_index_dict, True)
    seeds = torch.tensor([3, 17, 0, 25])
    batch, n_id = _sampled_batch(meta, seeds, edge_types)
    assert batch['paper'].num_nodes < 40
    out = layer(batch.x_dict, batch.edge_index_dict,
                semantic_attention_weights=beta)
    torch.testing.assert_close(out['paper'][:4], full['paper'][seeds])
    # Without beta, the batch averages the semantic scores over its nodes:
    out = layer(batch.x_dict, batch.edge_index_dict)
    assert not torch.allclose(out['paper'][:4], full['paper'][seeds])


@pytest.mark.filterwarnings(
    "ignore:Using 'NeighborSampler' without a 'pyg-lib':UserWarning")
def test_neighbor_loader_equals_full_graph_on_seed_nodes():
    from torch_geometric.loader import NeighborLoader
    from torch_geometric.typing import WITH_PYG_LIB, WITH_TORCH_SPARSE
    if not (WITH_PYG_LIB or WITH_TORCH_SPARSE):
        pytest.skip("NeighborLoader needs 'pyg-lib' or 'torch-sparse'")
    data = hetero_graph(sizes={'paper': 40, 'author': 12, 'subject': 4})
    meta = AddMetaPathGraphs(SEQUENCES[:2], drop_orig_edge_types=True,
                             drop_unconnected_node_types=True)(data)
    layer = HAN(-1, 4, meta.metadata(), heads=2).double().eval()
    full, beta = layer(meta.x_dict, meta.edge_index_dict, True)
    loader = NeighborLoader(meta, num_neighbors=[-1],
                            input_nodes=('paper', torch.arange(40)),
                            batch_size=7)
    seen = 0
    for batch in loader:
        out = layer(batch.x_dict, batch.edge_index_dict,
                    semantic_attention_weights=beta)
        size = batch['paper'].batch_size
        n_id = batch['paper'].n_id[:size]
        torch.testing.assert_close(out['paper'][:size], full['paper'][n_id])
        seen += size
    assert seen == 40


def test_batch_of_graphs_with_fixed_beta_equals_each_graph():
    graphs = [hetero_graph(seed) for seed in range(3)]
    layer = make()
    beta = {'paper': torch.tensor([0.2, 0.5, 0.3]).double(),
            'author': torch.tensor([1.0]).double()}
    batch = Batch.from_data_list(graphs)
    out = layer(batch.x_dict, batch.edge_index_dict,
                semantic_attention_weights=beta)
    for t in ('paper', 'author'):
        alone = torch.cat([layer(g.x_dict, g.edge_index_dict,
                                 semantic_attention_weights=beta)[t]
                           for g in graphs])
        torch.testing.assert_close(out[t], alone)


def test_permutation_equivariance():
    data = hetero_graph()
    layer = make()
    out = layer(data.x_dict, data.edge_index_dict)
    perm = {t: torch.randperm(n, generator=torch.Generator().manual_seed(5))
            for t, n in SIZES.items()}
    inv = {t: torch.empty_like(p).scatter_(0, p, torch.arange(len(p)))
           for t, p in perm.items()}
    x_dict = {t: x[perm[t]] for t, x in data.x_dict.items()}
    edge_index_dict = {
        et: torch.stack([inv[et[0]][ei[0]], inv[et[-1]][ei[1]]])
        for et, ei in data.edge_index_dict.items()
    }
    out2 = layer(x_dict, edge_index_dict)
    for t in ('paper', 'author'):
        torch.testing.assert_close(out2[t], out[t][perm[t]])


def test_dropout_on_inputs_and_attention():
    data = hetero_graph()
    layer = make(dropout=0.5).train()
    torch.manual_seed(0)
    a = layer(data.x_dict, data.edge_index_dict)['paper']
    b = layer(data.x_dict, data.edge_index_dict)['paper']
    assert not torch.allclose(a, b)
    layer.dropout = 0.0
    torch.testing.assert_close(
        layer(data.x_dict, data.edge_index_dict)['paper'],
        layer.eval()(data.x_dict, data.edge_index_dict)['paper'])


def test_empty_and_lonely_nodes():
    data = hetero_graph()
    layer = make()
    x_dict = dict(data.x_dict, paper=data['paper'].x[:0],
                  author=data['author'].x[:1])
    edge_index_dict = {et: torch.empty(2, 0, dtype=torch.long)
                       for et in METAPATHS}
    out, beta = layer(x_dict, edge_index_dict, True)
    assert out['paper'].shape == (0, 12) and out['author'].shape == (1, 12)
    # An author without papers aggregates nothing: ELU(b), as GATConv.
    torch.testing.assert_close(
        out['author'][0], F.elu(layer.bias['paper__written_by__author']))
    torch.testing.assert_close(beta['paper'],
                               torch.full((3, ), 1 / 3).double())


@pytest.mark.parametrize('projection', ['type', 'metapath'])
def test_lazy_initialization_and_state_dict_round_trip(projection):
    data = hetero_graph()
    torch.manual_seed(0)
    layer = HAN(-1, 4, data.metadata()[:1] + ([PAP, AP], ), heads=2,
                dropout=0.0, projection=projection).double()
    out = layer(data.x_dict, data.edge_index_dict)['paper']
    proj = layer.proj if projection == 'type' else layer.proj[
        'author__writes__paper']
    assert proj['paper'].weight.shape == (8, 5)
    assert proj['author'].weight.shape == (8, 4)
    buffer = io.BytesIO()
    torch.save(layer.state_dict(), buffer)
    buffer.seek(0)
    other = HAN({'paper': 5, 'author': 4}, 4, (list(SIZES), [PAP, AP]),
                heads=2, dropout=0.0, projection=projection).double()
    other.load_state_dict(torch.load(buffer))
    torch.testing.assert_close(other(data.x_dict,
                                     data.edge_index_dict)['paper'], out)
    # The whole module pickles without its cache of prepared graphs:
    buffer = io.BytesIO()
    torch.save(layer, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert loaded._cache == {} and layer._cache
    torch.testing.assert_close(loaded(data.x_dict,
                                      data.edge_index_dict)['paper'], out)


@pytest.mark.parametrize('backend', ['aot_eager'])
@pytest.mark.parametrize('projection', ['type', 'metapath'])
def test_torch_compile_equals_eager(backend, projection):
    # aot_eager traces the layer (custom ops through their fake kernels) and
    # its backward as inductor does, without inductor's slow code generation.
    data = hetero_graph(dtype=torch.float)
    layer = make(projection=projection).float()
    compiled = torch.compile(layer, backend=backend)
    x_dict = {t: x.requires_grad_() for t, x in data.x_dict.items()}
    for fn in (layer, compiled):
        out = fn(x_dict, data.edge_index_dict)
        loss = out['paper'].square().sum() + out['author'].sum()
        grads = torch.autograd.grad(loss, [x_dict['paper']] +
                                    list(layer.parameters()))
        if fn is layer:
            ref, ref_grads = out, grads
    for t in ('paper', 'author'):
        torch.testing.assert_close(out[t], ref[t])
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r)


@pytest.mark.parametrize('projection', ['type', 'metapath'])
def test_bf16_autocast_forward_backward(projection):
    data = hetero_graph(dtype=torch.float)
    layer = make(projection=projection).float()
    ref = layer(data.x_dict, data.edge_index_dict)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = layer(data.x_dict, data.edge_index_dict)
    (out['paper'].float().sum() + out['author'].float().sum()).backward()
    for t in ('paper', 'author'):
        assert torch.isfinite(out[t].float()).all()
        torch.testing.assert_close(out[t].float(), ref[t], atol=5e-2,
                                   rtol=5e-2)
    for p in layer.parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all()


def test_repr():
    layer = make()
    assert str(layer) == ("HAN({'paper': 5, 'author': 4, 'subject': 3}, 4, "
                          "heads=3, metapaths=['pap', 'psp', 'writes', "
                          "'written_by'])")
    assert str(HAN(-1, 8, (['paper'], SEQUENCES[:1]))) == (
        "HAN(-1, 8, heads=8, metapaths=['paper_subject_paper'])")
    assert str(HAN(-1, 8, (['paper'], [PAP]), projection='metapath')) == (
        "HAN(-1, 8, heads=8, metapaths=['pap'], projection='metapath')")


def test_errors():
    data = hetero_graph()
    nodes = list(SIZES)
    with pytest.raises(ValueError, match="'HAN' expects the edge types of "
                       "meta-path .* to chain"):
        HAN(-1, 4, (nodes, [[('paper', 'author'), ('paper', 'author')]]))
    with pytest.raises(ValueError, match="node type 'venue'"):
        HAN(-1, 4, (nodes, [('venue', 'to', 'paper')]))
    with pytest.raises(TypeError, match="'HAN' expects a meta-path"):
        HAN(-1, 4, (nodes, [('paper', 1, 'paper')]))
    with pytest.raises(ValueError, match='supports only aggr'):
        HAN(-1, 4, (nodes, [PAP]), aggr='mean')
    with pytest.raises(ValueError, match="'heads' to be a positive"):
        HAN(-1, 4, (nodes, [PAP]), heads=0)
    with pytest.raises(ValueError, match='twice'):
        HAN(-1, 4, (nodes, [PAP, PAP]))
    with pytest.raises(ValueError, match="'HAN' expects 'projection' to be "
                       "'type' or 'metapath' \\(got 'node'\\)"):
        HAN(-1, 4, (nodes, [PAP]), projection='node')
    # Unknown edge types, at the first call:
    layer = HAN(-1, 4, (nodes, [('paper', 'cites', 'paper')]))
    with pytest.raises(ValueError, match=r"found no edge type \('paper', "
                       r"'cites', 'paper'\)"):
        layer(data.x_dict, data.edge_index_dict)
    layer = HAN(-1, 4, (nodes, [[('paper', 'venue'), ('venue', 'paper')]]))
    with pytest.raises(ValueError, match="found no edge type from 'paper' "
                       "to 'venue'"):
        layer(data.x_dict, data.edge_index_dict)
    edge_index_dict = dict(data.edge_index_dict)
    edge_index_dict['paper', 'again', 'author'] = edge_index_dict[PA]
    layer = HAN(-1, 4, (nodes, [[('subject', 'paper'), ('paper', 'author')]]))
    with pytest.raises(ValueError, match="more than one edge type from "
                       "'paper' to 'author'"):
        layer(data.x_dict, edge_index_dict)
    # Features missing for a type at an end of a meta-path:
    layer = make()
    with pytest.raises(ValueError, match="'HAN' expects features of node "
                       "type 'author' in 'x_dict'"):
        layer({'paper': data['paper'].x}, data.edge_index_dict)
    with pytest.raises(ValueError, match="'HAN' expects 'x' of shape "
                       r"\(num_nodes, 5\) for node type 'paper'"):
        layer(dict(data.x_dict, paper=data['paper'].x[:, :3]),
              data.edge_index_dict)
    with pytest.raises(ValueError, match="destination index 9 in the "
                       "edge_index of .*'pap'.* out of range for 9 nodes"):
        layer(data.x_dict, {**data.edge_index_dict,
                            PAP: torch.tensor([[0], [9]])})
    with pytest.raises(ValueError, match="'semantic_attention_weights' of "
                       "node type 'paper' of shape \\(3,\\)"):
        layer(data.x_dict, data.edge_index_dict,
              semantic_attention_weights={'paper': torch.ones(2)})
