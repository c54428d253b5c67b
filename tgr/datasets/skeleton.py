r"""Skeleton layouts and frame resampling shared by the skeleton action
datasets (:class:`~tgr.datasets.NTURGBD`, :class:`~tgr.datasets.MSRAction3D`
and :class:`~tgr.datasets.SyntheticSkeletonActions`).

A skeleton action sample is a :class:`~torch_geometric.data.Data` whose nodes
are the joints, with the frames and the coordinates as features:
:obj:`x` of shape :math:`(|\mathcal{V}|, T, C)`. A layout names the joints,
lists the bones (the edges) and assigns every joint to one of five body parts
(torso, left arm, right arm, left leg, right leg, as in the Part-Aware LSTM of
the `"NTU RGB+D: A Large Scale Dataset for 3D Human Activity Analysis"
<https://arxiv.org/abs/1604.02808>`_ paper).

Two layouts are defined:

- :data:`NTU_LAYOUT`: the 25 joints of the Kinect v2 SDK (``JointType``
  order, as stored in the NTU RGB+D ``.skeleton`` files), with the 24 bones
  that the SDK's ``BodyBasics`` sample draws. Note that ST-GCN's graph for
  NTU RGB+D joins the thumb to the hand tip and the hand tip to the hand;
  the SDK joins the thumb to the wrist and the hand tip to the hand, which is
  what is used here.
- :data:`MSR_LAYOUT`: the 20 joints of Kinect v1 in the order of the MSR
  Action3D skeleton files, which is **not** the order of the Kinect SDK v1
  ``NUI_SKELETON_POSITION_INDEX`` enumeration (see
  :class:`~tgr.datasets.MSRAction3D` for how the order was determined from the
  data), with the 19 bones of the Kinect v1 skeleton.

Besides those five parts, every layout splits the body into ten finer parts
(:data:`FINE_PART_NAMES`: torso, head, the upper and the lower half of every
limb), the nodes of the part-based graph of AGC-LSTM (Joint & Part)
(:class:`tgr.nn.models.AGCLSTMJointPartNet`).

Joint, bone and part indices are 0-based.
"""
from dataclasses import dataclass
from typing import Optional, Tuple

import torch
from torch import Tensor

__all__ = [
    'SkeletonLayout',
    'NTU_LAYOUT',
    'MSR_LAYOUT',
    'PART_NAMES',
    'FINE_PART_NAMES',
    'resample',
    'pad',
    'bone_lengths',
    'retarget',
]

#: The five body parts of the Part-Aware LSTM; :obj:`part` holds their index.
PART_NAMES = ('torso', 'left_arm', 'right_arm', 'left_leg', 'right_leg')

#: The ten finer body parts of :attr:`SkeletonLayout.fine_parts`: torso,
#: head, and each limb in two: upper arm (shoulder and elbow), forearm
#: (wrist and hand), thigh (hip and knee), shank (ankle and foot).
FINE_PART_NAMES = ('torso', 'head', 'left_upper_arm', 'left_forearm',
                   'right_upper_arm', 'right_forearm', 'left_thigh',
                   'left_shank', 'right_thigh', 'right_shank')


