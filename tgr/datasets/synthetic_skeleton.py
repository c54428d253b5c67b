r"""Synthetic skeleton actions on the NTU RGB+D layout
(:class:`SyntheticSkeletonActions`), so that skeleton models run with no data
to download."""
import math
from typing import Callable, List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from .base import TGRDataset, check_choice
from .skeleton import NTU_LAYOUT

__all__ = ['SyntheticSkeletonActions']

# A standing pose on the NTU RGB+D layout, in metres, relative to the spine
# base: y up, the subject's left at negative x (as in NTU's camera space for
# a subject facing the camera), the feet and thumbs pointing to -z.
_LEFT = {
    4: (-0.17, 0.45, 0.0), 5: (-0.20, 0.20, 0.0), 6: (-0.22, -0.02, 0.0),
    7: (-0.22, -0.09, 0.0), 21: (-0.22, -0.16, 0.0), 22: (-0.19, -0.07, -0.03),
    12: (-0.08, 0.0, 0.0), 13: (-0.09, -0.40, 0.0), 14: (-0.09, -0.78, 0.0),
    15: (-0.09, -0.82, -0.10),
}
_MIRROR = {4: 8, 5: 9, 6: 10, 7: 11, 21: 23, 22: 24, 12: 16, 13: 17, 14: 18,
           15: 19}


def _rest_pose() -> Tensor:
    pose = torch.zeros(NTU_LAYOUT.num_joints, 3, dtype=torch.float64)
    for j, xyz in {1: (0.0, 0.28, 0.0), 20: (0.0, 0.48, 0.0),
                   2: (0.0, 0.55, 0.0), 3: (0.0, 0.68, 0.0)}.items():
        pose[j] = torch.tensor(xyz)
    for j, xyz in _LEFT.items():
        pose[j] = torch.tensor(xyz)
        pose[_MIRROR[j]] = torch.tensor((-xyz[0], xyz[1], xyz[2]))
    return pose


# Joints whose rotation drives a class's motion (each rotates the bones below
# it): spine, neck, shoulders, elbows, wrists, hips, knees.
_DRIVERS = (1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 16, 17)


def _rotation(axis: Tensor, angle: Tensor) -> Tensor:
    # Rodrigues' formula: (T,) angles about a unit axis -> (T, 3, 3).
    k = torch.zeros(3, 3, dtype=angle.dtype)
    k[0, 1], k[0, 2], k[1, 2] = -axis[2], axis[1], -axis[0]
    k = k - k.t()
    s, c = angle.sin().view(-1, 1, 1), angle.cos().view(-1, 1, 1)
    return torch.eye(3, dtype=angle.dtype) + s * k + (1 - c) * (k @ k)


