import io

import pytest
import torch
from torch_geometric.data import Batch, Data

from tgr.datasets.skeleton import MSR_LAYOUT
from tgr.nn import skeleton_partition
from tgr.nn.models import AGCLSTMJointPartNet, AGCLSTMNet
from tgr.utils.skeleton import part_graph

# The MSR Action3D skeleton with its ten fine parts.
LAYOUT = MSR_LAYOUT
EDGE_INDEX = LAYOUT.edge_index()
CENTER = torch.arange(20) == LAYOUT.center
PARTITION = skeleton_partition(EDGE_INDEX, CENTER)
PART = LAYOUT.fine_part()
PART_EDGE_INDEX = part_graph(EDGE_INDEX, PART, 10)
PART_CENTER = int(PART[LAYOUT.center])  # the torso


def sample(T=8, seed=0, y=0):
    gen = torch.Generator().manual_seed(seed)
    return Data(x=torch.randn(20, T, 3, generator=gen, dtype=torch.double),
                edge_index=EDGE_INDEX, partition=PARTITION, body_part=PART,
                y=torch.tensor([y]))


def make(**kwargs):
    torch.manual_seed(12345)
    kwargs.setdefault('hidden_channels', 6)
    return AGCLSTMJointPartNet(3, 4, PART_EDGE_INDEX, PART_CENTER,
                               **kwargs).double()


def run(net, batch):
    return net(batch.x, batch.edge_index, batch.partition, batch.body_part,
               batch.batch)


def dense_pool(h, part, batch, num_parts, num_graphs):
    # D^-1 C H with the assignment matrix C of the joints to the parts of
    # every sample, built entry by entry.
    n = h.size(0)
    C = torch.zeros(num_graphs * num_parts, n, dtype=h.dtype)
    for j in range(n):
        C[int(batch[j]) * num_parts + int(part[j]), j] = 1
    D = C.sum(1).clamp(min=1)
    return (C @ h.reshape(n, -1) / D.view(-1, 1)).view(
        (-1, ) + tuple(h.shape[1:]))


def test_pooling_matches_the_dense_reference():
    net = make()
    gen = torch.Generator().manual_seed(1)
    # Three samples with parts of different sizes, one part left empty in
    # the last sample, joints in any order:
    part = torch.cat([PART, PART.flip(0), torch.randint(9, (13, ),
                                                        generator=gen)])
    batch = torch.tensor([0] * 20 + [1] * 20 + [2] * 13)
    perm = torch.randperm(53, generator=gen)
    part, batch = part[perm], batch[perm]
    h = torch.randn(53, 5, 7, generator=gen, dtype=torch.double)
    out = net.pool(h, part, batch)
    ref = dense_pool(h, part, batch, 10, 3)
    assert out.shape == (30, 5, 7)
    assert torch.allclose(out, ref, atol=1e-12)
    assert not bool((part[batch == 2] == 9).any())
    assert (out[20 + 9] == 0).all()  # an empty part
    # One sample without a batch vector:
    assert torch.allclose(net.pool(h[:20], PART), dense_pool(
        h[:20], PART, torch.zeros(20, dtype=torch.long), 10, 1))
    # The gradient is the transpose, (D^-1 C)^T:
    hg = h.clone().requires_grad_()
    g = torch.randn(30, 5, 7, generator=gen, dtype=torch.double)
    (net.pool(hg, part, batch) * g).sum().backward()
    n = part.numel()
    C = torch.zeros(30, n, dtype=torch.double)
    C[batch * 10 + part, torch.arange(n)] = 1
    P = C / C.sum(1, keepdim=True).clamp(min=1)
    assert torch.allclose(hg.grad, (P.t() @ g.reshape(30, -1)).view_as(h))


def test_part_graph_of_a_batch_is_block_diagonal():
    net = make()
    ei, partition = net.part_graph(3)
    A = torch.zeros(30, 30, dtype=torch.long)
    A[ei[0], ei[1]] = partition + 1
    one = torch.zeros(10, 10, dtype=torch.long)
    one[PART_EDGE_INDEX[0], PART_EDGE_INDEX[1]] = \
        skeleton_partition(PART_EDGE_INDEX, torch.tensor([PART_CENTER]),
                           10) + 1
    assert torch.equal(A, torch.block_diag(one, one, one))
    assert net.part_batch(3).tolist() == [0] * 10 + [1] * 10 + [2] * 10
    # The torso is the centre: for the torso its neighbours are centrifugal
    # (label 2), for its neighbours the torso is centripetal (label 1).
    nbrs = one[:, PART_CENTER] > 0
    assert int(nbrs.sum()) == 5  # head, upper arms, thighs
    assert (one[nbrs, PART_CENTER] == 3).all()
    assert (one[PART_CENTER, nbrs] == 2).all()