@dataclass(frozen=True)
class SkeletonLayout:
    r"""The joints, bones and body parts of a skeleton.

    Args:
        name (str): The name of the layout.
        joints (tuple of str): The joint names, in the order of the data.
        bones (tuple of (int, int)): The bones as :obj:`(child, parent)`
            pairs of joint indices; the parent is the joint nearer to the
            root of the kinematic tree (:obj:`bones[i][1]` is on the path from
            :obj:`bones[i][0]` to the root).
        parts (tuple of int): The body part of every joint, an index into
            :data:`PART_NAMES`.
        center (int): The centre joint of ST-GCN's spatial partitioning (the
            joint the centripetal and centrifugal subsets are measured from).
        root (int): The root of the kinematic tree.
        fine_parts (tuple of int, optional): The finer body part of every
            joint, an index into :data:`FINE_PART_NAMES`; every part must
            hold a joint. (default: :obj:`()`, none)
    """
    name: str
    joints: Tuple[str, ...]
    bones: Tuple[Tuple[int, int], ...]
    parts: Tuple[int, ...]
    center: int
    root: int
    fine_parts: Tuple[int, ...] = ()

    def __post_init__(self):
        n = len(self.joints)
        if len(self.parts) != n:
            raise ValueError(f"'SkeletonLayout' expects one part per joint "
                             f"({len(self.parts)} parts for {n} joints)")
        if len(self.bones) != n - 1:
            raise ValueError(f"'SkeletonLayout' expects a tree of {n - 1} "
                             f"bones (got {len(self.bones)})")
        if self.fine_parts and (len(self.fine_parts) != n or set(
                self.fine_parts) != set(range(len(FINE_PART_NAMES)))):
            raise ValueError(f"'SkeletonLayout' expects one fine part per "
                             f"joint, each of the {len(FINE_PART_NAMES)} "
                             f"parts used (got {self.fine_parts})")
        seen = {self.root}
        for child, parent in self.bones:  # Parents before their children.
            if parent not in seen or child in seen:
                raise ValueError(f"'SkeletonLayout' expects the bones in "
                                 f"top-down order of a tree rooted at "
                                 f"{self.root} (bone {(child, parent)})")
            seen.add(child)

    @property
    def num_joints(self) -> int:
        r"""The number of joints."""
        return len(self.joints)

    @property
    def parent(self) -> Tuple[int, ...]:
        r"""The parent of every joint in the kinematic tree (:obj:`-1` at the
        root)."""
        parent = [-1] * self.num_joints
        for child, par in self.bones:
            parent[child] = par
        return tuple(parent)

    def index(self, name: str) -> int:
        r"""The index of the joint called :obj:`name`."""
        return self.joints.index(name)

    def edge_index(self, num_bodies: int = 1) -> Tensor:
        r"""The bones in both directions, as a :obj:`long` tensor of shape
        :math:`(2, 2 \cdot M \cdot |\text{bones}|)` for :obj:`num_bodies`
        :math:`M` skeletons whose joints are numbered body after body
        (joint :math:`j` of body :math:`m` is node :math:`m \cdot J + j`);
        no edge joins two bodies. Each bone gives the edge child to parent
        first, then parent to child."""
        bones = torch.tensor(self.bones, dtype=torch.long).t()  # (2, B)
        one = torch.stack([bones, bones.flip(0)], dim=2).reshape(2, -1)
        offset = torch.arange(num_bodies) * self.num_joints
        return (one.unsqueeze(1) + offset.view(1, -1, 1)).reshape(2, -1)

    def part(self, num_bodies: int = 1) -> Tensor:
        r"""The body part of every node (:obj:`long`, :math:`(M \cdot J,)`),
        the same for every body."""
        return torch.tensor(self.parts, dtype=torch.long).repeat(num_bodies)

    def fine_part(self, num_bodies: int = 1) -> Tensor:
        r"""The finer body part of every node (:obj:`long`,
        :math:`(M \cdot J,)`; :data:`FINE_PART_NAMES`), the same for every
        body."""
        if not self.fine_parts:
            raise ValueError(f"'SkeletonLayout' {self.name!r} has no fine "
                             f"parts")
        return torch.tensor(self.fine_parts,
                            dtype=torch.long).repeat(num_bodies)

    def body(self, num_bodies: int = 1) -> Tensor:
        r"""The body of every node (:obj:`long`, :math:`(M \cdot J,)`)."""
        return torch.arange(num_bodies).repeat_interleave(self.num_joints)


def _parts(num_joints: int, groups) -> Tuple[int, ...]:
    parts = [-1] * num_joints
    for p, joints in enumerate(groups):
        for j in joints:
            parts[j] = p
    assert -1 not in parts
    return tuple(parts)


#: The NTU RGB+D (Kinect v2) 25-joint layout.
NTU_LAYOUT = SkeletonLayout(
    name='ntu_rgbd',
    joints=(
        'spine_base', 'spine_mid', 'neck', 'head',                    # 0-3
        'left_shoulder', 'left_elbow', 'left_wrist', 'left_hand',     # 4-7
        'right_shoulder', 'right_elbow', 'right_wrist', 'right_hand',  # 8-11
        'left_hip', 'left_knee', 'left_ankle', 'left_foot',           # 12-15
        'right_hip', 'right_knee', 'right_ankle', 'right_foot',       # 16-19
        'spine_shoulder',                                             # 20
        'left_hand_tip', 'left_thumb', 'right_hand_tip', 'right_thumb',
    ),
    bones=(
        (1, 0), (20, 1), (2, 20), (3, 2),                # spine, neck, head
        (4, 20), (5, 4), (6, 5), (7, 6), (21, 7), (22, 6),     # left arm
        (8, 20), (9, 8), (10, 9), (11, 10), (23, 11), (24, 10),  # right arm
        (12, 0), (13, 12), (14, 13), (15, 14),           # left leg
        (16, 0), (17, 16), (18, 17), (19, 18),           # right leg
    ),
    parts=_parts(25, [
        (0, 1, 2, 3, 20),
        (4, 5, 6, 7, 21, 22),
        (8, 9, 10, 11, 23, 24),
        (12, 13, 14, 15),
        (16, 17, 18, 19),
    ]),
    center=20,  # spine_shoulder, as ST-GCN's 'ntu-rgb+d' graph
    root=0,
    fine_parts=_parts(25, [
        (0, 1, 20), (2, 3),
        (4, 5), (6, 7, 21, 22),
        (8, 9), (10, 11, 23, 24),
        (12, 13), (14, 15),
        (16, 17), (18, 19),
    ]),
)

