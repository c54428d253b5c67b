import pytest
import torch

from tgr.datasets.skeleton import (MSR_LAYOUT, NTU_LAYOUT, bone_lengths,
                                   retarget)


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
