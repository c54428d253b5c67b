import io

import pytest
import torch
from torch.func import functional_call
from torch_geometric.data import Batch, Data

from tgr.nn import AGCLSTM, AGCLSTMCell, skeleton_partition
from tgr.testing import dense_conv, dense_subsets, random_skeleton
from tgr.testing import stick_figure as stick

def with_partition(data):
    data.partition = skeleton_partition(data.edge_index, data.center)
    return data


def reference_cell(cell, A, x, batch, state):
    # One step of eq. (1) with per-gate weight blocks and the attention per
    # sample, joint by joint.
    d = cell.out_channels
    n = x.size(0)
    gx = dense_conv(A, x, cell.conv_x.lin)
    if state is None:
        h_prev, c_prev = x.new_zeros(n, d), x.new_zeros(n, d)
    else:
        h_prev, c_prev = state
    gh = dense_conv(A, h_prev, cell.conv_h.lin)
    pre_i, pre_f, pre_o, pre_u = (gx + gh).split(d, dim=1)
    i, f, o = torch.sigmoid(pre_i), torch.sigmoid(pre_f), torch.sigmoid(pre_o)
    u = torch.tanh(pre_u)
    c = f * c_prev + i * u
    h_hat = o * torch.tanh(c)
    att = cell.att
    W, W_h, b_s = att.lin_query.weight, att.lin_h.weight, att.lin_h.bias
    W_q, U_s, b_u = att.lin_q.weight, att.lin_score.weight, att.lin_score.bias
    alpha = x.new_zeros(n)
    for b in batch.unique().tolist():
        joints = (batch == b).nonzero().view(-1).tolist()
        q = torch.relu(sum(W @ h_hat[j] for j in joints))
        for j in joints:
            s = torch.tanh(W_h @ h_hat[j] + W_q @ q + b_s)
            alpha[j] = torch.sigmoid(U_s @ s + b_u)[0]
    h = alpha.unsqueeze(1) * h_hat + h_hat
    return h, c, alpha


def make(cls, in_channels=3, out_channels=4, **kwargs):
    torch.manual_seed(12345)
    return cls(in_channels, out_channels, **kwargs).double()


def three_samples(T=5, C=3):
    data_list = [with_partition(stick(T=T, C=C, seed=1)),
                 with_partition(random_skeleton(11, T=T, C=C, seed=2)),
                 with_partition(stick(T=T, C=C, seed=3))]
    return data_list, Batch.from_data_list(data_list)


# AGCLSTMCell ################################################################
@pytest.mark.parametrize('with_state', [False, True])
@pytest.mark.parametrize('bias', [True, False])
def test_cell_matches_reference(with_state, bias):
    data_list, batch = three_samples()
    n = batch.num_nodes
    A = dense_subsets(batch.edge_index, batch.center, n)
    cell = make(AGCLSTMCell, 3, 4, att_channels=5, bias=bias)
    state = None
    if with_state:
        state = (torch.randn(n, 4, dtype=torch.double),
                 torch.randn(n, 4, dtype=torch.double))
    x = batch.x[:, 0]
    h, c, alpha = cell(x, batch.edge_index, batch.partition, batch.batch,
                       state=state)
    h_ref, c_ref, alpha_ref = reference_cell(cell, A, x, batch.batch, state)
    assert torch.allclose(h, h_ref) and torch.allclose(c, c_ref)
    assert torch.allclose(alpha, alpha_ref)


def test_cell_sequence_matches_reference():
    # The reference run step by step over a whole sequence.
    data = with_partition(random_skeleton(9, T=6, seed=3))
    A = dense_subsets(data.edge_index, data.center, 9)
    cell = make(AGCLSTMCell, 3, 4)
    batch = torch.zeros(9, dtype=torch.long)
    state = state_ref = None
    for t in range(6):
        h, c, alpha = cell(data.x[:, t], data.edge_index, data.partition,
                           state=state)
        h_r, c_r, a_r = reference_cell(cell, A, data.x[:, t], batch,
                                       state_ref)
        assert torch.allclose(h, h_r) and torch.allclose(alpha, a_r)
        state, state_ref = (h, c), (h_r, c_r)