#: The MSR Action3D (Kinect v1) 20-joint layout, in the files' order.
MSR_LAYOUT = SkeletonLayout(
    name='msr_action3d',
    joints=(
        'left_shoulder', 'right_shoulder', 'shoulder_center', 'spine',  # 0-3
        'left_hip', 'right_hip', 'hip_center',                          # 4-6
        'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',       # 7-10
        'left_hand', 'right_hand',                                      # 11-12
        'left_knee', 'right_knee', 'left_ankle', 'right_ankle',         # 13-16
        'left_foot', 'right_foot', 'head',                              # 17-19
    ),
    bones=(
        (3, 6), (2, 3), (19, 2),                 # spine, neck, head
        (0, 2), (7, 0), (9, 7), (11, 9),         # left arm
        (1, 2), (8, 1), (10, 8), (12, 10),       # right arm
        (4, 6), (13, 4), (15, 13), (17, 15),     # left leg
        (5, 6), (14, 5), (16, 14), (18, 16),     # right leg
    ),
    parts=_parts(20, [
        (2, 3, 6, 19),
        (0, 7, 9, 11),
        (1, 8, 10, 12),
        (4, 13, 15, 17),
        (5, 14, 16, 18),
    ]),
    center=2,  # shoulder_center, the Kinect v1 joint of NTU's spine_shoulder
    root=6,
    fine_parts=_parts(20, [
        (2, 3, 6), (19, ),
        (0, 7), (9, 11),
        (1, 8), (10, 12),
        (4, 13), (15, 17),
        (5, 14), (16, 18),
    ]),
)


def resample(x: Tensor, num_frames: int, dim: int = 1) -> Tensor:
    r"""Resamples the frames of :obj:`x` along :obj:`dim` to
    :obj:`num_frames` frames by linear interpolation over time.

    Output frame :math:`k` is the input at time
    :math:`k \cdot (L - 1) / (T - 1)` for :math:`L` input and :math:`T`
    output frames, so the first and the last frame are kept exactly (a
    single input frame is repeated; a single output frame is the first
    frame). A sequence of :obj:`num_frames` frames is returned unchanged (a
    copy).

    Args:
        x (torch.Tensor): A floating point tensor, e.g. :math:`(J, L, C)`.
        num_frames (int): The number :math:`T` of output frames.
        dim (int, optional): The time dimension. (default: :obj:`1`)
    """
    if num_frames < 1:
        raise ValueError(f"'resample' expects 'num_frames' >= 1 "
                         f"(got {num_frames})")
    if not x.is_floating_point():
        raise ValueError(f"'resample' expects a floating point tensor "
                         f"(got {x.dtype})")
    length = x.size(dim)
    if length == 0:
        raise ValueError("'resample' cannot resample an empty sequence")
    if length == num_frames:
        return x.clone()
    if length == 1 or num_frames == 1:
        return x.narrow(dim, 0, 1).repeat_interleave(num_frames, dim=dim)
    pos = torch.linspace(0, length - 1, num_frames, dtype=torch.float64)
    lo = pos.floor().long().clamp_(max=length - 2)
    w = (pos - lo).to(x.dtype)
    shape = [1] * x.dim()
    shape[dim] = num_frames
    w = w.view(shape).to(x.device)
    lo = lo.to(x.device)
    a = x.index_select(dim, lo)
    b = x.index_select(dim, lo + 1)
    return a * (1 - w) + b * w  # exact at w = 0 and at w = 1


