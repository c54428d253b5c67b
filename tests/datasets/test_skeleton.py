import pytest
import torch

from tgr.datasets.skeleton import (MSR_LAYOUT, NTU_LAYOUT, PART_NAMES,
                                   bone_lengths, pad, resample, retarget)


def reference_retarget(x, layout, lengths):
    # Joint by joint, each placed from its own parent's new position,
    # walking up to the root recursively.
    parent = layout.parent
    bone_of = {child: i for i, (child, _) in enumerate(layout.bones)}
    out = {}

    def place(j):
        if j in out:
            return out[j]
        if parent[j] < 0:
            out[j] = x[j].clone()
            return out[j]
        v = x[j] - x[parent[j]]
        n = v.norm(dim=-1, keepdim=True)
        unit = torch.where(n > 0, v / n.clamp(min=1e-300), 0 * v)
        out[j] = place(parent[j]) + lengths[bone_of[j]] * unit
        return out[j]

    return torch.stack([place(j) for j in range(layout.num_joints)])


@pytest.mark.parametrize('layout', [MSR_LAYOUT, NTU_LAYOUT])
def test_retarget_matches_reference_and_sets_the_lengths(layout):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(layout.num_joints, 6, 3, generator=gen,
                    dtype=torch.double)
    lengths = torch.rand(len(layout.bones), generator=gen,
                         dtype=torch.double) + 0.1
    out = retarget(x, layout, lengths)
    assert torch.allclose(out, reference_retarget(x, layout, lengths))
    assert torch.allclose(bone_lengths(out, layout),
                          lengths.view(-1, 1).expand(-1, 6))
    assert torch.equal(out[layout.root], x[layout.root])
    # Directions are kept.
    child, parent = layout.edge_index()[:, 0::2]
    before, after = x[child] - x[parent], out[child] - out[parent]
    cos = torch.nn.functional.cosine_similarity(before, after, dim=-1)
    assert torch.allclose(cos, torch.ones_like(cos))


def test_retarget_two_bodies_and_empty_slot():
    J = NTU_LAYOUT.num_joints
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2 * J, 4, 3, generator=gen, dtype=torch.double)
    lengths = torch.full((len(NTU_LAYOUT.bones), ), 0.3, dtype=torch.double)
    out = retarget(x, NTU_LAYOUT, lengths)
    for m in range(2):
        body = slice(m * J, (m + 1) * J)
        assert torch.allclose(out[body], retarget(x[body], NTU_LAYOUT,
                                                  lengths))
    x[J:] = 0  # no second actor
    out = retarget(x, NTU_LAYOUT, lengths)
    assert torch.equal(out[J:], torch.zeros_like(out[J:]))


def test_retarget_errors():
    x = torch.randn(MSR_LAYOUT.num_joints, 3, 3)
    with pytest.raises(ValueError, match=r"'lengths' of shape \(19,\)"):
        retarget(x, MSR_LAYOUT, torch.ones(20))
    with pytest.raises(ValueError, match="'retarget' expects 'x' of shape"):
        retarget(x[:-1], MSR_LAYOUT, torch.ones(19), num_bodies=1)


# Layout #####################################################################
def test_ntu_layout():
    layout = NTU_LAYOUT
    assert layout.num_joints == 25 and len(layout.bones) == 24
    assert layout.joints[layout.center] == 'spine_shoulder'
    assert layout.joints[:4] == ('spine_base', 'spine_mid', 'neck', 'head')
    assert layout.index('right_thumb') == 24
    # A tree: every joint but the root has one parent, all reach the root.
    parent = layout.parent
    assert parent.count(-1) == 1 and parent[layout.root] == -1
    for j in range(layout.num_joints):
        seen = 0
        while parent[j] >= 0:
            j, seen = parent[j], seen + 1
            assert seen <= 25
    # Parts: torso 5, arms 6 each, legs 4 each; the sides are named so.
    part = layout.part()
    assert torch.bincount(part).tolist() == [5, 6, 6, 4, 4]
    for j, name in enumerate(layout.joints):
        p = PART_NAMES[int(part[j])]
        if p != 'torso':
            assert name.startswith(p.split('_')[0])
    # Kinect v2 SDK: thumb on the wrist, hand tip on the hand.
    bones = {(layout.joints[c], layout.joints[p]) for c, p in layout.bones}
    assert ('left_thumb', 'left_wrist') in bones
    assert ('right_hand_tip', 'right_hand') in bones


