import io

import pytest
import torch
from torch.func import functional_call
from torch_geometric.data import Batch, Data

from tgr.nn import PartAwareLSTM

# A 7-joint stick figure in 3 parts: torso (pelvis 0, chest 1, head 2),
# arms (hands 3, 4), legs (feet 5, 6).
STICK_PARTS = [0, 0, 0, 1, 1, 2, 2]


def make(in_channels=3, out_channels=4, num_parts=3, num_joints=7, **kw):
    torch.manual_seed(12345)
    return PartAwareLSTM(in_channels, out_channels, num_parts, num_joints,
                         **kw).double()


def sample(T=5, C=3, seed=0, parts=STICK_PARTS):
    gen = torch.Generator().manual_seed(seed)
    n = len(parts)
    return Data(x=torch.randn(n, T, C, generator=gen, dtype=torch.double),
                part=torch.tensor(parts), num_nodes=n)


def reference(layer, x, part, slot, state=None):
    # One sample, straight from the paper: per part, the concatenation of its
    # joints' features times the concatenation of their weight blocks.
    P, d = layer.num_parts, layer.out_channels
    ph = P * d
    W, U = layer.weight, layer.lin_h.weight
    b = layer.bias if layer.bias is not None else x.new_zeros(4 * ph)
    order = sorted(range(x.size(0)), key=lambda j: slot[j])
    members = [[j for j in order if part[j] == p] for p in range(P)]
    # Row blocks of U and b: [i^1..i^P | f^1..f^P | o | g^1..g^P].
    rows = {g: [slice(k * ph + p * d, k * ph + (p + 1) * d)
                for p in range(P)] for k, g in ((0, 'i'), (1, 'f'), (3, 'g'))}
    o_rows = slice(2 * ph, 3 * ph)
    W_p = [torch.cat([W[slot[j]][:, :3 * d] for j in members[p]], dim=0).t()
           if members[p] else x.new_zeros(3 * d, 0) for p in range(P)]
    W_o = torch.cat([W[slot[j]][:, 3 * d:] for j in order], dim=0).t()
    if state is None:
        h, c = x.new_zeros(ph), x.new_zeros(ph)
    else:
        h, c = state
    outs = []
    for t in range(x.size(1)):
        cells = []
        for p in range(P):
            x_p = torch.cat([x[j, t] for j in members[p]]) \
                if members[p] else x.new_zeros(0)
            pre = W_p[p] @ x_p
            i = torch.sigmoid(pre[:d] + U[rows['i'][p]] @ h + b[rows['i'][p]])
            f = torch.sigmoid(pre[d:2 * d] + U[rows['f'][p]] @ h +
                              b[rows['f'][p]])
            g = torch.tanh(pre[2 * d:] + U[rows['g'][p]] @ h +
                           b[rows['g'][p]])
            cells.append(f * c[p * d:(p + 1) * d] + i * g)
        x_all = torch.cat([x[j, t] for j in order])
        o = torch.sigmoid(W_o @ x_all + U[o_rows] @ h + b[o_rows])
        c = torch.cat(cells)
        h = o * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs), h, c


@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('with_state', [False, True])
def test_matches_reference(bias, with_state):
    layer = make(bias=bias)
    data = sample(seed=1)
    state = None
    if with_state:
        state = (torch.randn(1, 12, dtype=torch.double),
                 torch.randn(1, 12, dtype=torch.double))
    out, (h, c) = layer(data.x, data.part, state=state)
    ref, h_ref, c_ref = reference(
        layer, data.x, data.part.tolist(), list(range(7)),
        None if state is None else (state[0][0], state[1][0]))
    assert out.shape == (1, 5, 12)
    assert torch.allclose(out[0], ref)
    assert torch.allclose(h[0], h_ref) and torch.allclose(c[0], c_ref)


def test_shuffled_joints_with_slots_and_an_empty_part():
    # Joints listed out of slot order, explicit slots, part 3 empty.
    layer = make(num_parts=4)
    data = sample(seed=2)
    perm = torch.tensor([4, 0, 6, 2, 1, 5, 3])
    x, part = data.x[perm], data.part[perm]
    out, _ = layer(x, part, joint=perm)
    ref, _, _ = reference(layer, x, part.tolist(), perm.tolist())
    assert torch.allclose(out[0], ref)
    # The same as the joints in their own order:
    out2, _ = layer(data.x, data.part)
    assert torch.allclose(out, out2)


def test_one_part_one_joint_equals_torch_lstm():
    layer = make(in_channels=3, out_channels=5, num_parts=1, num_joints=1)
    lstm = torch.nn.LSTM(3, 5, batch_first=True).double()
    d = 5
    W, U, b = layer.weight[0], layer.lin_h.weight, layer.bias
    with torch.no_grad():  # ours: W = [i f g | o], U, b = [i f o g]
        Wi, Wf, Wg, Wo = W[:, :d].t(), W[:, d:2 * d].t(), \
            W[:, 2 * d:3 * d].t(), W[:, 3 * d:].t()
        Ui, Uf, Uo, Ug = U.split(d)
        bi, bf, bo, bg = b.split(d)
        lstm.weight_ih_l0.copy_(torch.cat([Wi, Wf, Wg, Wo]))
        lstm.weight_hh_l0.copy_(torch.cat([Ui, Uf, Ug, Uo]))
        lstm.bias_ih_l0.copy_(torch.cat([bi, bf, bg, bo]))
        lstm.bias_hh_l0.zero_()
    x = torch.randn(4, 9, 3, dtype=torch.double)  # 4 samples of 1 joint
    out, (h, c) = layer(x, torch.zeros(4, dtype=torch.long),
                        batch=torch.arange(4))
    out_ref, (h_ref, c_ref) = lstm(x)
    assert torch.allclose(out, out_ref)
    assert torch.allclose(c, c_ref[0])