def pad(x: Tensor, num_frames: int, dim: int = 1) -> Tensor:
    r"""Pads :obj:`x` with zero frames at the end along :obj:`dim` to
    :obj:`num_frames` frames, or keeps its first :obj:`num_frames` frames if
    it is longer."""
    if num_frames < 1:
        raise ValueError(f"'pad' expects 'num_frames' >= 1 (got {num_frames})")
    length = x.size(dim)
    if length >= num_frames:
        return x.narrow(dim, 0, num_frames).clone()
    shape = list(x.shape)
    shape[dim] = num_frames - length
    return torch.cat([x, x.new_zeros(shape)], dim=dim)


def bone_lengths(x: Tensor, layout: SkeletonLayout,
                 num_bodies: Optional[int] = None) -> Tensor:
    r"""The length of every bone in every frame.

    Args:
        x (torch.Tensor): Joint positions :math:`(M \cdot J, T, 3)`.
        layout (SkeletonLayout): The layout of :obj:`x`.
        num_bodies (int, optional): The number :math:`M` of bodies; derived
            from the size of :obj:`x` if not given. (default: :obj:`None`)

    Returns:
        :math:`(M \cdot |\text{bones}|, T)`: bone :math:`i` of body
        :math:`m` in row :math:`m \cdot |\text{bones}| + i`, in the order of
        :obj:`layout.bones`.
    """
    if num_bodies is None:
        num_bodies = x.size(0) // layout.num_joints
    child, parent = layout.edge_index(num_bodies)[:, 0::2]
    return (x[child] - x[parent]).norm(dim=-1)


def retarget(x: Tensor, layout: SkeletonLayout, lengths: Tensor,
             num_bodies: Optional[int] = None) -> Tensor:
    r"""Moves every joint so that each bone gets the given length while
    keeping its direction: the pose of :obj:`x` on a skeleton of fixed
    proportions, without the subject's body size (the invariance that
    Lie-group skeleton features get from relative rotations).

    Walking the kinematic tree from the root (which stays in place),

    .. math::
        \mathbf{x}'_c = \mathbf{x}'_p + \ell_{cp}
        \frac{\mathbf{x}_c - \mathbf{x}_p}{\lVert \mathbf{x}_c -
        \mathbf{x}_p \rVert}

    for every bone from parent :math:`p` to child :math:`c`; a bone of
    length zero puts the child onto its parent.

    Missing joints: a joint whose coordinates in a frame are all zero (as
    trackers store a joint they lost, and as an empty body slot is stored)
    is missing there and stays missing (zero) in the output; no bone points
    at it. A tracked joint whose parent is missing is moved by the same
    displacement as its nearest tracked ancestor (the root does not move),
    so it keeps its place relative to that ancestor, and its own children
    are placed from it by the formula above.

    Args:
        x (torch.Tensor): Joint positions :math:`(M \cdot J, T, 3)`.
        layout (SkeletonLayout): The layout of :obj:`x`.
        lengths (torch.Tensor): The length :math:`\ell` of every bone,
            :math:`(|\text{bones}|,)` in the order of :obj:`layout.bones`
            (e.g. the mean of :func:`bone_lengths` over a training set).
        num_bodies (int, optional): The number :math:`M` of bodies; derived
            from the size of :obj:`x` if not given. (default: :obj:`None`)
    """
    if lengths.shape != (len(layout.bones), ):
        raise ValueError(f"'retarget' expects 'lengths' of shape "
                         f"({len(layout.bones)},), one per bone (got "
                         f"{tuple(lengths.shape)})")
    J = layout.num_joints
    if num_bodies is None:
        num_bodies = x.size(0) // J
    if x.dim() != 3 or x.size(0) != num_bodies * J:
        raise ValueError(f"'retarget' expects 'x' of shape ({num_bodies} * "
                         f"{J}, T, C) (got {tuple(x.shape)})")
    offset = torch.arange(num_bodies, device=x.device) * J
    out = x.clone()
    missing = (x == 0).all(dim=-1, keepdim=True)  # (M * J, T, 1)
    shift = torch.zeros_like(x)  # out - x, inherited by missing joints
    lengths = lengths.to(x.dtype)
    for (child, parent), length in zip(layout.bones, lengths):
        c, p = offset + child, offset + parent  # parents come first
        v = x[c] - x[p]
        norm = v.norm(dim=-1, keepdim=True)
        unit = torch.where(norm > 0, v / norm.clamp(min=1e-12),
                           torch.zeros_like(v))
        placed = torch.where(missing[p], x[c] + shift[p],
                             out[p] + length * unit)
        out[c] = torch.where(missing[c], x[c], placed)
        shift[c] = torch.where(missing[c], shift[p], out[c] - x[c])
    return out