class SyntheticSkeletonActions(TGRDataset):
    r"""A synthetic skeleton action dataset on the NTU RGB+D 25-joint layout
    (:data:`~tgr.datasets.skeleton.NTU_LAYOUT`), so that skeleton models run
    with no data to download.

    Every class moves a few joints (one to three of the spine, neck,
    shoulders, elbows, wrists, hips and knees) periodically: each such joint
    rotates the bones below it about a class-specific axis by
    :math:`\theta(\tau) = A \sin(2 \pi f \tau + \varphi)` over the sequence's
    normalised time :math:`\tau \in [0, 1)`, with a class-specific amplitude
    :math:`A`, frequency :math:`f` (1 to 3 cycles) and phase
    :math:`\varphi`. The joint positions follow by forward kinematics from a
    standing pose, so bones keep their lengths. Every sample draws its own
    amplitude (:math:`\times 0.8` to :math:`1.2`), frequency
    (:math:`\times 0.9` to :math:`1.1`) and phase jitter, body size
    (:math:`\times 0.9` to :math:`1.1`), rotation about the vertical axis
    (:math:`\pm 30` degrees), position, and true length :obj:`length`
    (:math:`0.75` to :math:`1.5` times :obj:`num_frames`; the motion is
    sampled at the :obj:`num_frames` times that resampling those frames
    would give), and gets Gaussian noise of standard deviation :obj:`noise`
    on every coordinate.

    The class motions depend only on :obj:`seed` (the same for every split);
    the samples on :obj:`seed` and :obj:`split`, so the splits are disjoint
    draws and every call with the same arguments gives the same data. Labels
    are balanced (sample :math:`i` has label :math:`i \bmod C`).

    Every sample has the fields of :class:`~tgr.datasets.NTURGBD` with
    :obj:`max_bodies=1`: :obj:`x` (:obj:`float32`, :math:`(25, T, 3)`),
    :obj:`edge_index` (:math:`(2, 48)`), :obj:`part` (:math:`(25,)`),
    :obj:`body` (:math:`(25,)`, zeros), :obj:`y`, :obj:`length` and
    :obj:`num_bodies` (:obj:`1`), all :obj:`long` but :obj:`x`.

    Args:
        num_samples (int, optional): The number of samples.
            (default: :obj:`512`)
        num_classes (int, optional): The number :math:`C` of actions.
            (default: :obj:`10`)
        num_frames (int, optional): The number :math:`T` of frames.
            (default: :obj:`32`)
        seed (int, optional): The random seed. (default: :obj:`0`)
        split (str, optional): :obj:`"train"`, :obj:`"val"` or
            :obj:`"test"`. (default: :obj:`"train"`)
        noise (float, optional): The standard deviation of the noise, in
            metres. (default: :obj:`0.01`)
        transform (callable, optional): A function/transform that takes in a
            :class:`~torch_geometric.data.Data` object and returns a
            transformed version. The data object will be transformed before
            every access. (default: :obj:`None`)
    """
    splits = ('train', 'val', 'test')

    def __init__(self, num_samples: int = 512, num_classes: int = 10,
                 num_frames: int = 32, seed: int = 0, split: str = 'train',
                 noise: float = 0.01,
                 transform: Optional[Callable] = None) -> None:
        name = self.__class__.__name__
        check_choice(name, 'split', split, self.splits)
        for arg, value, low in (('num_samples', num_samples, 1),
                                ('num_classes', num_classes, 1),
                                ('num_frames', num_frames, 2)):
            if int(value) < low:
                raise ValueError(f"'{name}' expects '{arg}' >= {low} (got "
                                 f"{value})")
        if noise < 0:
            raise ValueError(f"'{name}' expects 'noise' >= 0 (got {noise})")
        super().__init__(None, transform)
        self.num_samples = int(num_samples)
        self._num_classes = int(num_classes)
        self.num_frames = int(num_frames)
        self.seed = int(seed)
        self.split = split
        self.noise = float(noise)
        self.data, self.slices = self.collate(self._generate())

    @property
    def num_classes(self) -> int:
        return self._num_classes

    def _templates(self) -> List[List[Tuple[int, Tensor, float, float,
                                            float]]]:
        gen = torch.Generator().manual_seed(self.seed)
        templates = []
        for _ in range(self._num_classes):
            k = int(torch.randint(1, 4, (1,), generator=gen))
            joints = torch.randperm(len(_DRIVERS), generator=gen)[:k]
            motions = []
            for j in joints.tolist():
                axis = torch.randn(3, generator=gen, dtype=torch.float64)
                axis = axis / axis.norm()
                amp, freq, phase = torch.rand(3, generator=gen,
                                              dtype=torch.float64).tolist()
                motions.append((_DRIVERS[j], axis, 0.4 + 0.8 * amp,
                                1.0 + 2.0 * freq, 2 * math.pi * phase))
            templates.append(motions)
        return templates

    def _generate(self) -> List[Data]:
        templates = self._templates()
        state = np.random.SeedSequence(
            [self.seed, self.splits.index(self.split)]).generate_state(1)
        gen = torch.Generator().manual_seed(int(state[0]))

        def uniform(low: float, high: float, *size: int) -> Tensor:
            return low + (high - low) * torch.rand(
                *(size or (1,)), generator=gen, dtype=torch.float64)

        rest = _rest_pose()
        parent = NTU_LAYOUT.parent
        order = [NTU_LAYOUT.root] + [child for child, _ in NTU_LAYOUT.bones]
        low = max(2, round(0.75 * self.num_frames))
        high = max(low, round(1.5 * self.num_frames))
        up = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
        data_list = []
        for i in range(self.num_samples):
            y = i % self._num_classes
            length = int(torch.randint(low, high + 1, (1,), generator=gen))
            # The times of the frames of a linear resampling of the `length`
            # frames at t / length (t < length) to `num_frames` frames; the
            # motion is evaluated there, so bones keep their exact lengths.
            tau = torch.linspace(0, (length - 1) / length, self.num_frames,
                                 dtype=torch.float64)
            local = {}
            for joint, axis, amp, freq, phase in templates[y]:
                a = amp * float(uniform(0.8, 1.2))
                f = freq * float(uniform(0.9, 1.1))
                p = phase + float(uniform(-0.3, 0.3))
                angle = a * torch.sin(2 * math.pi * f * tau + p)
                local[joint] = _rotation(axis, angle)
            scale = float(uniform(0.9, 1.1))
            view = _rotation(up, uniform(-math.pi / 6, math.pi / 6))[0]
            shift = torch.cat([uniform(-0.5, 0.5), uniform(-0.2, 0.2),
                               uniform(2.5, 3.5)])

            num_frames = self.num_frames
            rot = [None] * NTU_LAYOUT.num_joints  # global rotations (T, 3, 3)
            pos = torch.zeros(NTU_LAYOUT.num_joints, num_frames, 3,
                              dtype=torch.float64)
            for j in order:
                par = parent[j]
                if par < 0:
                    rot[j] = view.expand(num_frames, 3, 3)
                else:
                    offset = scale * (rest[j] - rest[par])
                    pos[j] = pos[par] + rot[par] @ offset
                    rot[j] = rot[par]
                if j in local:
                    rot[j] = rot[j] @ local[j]
            x = pos + shift
            x = x + self.noise * torch.randn(x.shape, generator=gen,
                                             dtype=torch.float64)
            data_list.append(Data(
                x=x.to(torch.float32), edge_index=NTU_LAYOUT.edge_index(),
                part=NTU_LAYOUT.part(), body=NTU_LAYOUT.body(),
                y=torch.tensor([y]), length=torch.tensor([length]),
                num_bodies=torch.tensor([1])))
        return data_list

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({len(self)}, '
                f'num_classes={self._num_classes}, '
                f'num_frames={self.num_frames}, split={self.split!r})')
