import io

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Batch, Data

from tgr.nn import skeleton_partition
from tgr.nn.models import AGCLSTMNet

# A 7-joint stick figure (0 pelvis, 1 chest = centre, 2 head, 3/4 hands,
# 5/6 feet).
BONES = torch.tensor([(0, 1), (1, 2), (1, 3), (1, 4), (0, 5), (0, 6)]).t()
EDGE_INDEX = torch.cat([BONES, BONES.flip(0)], dim=1)
CENTER = torch.tensor([False, True, False, False, False, False, False])


def sample(T=8, seed=0, y=0):
    gen = torch.Generator().manual_seed(seed)
    return Data(x=torch.randn(7, T, 3, generator=gen, dtype=torch.double),
                edge_index=EDGE_INDEX, center=CENTER,
                partition=skeleton_partition(EDGE_INDEX, CENTER),
                y=torch.tensor([y]))


def make(**kwargs):
    torch.manual_seed(12345)
    kwargs.setdefault('hidden_channels', 6)
    return AGCLSTMNet(3, 4, **kwargs).double()


def run(net, batch):
    return net(batch.x, batch.edge_index, batch.partition, batch.batch)


def test_shapes_and_temporal_hierarchy():
    net = make(pool_size=2)
    batch = Batch.from_data_list([sample(T=9, seed=s) for s in range(3)])
    logits, alphas = run(net, batch)
    assert logits.shape == (3, 2, 4)  # 9 -> 4 -> 2 steps
    assert [tuple(a.shape) for a in alphas] == [(21, 9), (21, 4), (21, 2)]
    net = make(num_layers=2, pool_size=3)
    logits, alphas = run(net, batch)
    assert logits.shape == (3, 3, 4) and len(alphas) == 2
    assert str(net) == ('AGCLSTMNet(3, 4, hidden_channels=6, num_layers=2, '
                        'pool_size=3)')


def test_loss_matches_the_paper_formula():
    net = make(lam=0.3, beta=0.2)
    data_list = [sample(seed=s, y=s % 4) for s in range(3)]
    batch = Batch.from_data_list(data_list)
    logits, alphas = run(net, batch)
    loss = net.loss(logits, alphas, batch.y, batch.batch)
    total = 0.
    for b in range(3):
        mask = batch.batch == b
        ce = -F.log_softmax(logits[b], dim=-1)[:, int(batch.y[b])].sum()
        balance = sum(((1 - a[mask].mean(dim=1))**2).sum() for a in alphas)
        sparsity = sum((a[mask].sum(dim=0)**2).mean() for a in alphas)
        total = total + ce + 0.3 * balance + 0.2 * sparsity
    assert torch.allclose(loss, total / 3)
    # Overrides:
    plain = net.loss(logits, alphas, batch.y, batch.batch, lam=0., beta=0.)
    ce = F.cross_entropy(logits.reshape(-1, 4),
                         batch.y.repeat_interleave(logits.size(1)),
                         reduction='sum') / 3
    assert torch.allclose(plain, ce)


def test_gradients_reach_the_attention_through_the_regularisers():
    net = make()
    batch = Batch.from_data_list([sample(seed=s, y=s) for s in range(2)])
    logits, alphas = run(net, batch)
    full = net.loss(logits, alphas, batch.y, batch.batch, lam=1., beta=1.)
    ce = net.loss(logits, alphas, batch.y, batch.batch, lam=0., beta=0.)
    atts = [conv.cell.att for conv in net.convs]
    params = [p for att in atts for p in att.parameters()]
    grads = torch.autograd.grad(full - ce, params, allow_unused=True)
    # Every layer's regulariser reaches its own attention parameters:
    for att in atts:
        for p in (att.lin_score.weight, att.lin_score.bias, att.lin_h.weight):
            g = grads[[q is p for q in params].index(True)]
            assert g is not None and bool(g.abs().sum() > 0)
    # And the gradient is the true one (nothing detached): finite
    # differences on the first layer's score bias.
    net.zero_grad()
    full = net.loss(*run(net, batch), batch.y, batch.batch)
    full.backward()
    bias = atts[0].lin_score.bias
    eps = 1e-6
    with torch.no_grad():
        bias += eps
        up = net.loss(*run(net, batch), batch.y, batch.batch)
        bias -= 2 * eps
        down = net.loss(*run(net, batch), batch.y, batch.batch)
        bias += eps
    assert torch.allclose(bias.grad, (up - down) / (2 * eps), rtol=1e-5,
                          atol=1e-8)


def test_batch_equals_each_sample_alone():
    net = make().eval()
    data_list = [sample(seed=s) for s in range(3)]
    logits, alphas = run(net, Batch.from_data_list(data_list))
    for i, data in enumerate(data_list):
        lg, al = net(data.x, data.edge_index, data.partition)
        assert torch.allclose(logits[i], lg[0])
        assert torch.allclose(alphas[-1][7 * i:7 * (i + 1)], al[-1])


def test_predict():
    logits = torch.tensor([[[2., 0.], [0., 2.], [0., 3.]]])
    mean = AGCLSTMNet.predict(logits)
    assert torch.allclose(mean, logits.softmax(-1).mean(1))
    assert torch.allclose(AGCLSTMNet.predict(logits, 'last'),
                          logits[:, -1].softmax(-1))
    with pytest.raises(ValueError, match="'AGCLSTMNet' expects mode"):
        AGCLSTMNet.predict(logits, 'max')