# AGCLSTM: hoisted input side and the hand-written loop ######################
def cell_loop(layer, x, edge_index, partition, batch, state=None):
    outs, alphas = [], []
    for t in range(x.size(1)):
        h, c, alpha = layer.cell(x[:, t], edge_index, partition, batch,
                                 state=state)
        state = (h, c)
        outs.append(h)
        alphas.append(alpha)
    return torch.stack(outs, 1), torch.stack(alphas, 1), state


@pytest.mark.parametrize('with_state', [False, True])
@pytest.mark.parametrize('bias', [True, False])
def test_agclstm_equals_loop_of_cells(with_state, bias):
    # Forward and every gradient: the hoisted X-convolution and the
    # hand-written backward against autograd through the per-step cell.
    _, batch = three_samples(T=6, C=3)
    n = batch.num_nodes
    layer = make(AGCLSTM, 3, 4, att_channels=3, bias=bias)
    x = batch.x.clone().requires_grad_()
    state = None
    if with_state:
        state = (torch.randn(n, 4, dtype=torch.double, requires_grad=True),
                 torch.randn(n, 4, dtype=torch.double, requires_grad=True))
    args = (batch.edge_index, batch.partition, batch.batch)
    out, alpha, (h, c) = layer(x, *args, state=state)
    out2, alpha2, (h2, c2) = cell_loop(layer, x, *args, state=state)
    assert torch.allclose(out, out2) and torch.allclose(alpha, alpha2)
    assert torch.allclose(h, h2) and torch.allclose(c, c2)

    ws = [torch.randn_like(t) for t in (out, alpha, h, c)]
    inputs = [x] + (list(state) if with_state else []) + \
        list(layer.parameters())

    def objective(*ts):
        return sum((t * w).sum() for t, w in zip(ts, ws))

    g = torch.autograd.grad(objective(out, alpha, h, c), inputs)
    g2 = torch.autograd.grad(objective(out2, alpha2, h2, c2), inputs)
    for a, b in zip(g, g2):
        assert torch.allclose(a, b)


def test_recurrence_from_hoisted_input_equals_forward():
    data_list, batch = three_samples()
    layer = make(AGCLSTM)
    out, alpha, (h, c) = layer(batch.x, batch.edge_index, batch.partition,
                               batch.batch)
    conv = layer.cell.conv_x
    n, T = batch.num_nodes, batch.x.size(1)
    graph = conv.subset_graph(batch.edge_index, batch.partition, n)
    a = conv.aggregate_subsets(batch.x, graph)
    xg = conv.lin(a.permute(2, 0, 1, 3).reshape(T, n, -1))
    out2, alpha2, (h2, c2) = layer.recurrence(xg, graph, batch.batch, 3)
    assert torch.allclose(out, out2) and torch.allclose(alpha, alpha2)
    assert torch.allclose(c, c2) and torch.equal(h2, out2[:, -1])


def test_agclstm_without_grad_equals_with_grad():
    _, batch = three_samples(T=5)
    layer = make(AGCLSTM, 3, 4)
    args = (batch.x, batch.edge_index, batch.partition, batch.batch)
    out, alpha, (h, c) = layer(*args)
    with torch.no_grad():
        out2, alpha2, (h2, c2) = layer(*args)
    assert torch.equal(out.detach(), out2) and torch.equal(c.detach(), c2)


def test_batch_equals_each_skeleton_alone():
    data_list, batch = three_samples(T=5)
    layer = make(AGCLSTM, 3, 4)
    out, alpha, (h, c) = layer(batch.x, batch.edge_index, batch.partition,
                               batch.batch)
    for i, data in enumerate(data_list):
        o, a, (h_i, c_i) = layer(data.x, data.edge_index, data.partition)
        mask = batch.batch == i
        assert torch.allclose(out[mask], o) and torch.allclose(alpha[mask], a)
        assert torch.allclose(c[mask], c_i)