def test_streams_match_their_references():
    # The joint stream is an AGCLSTMNet on the joints; the part stream an
    # AGCLSTMNet whose encoded joints are pooled densely into the parts of
    # the batch, whose graph and partition are built here from scratch.
    net = make().eval()
    data_list = [sample(seed=s) for s in range(3)]
    batch = Batch.from_data_list(data_list)
    (logits, alphas), (part_logits, part_alphas) = run(net, batch)

    joint = AGCLSTMNet(3, 4, hidden_channels=6).double().eval()
    joint.load_state_dict(net.joint.state_dict())
    ref_logits, ref_alphas = joint(batch.x, batch.edge_index,
                                   batch.partition, batch.batch)
    assert torch.allclose(logits, ref_logits)
    for a, b in zip(alphas, ref_alphas):
        assert torch.allclose(a, b)

    h = dense_pool(net.part.encode(batch.x), batch.body_part, batch.batch,
                   10, 3)
    cluster = batch.batch * 10 + batch.body_part
    src, dst = cluster[batch.edge_index[0]], cluster[batch.edge_index[1]]
    pairs = sorted({(int(a), int(b)) for a, b in zip(src, dst) if a != b})
    ei = torch.tensor(pairs).t()
    center = torch.zeros(30, dtype=torch.bool)
    center[cluster[(torch.arange(60) % 20) == LAYOUT.center]] = True
    ref = net.part.classify(h, ei, skeleton_partition(ei, center),
                            torch.arange(3).repeat_interleave(10))
    assert torch.allclose(part_logits, ref[0])
    for a, b in zip(part_alphas, ref[1]):
        assert a.shape[0] == 30 and torch.allclose(a, b)


def test_batch_equals_each_sample_alone():
    net = make().eval()
    data_list = [sample(T=9, seed=s) for s in range(3)]
    (logits, alphas), (part_logits, part_alphas) = run(
        net, Batch.from_data_list(data_list))
    assert logits.shape == part_logits.shape == (3, 2, 4)
    for i, data in enumerate(data_list):
        (lg, al), (plg, pal) = net(data.x, data.edge_index, data.partition,
                                   data.body_part)
        assert torch.allclose(logits[i], lg[0])
        assert torch.allclose(part_logits[i], plg[0])
        for a, b in zip(alphas, al):
            assert torch.allclose(a[20 * i:20 * (i + 1)], b)
        for a, b in zip(part_alphas, pal):
            assert torch.allclose(a[10 * i:10 * (i + 1)], b)


def test_loss_and_fused_prediction():
    net = make(lam=0.3, beta=0.2, fusion_weight=0.7)
    batch = Batch.from_data_list([sample(seed=s, y=s) for s in range(3)])
    out = run(net, batch)
    (logits, alphas), (part_logits, part_alphas) = out
    loss = net.loss(out, batch.y, batch.batch)
    part_batch = torch.arange(3).repeat_interleave(10)
    ref = net.joint.loss(logits, alphas, batch.y, batch.batch) + \
        net.part.loss(part_logits, part_alphas, batch.y, part_batch)
    assert torch.allclose(loss, ref)
    # Both streams learn from it:
    loss.backward()
    for stream in (net.joint, net.part):
        assert all(p.grad is not None for p in stream.parameters())
        assert float(stream.lin_pos.weight.grad.abs().sum()) > 0
    p = net.predict(out)
    pj, pp = logits.softmax(-1).mean(1), part_logits.softmax(-1).mean(1)
    assert torch.allclose(p, 0.7 * pj + 0.3 * pp)
    assert torch.allclose(p.sum(-1), torch.ones(3, dtype=torch.double))
    assert torch.allclose(net.predict(out, fusion_weight=1.0), pj)
    assert torch.allclose(net.predict(out, fusion_weight=0.0), pp)
    assert torch.allclose(net.predict(out, 'last', 0.5),
                          0.5 * logits[:, -1].softmax(-1) +
                          0.5 * part_logits[:, -1].softmax(-1))
    with pytest.raises(ValueError, match="'fusion_weight' in \\[0, 1\\]"):
        net.predict(out, fusion_weight=1.5)