def test_batch_equals_each_sample_alone():
    layer = make()
    data_list = [sample(seed=s) for s in range(3)]
    batch = Batch.from_data_list(data_list)
    out, (h, c) = layer(batch.x, batch.part, batch.batch)
    assert out.shape == (3, 5, 12)
    for i, data in enumerate(data_list):
        o, (h_i, c_i) = layer(data.x, data.part)
        assert torch.allclose(out[i], o[0]) and torch.allclose(c[i], c_i[0])


def test_two_bodies_share_slots():
    # Slots joint % 7: both bodies use the same blocks, which amounts to
    # summing their features joint by joint.
    layer = make()
    a, b = sample(seed=4), sample(seed=5)
    x = torch.cat([a.x, b.x])
    part = torch.cat([a.part, b.part])
    out, _ = layer(x, part, joint=torch.arange(14) % 7)
    out_sum, _ = layer(a.x + b.x, a.part)
    assert torch.allclose(out, out_sum)


def test_gradcheck():
    layer = make(in_channels=2, out_channels=2, num_parts=3, num_joints=7)
    data = sample(T=3, C=2, seed=6)
    x = data.x.clone().requires_grad_()
    h0 = torch.randn(1, 6, dtype=torch.double, requires_grad=True)
    c0 = torch.randn(1, 6, dtype=torch.double, requires_grad=True)
    names = [name for name, _ in layer.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_()
                   for _, p in layer.named_parameters())

    def fn(x, h0, c0, *ps):
        out, (h, c) = functional_call(layer, dict(zip(names, ps)),
                                      (x, data.part), {'state': (h0, c0)})
        return out, c

    assert torch.autograd.gradcheck(fn, (x, h0, c0) + params)


def test_no_frames_and_reset():
    layer = make()
    data = sample(T=0)
    out, (h, c) = layer(data.x, data.part)
    assert out.shape == (1, 0, 12) and h.shape == (1, 12)
    before = layer.weight.clone()
    layer.reset_parameters()
    assert not torch.equal(before, layer.weight)


def test_save_load_and_repr():
    layer = make()
    data = sample()
    out, _ = layer(data.x, data.part)
    buf = io.BytesIO()
    torch.save(layer, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    assert torch.allclose(loaded(data.x, data.part)[0], out)
    buf = io.BytesIO()
    torch.save(layer.state_dict(), buf)
    buf.seek(0)
    fresh = PartAwareLSTM(3, 4, 3, 7).double()
    fresh.load_state_dict(torch.load(buf))
    assert torch.allclose(fresh(data.x, data.part)[0], out)
    assert str(layer) == 'PartAwareLSTM(3, 4, num_parts=3, num_joints=7)'
    assert str(PartAwareLSTM(3, 4, 5, 25, bias=False)) == \
        'PartAwareLSTM(3, 4, num_parts=5, num_joints=25, bias=False)'


def test_errors():
    layer = make()
    data = sample()
    name = 'PartAwareLSTM'
    with pytest.raises(ValueError, match=rf"'{name}' expects 'part' values "
                       r"in \[0, 2\] \(got 3\)"):
        layer(data.x, data.part + 1)
    with pytest.raises(ValueError, match=r"'part' values in \[0, 2\] "
                       r"\(got -1\)"):
        layer(data.x, data.part - 1)
    with pytest.raises(ValueError, match=r"'part' of shape \(7,\)"):
        layer(data.x, data.part[:6])
    with pytest.raises(TypeError, match="'part' to be an integer"):
        layer(data.x, data.part.float())
    with pytest.raises(ValueError, match=rf"'{name}' expects 'joint' values "
                       r"in \[0, 6\] \(got 7\).*pass 'joint'"):
        layer(torch.randn(8, 5, 3, dtype=torch.double),
              torch.zeros(8, dtype=torch.long))  # 8 joints, 7 slots
    with pytest.raises(ValueError, match=rf"'{name}' expects 'x' of shape "
                       r"\(num_nodes, num_frames, 3\)"):
        layer(data.x[..., :2], data.part)
    with pytest.raises(ValueError, match=rf"'{name}' expects 'x' of shape"):
        layer(data.x[:, 0], data.part)
    with pytest.raises(ValueError, match=rf"'{name}' expects 'state' tensors "
                       r"of shape \(1, 12\)"):
        layer(data.x, data.part, state=(torch.zeros(2, 12),
                                        torch.zeros(2, 12)))
    with pytest.raises(ValueError, match=r"'batch' of shape \(7,\)"):
        layer(data.x, data.part, batch=torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="'num_parts' to be a positive"):
        PartAwareLSTM(3, 4, 0, 7)