def test_permutation_equivariance():
    data = with_partition(random_skeleton(12, T=4, seed=8))
    layer = make(AGCLSTM, 3, 4)
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(0))
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(12)
    out, alpha, _ = layer(data.x, data.edge_index, data.partition)
    out_p, alpha_p, _ = layer(data.x[perm], inv[data.edge_index],
                              data.partition)
    assert torch.allclose(out_p, out[perm])
    assert torch.allclose(alpha_p, alpha[perm])


def test_attention_lies_in_open_unit_interval():
    _, batch = three_samples(T=5)
    layer = AGCLSTM(3, 8)
    with torch.no_grad():
        layer.cell.att.lin_score.bias.fill_(20.)  # push towards 1
    _, alpha, _ = layer(batch.x.float(), batch.edge_index, batch.partition,
                        batch.batch)
    assert alpha.shape == (batch.num_nodes, 5)
    assert bool((alpha > 0).all()) and bool((alpha <= 1).all())
    layer.reset_parameters()
    _, alpha, _ = layer(batch.x.float() * 10, batch.edge_index,
                        batch.partition, batch.batch)
    assert bool((alpha > 0).all()) and bool((alpha < 1).all())


# gradcheck ##################################################################
def _gradcheck(module, fn, inputs):
    names = [name for name, _ in module.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_()
                   for _, p in module.named_parameters())

    def wrapped(*args):
        k = len(inputs)
        return fn(dict(zip(names, args[k:])), *args[:k])

    return torch.autograd.gradcheck(wrapped, tuple(inputs) + params,
                                    fast_mode=True)


def test_gradcheck_cell():
    data = with_partition(stick(T=1, C=2))
    cell = make(AGCLSTMCell, 2, 2, att_channels=2)
    x = data.x[:, 0].clone().requires_grad_()
    h0 = torch.randn(7, 2, dtype=torch.double, requires_grad=True)
    c0 = torch.randn(7, 2, dtype=torch.double, requires_grad=True)
    assert _gradcheck(cell, lambda p, x, h0, c0: functional_call(
        cell, p, (x, data.edge_index, data.partition),
        {'state': (h0, c0)}), [x, h0, c0])


def test_gradcheck_agclstm():
    # Through the hand-written backward, with an initial state.
    data = with_partition(stick(T=3, C=2))
    layer = make(AGCLSTM, 2, 2, att_channels=2)
    x = data.x.clone().requires_grad_()
    h0 = torch.randn(7, 2, dtype=torch.double, requires_grad=True)
    c0 = torch.randn(7, 2, dtype=torch.double, requires_grad=True)

    def fn(p, x, h0, c0):
        out, alpha, (h, c) = functional_call(
            layer, p, (x, data.edge_index, data.partition),
            {'state': (h0, c0)})
        return out, alpha, c

    assert _gradcheck(layer, fn, [x, h0, c0])


# Edge cases #################################################################
def test_empty_graph_single_joint_and_no_frames():
    layer = make(AGCLSTM, 3, 4)
    empty = torch.empty(2, 0, dtype=torch.long)
    out, alpha, (h, c) = layer(torch.randn(0, 5, 3, dtype=torch.double),
                               empty, torch.empty(0, dtype=torch.long))
    assert out.shape == (0, 5, 4) and alpha.shape == (0, 5)
    # A single joint without bones: only the root subset.
    x = torch.randn(1, 4, 3, dtype=torch.double)
    out, alpha, _ = layer(x, empty, torch.empty(0, dtype=torch.long))
    out2, alpha2, _ = cell_loop(layer, x, empty,
                                torch.empty(0, dtype=torch.long), None)
    assert torch.allclose(out, out2) and torch.allclose(alpha, alpha2)
    # No frames: the initial state comes back.
    data = with_partition(stick(T=0))
    out, alpha, (h, c) = layer(data.x, data.edge_index, data.partition)
    assert out.shape == (7, 0, 4) and alpha.shape == (7, 0)
    assert torch.equal(h, torch.zeros(7, 4, dtype=torch.double))