def test_two_bodies_and_a_coarse_part_graph():
    # Five parts per body, two bodies: ten part nodes, two centres.
    part = LAYOUT.part(2) + LAYOUT.body(2) * 5
    ei = part_graph(LAYOUT.edge_index(2), part, 10)
    center = torch.zeros(10, dtype=torch.bool)
    center[[0, 5]] = True
    torch.manual_seed(0)
    net = AGCLSTMJointPartNet(3, 4, ei, center, hidden_channels=4)
    assert net.num_parts == 10
    x = torch.randn(40, 4, 3)
    edge_index = LAYOUT.edge_index(2)
    partition = skeleton_partition(edge_index, torch.arange(40) % 20 ==
                                   LAYOUT.center)
    (logits, _), (part_logits, part_alphas) = net(x, edge_index, partition,
                                                  part)
    assert logits.shape == part_logits.shape == (1, 1, 4)
    assert part_alphas[0].shape == (10, 4)


def test_state_dict_round_trip_repr_and_reset():
    net = make()
    batch = Batch.from_data_list([sample(seed=s) for s in range(2)])
    out = run(net.eval(), batch)
    keys = set(net.state_dict())
    assert not any('part_edge_index' in k or 'part_partition' in k
                   for k in keys)  # given by the constructor
    assert any(k.startswith('joint.') for k in keys) and \
        any(k.startswith('part.') for k in keys)
    other = make(hidden_channels=6)
    torch.manual_seed(99)
    other.reset_parameters()
    other.load_state_dict(net.state_dict())
    again = run(other.eval(), batch)
    assert torch.allclose(out[0][0], again[0][0])
    assert torch.allclose(out[1][0], again[1][0])
    buf = io.BytesIO()
    torch.save(net, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    assert torch.allclose(run(loaded, batch)[1][0], out[1][0])
    assert str(net) == ('AGCLSTMJointPartNet(3, 4, num_parts=10, '
                        'hidden_channels=6, num_layers=3, pool_size=2, '
                        'fusion_weight=0.5)')
    before = net.part.lin_local.weight.clone()
    net.reset_parameters()
    assert not torch.equal(before, net.part.lin_local.weight)


def test_lazy_input_channels():
    torch.manual_seed(0)
    net = AGCLSTMJointPartNet(-1, 3, PART_EDGE_INDEX, PART_CENTER,
                              hidden_channels=4)
    data = sample(T=4)
    out = net(data.x.float(), data.edge_index, data.partition,
              data.body_part)
    assert out[0][0].shape == out[1][0].shape == (1, 1, 3)
    assert net.part.lin_pos.weight.shape == (2, 3)


def test_errors():
    data = sample(T=4)
    net = make()
    args = (data.x, data.edge_index, data.partition)
    with pytest.raises(ValueError, match=r"'AGCLSTMJointPartNet' expects "
                       r"'part' values in \[0, 9\]"):
        net(*args, data.body_part + 1)
    with pytest.raises(ValueError, match=r"'AGCLSTMJointPartNet' expects "
                       r"'part' of shape \(20,\)"):
        net(*args, data.body_part[:5])
    with pytest.raises(ValueError, match=r"'AGCLSTMJointPartNet' expects at "
                       r"least 4 frames"):
        net(data.x[:, :3], data.edge_index, data.partition, data.body_part)
    with pytest.raises(ValueError, match=r"'AGCLSTMJointPartNet' expects "
                       r"'batch' of shape \(20,\)"):
        net(*args, data.body_part, torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="'fusion_weight' in"):
        make(fusion_weight=-0.1)
    with pytest.raises(ValueError, match=r"mask 'part_center' of shape "
                       r"\(10,\)"):
        AGCLSTMJointPartNet(3, 4, PART_EDGE_INDEX,
                            torch.zeros(7, dtype=torch.bool), num_parts=10)
    with pytest.raises(ValueError, match="'AGCLSTMJointPartNet' found node "
                       "index 9 in 'edge_index'"):
        AGCLSTMJointPartNet(3, 4, PART_EDGE_INDEX,
                            torch.zeros(7, dtype=torch.bool))
    # Parts joined to each other but not to a centre part:
    with pytest.raises(ValueError, match='reaches a centre part'):
        AGCLSTMJointPartNet(3, 4, torch.tensor([[1, 2], [2, 1]]), 0,
                            num_parts=3)
    with pytest.raises(TypeError, match="'part_center' to be an int"):
        AGCLSTMJointPartNet(3, 4, PART_EDGE_INDEX, 'torso')