def test_learns_a_tiny_task():
    # Two classes: a hand moves up or down. (Which hand moves could not be
    # told: the two hands are symmetric in the graph, and the network is
    # equivariant.) A few Adam steps must fit them.
    torch.manual_seed(0)
    data_list = []
    for s in range(6):
        d = sample(T=8, seed=s, y=s % 2)
        d.x = 0.1 * d.x
        sign = 1. if s % 2 == 0 else -1.
        d.x[3 + s % 3 // 2] += sign * torch.linspace(0, 2, 8).view(8, 1)
        data_list.append(d)
    batch = Batch.from_data_list(data_list)
    net = make(hidden_channels=8, dropout=0.1)
    opt = torch.optim.Adam(net.parameters(), lr=0.03)
    losses = []
    for _ in range(25):
        opt.zero_grad()
        loss = net.loss(*run(net, batch), batch.y, batch.batch)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    net.eval()
    with torch.no_grad():
        pred = AGCLSTMNet.predict(run(net, batch)[0]).argmax(-1)
    assert torch.equal(pred, batch.y)


def test_initialisation_keeps_samples_apart():
    # With the default initialisation the logits of different samples
    # differ at the start of training; with PyTorch's defaults (and no input
    # normalisation) they hardly do, the failure this guards against.
    data_list = []
    for s in range(8):
        d = sample(T=8, seed=s)
        d.x = d.x.float() + 0.5 * torch.randn(1, 1, 3, generator=torch.
                                              Generator().manual_seed(s))
        data_list.append(d)
    batch = Batch.from_data_list(data_list)
    spread = {}
    for kwargs in ({}, dict(init_gain=None, input_norm=False)):
        torch.manual_seed(0)
        net = AGCLSTMNet(3, 4, hidden_channels=16, **kwargs).eval()
        with torch.no_grad():
            logits, _ = run(net, batch)
        spread[bool(kwargs)] = float(logits.mean(1).std(0).mean())
    assert spread[False] > 0.1
    assert spread[True] < 0.01 * spread[False]


def test_input_weight_initialisation_also_when_lazy():
    data = sample(T=4)
    for in_channels in (3, -1):
        torch.manual_seed(0)
        net = AGCLSTMNet(in_channels, 3, hidden_channels=32)
        net(data.x.float(), data.edge_index, data.partition)
        for w, fan_in in ((net.lin_pos.weight, 3), (net.lin_diff.weight, 3),
                          (net.lstm.weight_ih_l0, 32)):
            bound = 2.0 / fan_in**0.5  # Var(w) = g^2 / (3 F), g = 2
            assert float(w.detach().abs().max()) <= bound
            assert float(w.detach().abs().max()) > 0.8 * bound


def test_lazy_save_load_reset():
    net = AGCLSTMNet(-1, 3, hidden_channels=4)
    data = sample(T=4)
    x = data.x.float()
    logits, _ = net(x, data.edge_index, data.partition)
    assert net.lin_pos.weight.shape == (2, 3)
    buf = io.BytesIO()
    torch.save(net, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    assert torch.allclose(loaded(x, data.edge_index, data.partition)[0],
                          logits)
    before = net.lin_local.weight.clone()
    net.reset_parameters()
    assert not torch.equal(before, net.lin_local.weight)


def test_errors():
    net = make()
    data = sample(T=3)
    args = (data.edge_index, data.partition)
    with pytest.raises(ValueError, match=r"'AGCLSTMNet' expects at least 4 "
                       r"frames for 3 layers with pool_size=2 \(got 3\)"):
        net(data.x, *args)
    with pytest.raises(ValueError, match=r"'AGCLSTMNet' expects 'x' of "
                       r"shape \(num_nodes, num_frames, in_channels\)"):
        net(data.x[:, 0], *args)
    data = sample(T=8)
    logits, alphas = net(data.x, data.edge_index, data.partition)
    with pytest.raises(ValueError, match=r"'AGCLSTMNet' expects the last "
                       r"attention to cover the T=2 steps of 'logits' "
                       r"\(got 4\)"):
        net.loss(logits, alphas[:2], data.y)
    with pytest.raises(ValueError, match=r"'AGCLSTMNet' expects 'y' of "
                       r"shape \(1,\)"):
        net.loss(logits, alphas, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="'batch' with 1 samples"):
        net.loss(logits, alphas, data.y,
                 torch.tensor([0, 0, 0, 1, 1, 1, 1]))
    with pytest.raises(ValueError, match="'hidden_channels' to be an "
                       "integer >= 2"):
        AGCLSTMNet(3, 4, hidden_channels=1)


def test_running_scale_of_the_input_streams():
    from tgr.nn.models.agc_lstm_net import _RunningScale
    norm = _RunningScale(2, momentum=0.25)
    a = torch.randn(2, 50, 3, dtype=torch.double)
    a[1] *= 10
    out = norm.double()(a)
    ms_a = a.pow(2).flatten(1).mean(1)
    assert torch.allclose(norm.mean_square, ms_a)  # the first batch as is
    assert torch.allclose(out, a / ms_a.sqrt().view(2, 1, 1))
    b = 3 * torch.randn(2, 40, 3, dtype=torch.double)
    out = norm(b)
    ms = 0.75 * ms_a + 0.25 * b.pow(2).flatten(1).mean(1)
    assert torch.allclose(norm.mean_square, ms)
    assert torch.allclose(out, b / ms.sqrt().view(2, 1, 1))
    assert int(norm.num_batches_tracked) == 2
    norm.eval()  # eval: the stored estimate, unchanged
    assert torch.allclose(norm(a), a / ms.sqrt().view(2, 1, 1))
    assert torch.allclose(norm.mean_square, ms)
    # Isotropic: a rotation of the coordinates commutes with it.
    rot = torch.linalg.qr(torch.randn(3, 3, dtype=torch.double))[0]
    assert torch.allclose(norm(a @ rot), norm(a) @ rot)
    norm.reset_parameters()
    assert int(norm.num_batches_tracked) == 0