def test_lazy_initialization():
    data = with_partition(stick(x=torch.randn(7, 3, 6)))
    layer = AGCLSTM(-1, 4)
    assert str(layer) == 'AGCLSTM(-1, 4)'
    out, _, _ = layer(data.x, data.edge_index, data.partition)
    assert out.shape == (7, 3, 4) and layer.cell.conv_x.lin.weight.shape == \
        (16, 18)
    cell = AGCLSTMCell(-1, 4)
    h, _, _ = cell(data.x[:, 0], data.edge_index, data.partition)
    assert h.shape == (7, 4)


def test_gate_initialisation_bound_and_lazy():
    # Var(w) = g^2 / F per subset block: U(-b, b) with b = g sqrt(3 / F),
    # also for a lazy input side (initialised when it is materialised).
    torch.manual_seed(0)
    data = with_partition(stick(x=torch.randn(7, 3, 6)))
    for layer in (AGCLSTM(6, 40), AGCLSTM(-1, 40), AGCLSTM(6, 40, init_gain=3),
                  AGCLSTMCell(-1, 40)):
        x = data.x if isinstance(layer, AGCLSTM) else data.x[:, 0]
        layer(x, data.edge_index, data.partition)
        cell = layer.cell if isinstance(layer, AGCLSTM) else layer
        for lin, F in ((cell.conv_x.lin, 6), (cell.conv_h.lin, 40)):
            bound = cell.init_gain * (3 / F)**0.5
            w = lin.weight.detach()
            assert float(w.abs().max()) <= bound
            assert float(w.abs().max()) > 0.95 * bound
            assert abs(float(w.var()) - cell.init_gain**2 / F) < \
                0.1 * cell.init_gain**2 / F
    # init_gain=None keeps PyTorch's default, U(+-1 / sqrt(3 F)).
    cell = AGCLSTMCell(6, 40, init_gain=None)
    assert float(cell.conv_h.lin.weight.detach().abs().max()) <= \
        (1 / 120)**0.5
    with pytest.raises(ValueError, match="'AGCLSTMCell' expects "
                       "'init_gain' to be positive"):
        AGCLSTMCell(6, 40, init_gain=0)


def test_lazy_layer_loads_trained_weights_unchanged():
    # A state dict loaded into a lazy layer is kept (not re-initialised by
    # the first forward).
    data = with_partition(stick(x=torch.randn(7, 3, 6)))
    trained = AGCLSTM(6, 4)
    lazy = AGCLSTM(-1, 4)
    lazy.load_state_dict(trained.state_dict())
    args = (data.x, data.edge_index, data.partition)
    assert torch.equal(lazy(*args)[0], trained(*args)[0])


def test_stacked_layers_keep_the_differences_between_samples():
    # The reason for the gate initialisation: through three stacked layers
    # the spread between samples of a smooth, skeleton-like input stays of
    # the input's order; with PyTorch's default it shrinks about eightfold
    # per layer.
    torch.manual_seed(0)
    data_list = []
    for s in range(16):  # smooth over the skeleton: a per-sample offset
        gen = torch.Generator().manual_seed(s)
        base = torch.randn(1, 6, 8, generator=gen)
        data_list.append(with_partition(stick(
            x=base + 0.3 * torch.randn(7, 6, 8, generator=gen))))
    batch = Batch.from_data_list(data_list)

    def spread(h):  # std over samples of each sample's mean feature
        mean = torch.zeros(16, h.size(-1)).index_add_(
            0, batch.batch, h.mean(1)) / 7
        return float(mean.std(0).mean())

    ratios = {}
    for gain in (2.0, None):
        torch.manual_seed(1)
        kw = {} if gain else dict(init_gain=None)  # the default is 2
        layers = [AGCLSTM(8, 32, **kw)] + \
            [AGCLSTM(32, 32, **kw) for _ in range(2)]
        h = batch.x
        with torch.no_grad():
            for layer in layers:
                h = layer(h, batch.edge_index, batch.partition, batch.batch)[0]
        ratios[gain] = spread(h) / spread(batch.x)
    assert ratios[2.0] > 0.05
    assert ratios[None] < 0.01