def test_layout_edge_index_two_bodies():
    ei = NTU_LAYOUT.edge_index(2)
    assert ei.shape == (2, 96) and ei.dtype == torch.long
    one = NTU_LAYOUT.edge_index(1)
    assert torch.equal(ei[:, :48], one) and torch.equal(ei[:, 48:], one + 25)
    # Both directions, no self-loops, no edge between the bodies:
    pairs = set(map(tuple, ei.t().tolist()))
    assert all((b, a) in pairs for a, b in pairs)
    assert (ei[0] != ei[1]).all()
    assert torch.equal(ei[0] // 25, ei[1] // 25)
    assert NTU_LAYOUT.body(2).tolist() == [0] * 25 + [1] * 25
    assert torch.equal(NTU_LAYOUT.part(2), NTU_LAYOUT.part().repeat(2))


def test_layout_rejects_non_trees():
    from tgr.datasets.skeleton import SkeletonLayout
    with pytest.raises(ValueError, match='tree of 2 bones'):
        SkeletonLayout('a', ('a', 'b', 'c'), ((1, 0),), (0, 0, 0), 0, 0)
    with pytest.raises(ValueError, match='top-down order'):
        SkeletonLayout('a', ('a', 'b', 'c'), ((2, 1), (1, 0)), (0, 0, 0), 0,
                       0)
    with pytest.raises(ValueError, match='one part per joint'):
        SkeletonLayout('a', ('a', 'b'), ((1, 0),), (0,), 0, 0)


# Resampling ##################################################################
def test_resample_linear_and_endpoints():
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    assert torch.equal(resample(x, 7), x)
    for num_frames in (1, 2, 5, 13, 40):
        y = resample(x, num_frames)
        assert y.shape == (4, num_frames, 3)
        assert torch.equal(y[:, 0], x[:, 0])
        if num_frames > 1:
            assert torch.equal(y[:, -1], x[:, -1])
    # Linear motion is resampled exactly; 7 -> 13 frames halves the step:
    t = torch.arange(7, dtype=torch.float64)
    line = t.view(1, 7, 1) * torch.tensor([1.0, -2.0, 0.5]).view(1, 1, 3)
    y = resample(line, 13)
    expected = (torch.arange(13, dtype=torch.float64) / 2).view(1, 13, 1) * \
        torch.tensor([1.0, -2.0, 0.5]).view(1, 1, 3)
    assert torch.allclose(y, expected, atol=1e-12)
    # Up and down again returns the input at the kept frames:
    assert torch.allclose(resample(resample(x, 13), 7), x, atol=1e-12)
    # Another time dimension and a single frame:
    assert torch.equal(resample(x, 3, dim=0), resample(x.transpose(0, 1), 3,
                                                       dim=1).transpose(0, 1))
    assert torch.equal(resample(x[:, :1], 4), x[:, :1].expand(4, 4, 3))


def test_resample_and_pad_errors():
    with pytest.raises(ValueError, match="'num_frames' >= 1"):
        resample(torch.zeros(2, 3, 3), 0)
    with pytest.raises(ValueError, match='floating point'):
        resample(torch.zeros(2, 3, 3, dtype=torch.long), 4)
    with pytest.raises(ValueError, match='empty'):
        resample(torch.zeros(2, 0, 3), 4)
    x = torch.randn(2, 5, 3)
    assert torch.equal(pad(x, 8)[:, :5], x) and (pad(x, 8)[:, 5:] == 0).all()
    assert torch.equal(pad(x, 3), x[:, :3])


def test_msr_layout_is_a_tree_with_five_parts():
    layout = MSR_LAYOUT
    assert layout.num_joints == 20 and len(layout.bones) == 19
    assert torch.bincount(layout.part()).tolist() == [4, 4, 4, 4, 4]
    assert layout.joints[layout.root] == 'hip_center'


def test_retarget_leaves_missing_joints_missing():
    # A tracker stores a joint it lost as (0, 0, 0); no bone may point there.
    layout = MSR_LAYOUT
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(layout.num_joints, 5, 3, generator=gen,
                    dtype=torch.double) + 3.0
    elbow, wrist = layout.index('left_elbow'), layout.index('left_wrist')
    hand, shoulder = layout.index('left_hand'), layout.index('left_shoulder')
    x[elbow, 1:3] = 0  # the elbow is lost in frames 1 and 2
    x[hand, 4] = 0     # a leaf is lost in frame 4
    lengths = torch.rand(len(layout.bones), generator=gen,
                         dtype=torch.double) + 0.1
    out = retarget(x, layout, lengths)
    assert (out[elbow, 1:3] == 0).all() and (out[hand, 4] == 0).all()
    # The wrist below the lost elbow moves with the shoulder, its nearest
    # tracked ancestor, and its own child is placed from it as usual:
    shift = out[shoulder, 1:3] - x[shoulder, 1:3]
    assert torch.allclose(out[wrist, 1:3], x[wrist, 1:3] + shift)
    v = x[hand, 1:3] - x[wrist, 1:3]
    expected = out[wrist, 1:3] + lengths[layout.bones.index((hand, wrist))] \
        * v / v.norm(dim=-1, keepdim=True)
    assert torch.allclose(out[hand, 1:3], expected)
    # Frames without a lost joint are retargeted as before:
    full = [0, 3]
    assert torch.allclose(out[:, full], retarget(x[:, full], layout,
                                                 lengths))
    # No tracked joint ends up at the origin:
    tracked = (x != 0).any(dim=-1)
    assert (out.norm(dim=-1)[tracked] > 0).all()


@pytest.mark.parametrize('layout', [MSR_LAYOUT, NTU_LAYOUT])
def test_fine_parts_split_the_five_parts(layout):
    from tgr.datasets.skeleton import FINE_PART_NAMES
    fine, coarse = layout.fine_part(), layout.part()
    assert len(FINE_PART_NAMES) == 10
    assert set(fine.tolist()) == set(range(10))
    # Every fine part lies within one of the five parts, named alike:
    for p, name in enumerate(FINE_PART_NAMES):
        owners = set(coarse[fine == p].tolist())
        assert len(owners) == 1, name
        owner = PART_NAMES[owners.pop()]
        assert owner == 'torso' if name in ('torso', 'head') else \
            name.startswith(owner.split('_')[0]), (name, owner)
    # Every fine part is connected by its own bones (a piece of a limb):
    for p in range(10):
        joints = set((fine == p).nonzero().view(-1).tolist())
        inner = [(c, q) for c, q in layout.bones if c in joints and q in
                 joints]
        assert len(inner) == len(joints) - 1, FINE_PART_NAMES[p]
    assert torch.equal(layout.fine_part(2), fine.repeat(2))


def test_fine_parts_are_checked():
    from tgr.datasets.skeleton import SkeletonLayout
    with pytest.raises(ValueError, match='one fine part per joint'):
        SkeletonLayout('a', ('a', 'b'), ((1, 0),), (0, 0), 0, 0,
                       fine_parts=(0, 1))
    plain = SkeletonLayout('a', ('a', 'b'), ((1, 0),), (0, 0), 0, 0)
    with pytest.raises(ValueError, match='has no fine parts'):
        plain.fine_part()