@pytest.mark.parametrize('cls', [AGCLSTM, AGCLSTMCell])
def test_save_load(cls):
    data_list, batch = three_samples(T=3)
    layer = make(cls, 3, 4)
    x = batch.x if cls is AGCLSTM else batch.x[:, 0]
    args = (x, batch.edge_index, batch.partition, batch.batch)
    out = layer(*args)[0]
    buf = io.BytesIO()
    torch.save(layer, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    assert torch.allclose(loaded(*args)[0], out)
    buf = io.BytesIO()
    torch.save(layer.state_dict(), buf)
    buf.seek(0)
    fresh = cls(3, 4).double()
    fresh.load_state_dict(torch.load(buf))
    assert torch.allclose(fresh(*args)[0], out)


def test_repr_and_reset():
    assert str(AGCLSTMCell(3, 16)) == 'AGCLSTMCell(3, 16)'
    assert str(AGCLSTMCell(3, 16, att_channels=8, bias=False)) == \
        'AGCLSTMCell(3, 16, att_channels=8, bias=False)'
    assert str(AGCLSTM(3, 16, att_channels=8)) == \
        'AGCLSTM(3, 16, att_channels=8)'
    layer = AGCLSTM(3, 4)
    before = layer.cell.att.lin_h.weight.clone()
    layer.reset_parameters()
    assert not torch.equal(before, layer.cell.att.lin_h.weight)


# Errors #####################################################################
def test_errors():
    data = with_partition(stick(T=4))
    ei, part = data.edge_index, data.partition
    layer = AGCLSTM(3, 4).double()
    cell = AGCLSTMCell(3, 4).double()
    with pytest.raises(ValueError, match=r"'AGCLSTM' found node index 7 .* "
                       r"out of range for 7 nodes"):
        layer(data.x, ei.clamp(max=7) + (ei == 6).long(), part)
    with pytest.raises(ValueError, match=r"'AGCLSTM' found node index 6 .*"
                       r"for 6 nodes"):
        layer(data.x[:6], ei, part)  # x has fewer joints than edge_index
    with pytest.raises(ValueError, match=r"'AGCLSTM' expects 'x' of shape "
                       r"\(num_nodes, num_frames, in_channels\)"):
        layer(data.x[:, 0], ei, part)
    with pytest.raises(ValueError, match=r"'AGCLSTMCell' expects 'x' of "
                       r"shape \(num_nodes, in_channels\)"):
        cell(data.x, ei, part)
    with pytest.raises(ValueError, match=r"'AGCLSTM' expects 'partition' of "
                       r"shape \(12,\)"):
        layer(data.x, ei, part[:-1])
    with pytest.raises(ValueError, match=r"'AGCLSTM' expects 'batch' of "
                       r"shape \(7,\)"):
        layer(data.x, ei, part, batch=torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match=r"'AGCLSTM' expects 'state' "
                       r"tensors of shape \(7, 4\)"):
        layer(data.x, ei, part, state=(torch.zeros(7, 4), torch.zeros(7, 5)))
    with pytest.raises(TypeError, match="'AGCLSTMCell' expects "
                       "floating-point"):
        cell(data.x[:, 0].long(), ei, part)
    with pytest.raises(ValueError, match="'att_channels' to be a positive"):
        AGCLSTMCell(3, 4, att_channels=0)


def test_non_contiguous_state_is_accepted():
    # An initial state given as a transposed (non-contiguous) view: the same
    # outputs and gradients as its contiguous copy.
    data = with_partition(random_skeleton(9, T=4, seed=6))
    layer = make(AGCLSTM, 3, 5)
    args = (data.x, data.edge_index, data.partition)
    raw = [torch.randn(5, 9, dtype=torch.double, requires_grad=True)
           for _ in range(2)]
    out, alpha, (h, c) = layer(*args, state=(raw[0].t(), raw[1].t()))
    g = torch.autograd.grad(out.sum() + c.sum(), raw)
    dense = [r.detach().t().contiguous().requires_grad_() for r in raw]
    out2, alpha2, (h2, c2) = layer(*args, state=tuple(dense))
    g2 = torch.autograd.grad(out2.sum() + c2.sum(), dense)
    assert torch.allclose(out, out2) and torch.allclose(c, c2)
    for a, b in zip(g, g2):
        assert torch.allclose(a, b.t())
