r"""The NTU RGB+D and NTU RGB+D 120 skeleton action datasets
(:class:`NTURGBD`), read with :func:`tgr.io.read_ntu_skeleton`, and ST-GCN's
preprocessed arrays of them (:func:`from_stgcn_array`)."""
import os
import os.path as osp
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from tqdm import tqdm

from ..io.ntu_skeleton import (NTUName, NTUSkeleton, parse_ntu_name,
                               read_ntu_skeleton)
from .base import TGRDataset, check_at_least, check_choice
from .ntu_rgbd_missing import BENCHMARKS, missing_skeletons
from .skeleton import NTU_LAYOUT
from .skeleton import pad as pad_frames
from .skeleton import resample as resample_frames

__all__ = [
    'NTURGBD',
    'read_ntu_skeleton',
    'select_bodies',
    'missing_skeletons',
    'parse_ntu_name',
    'from_stgcn_array',
]

#: Cross-subject training subjects of NTU RGB+D (60 classes).
XSUB_TRAIN_SUBJECTS = frozenset({
    1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38,
})
#: Cross-subject training subjects of NTU RGB+D 120.
XSUB120_TRAIN_SUBJECTS = XSUB_TRAIN_SUBJECTS | frozenset({
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81,
    82, 83, 84, 85, 86, 89, 91, 92, 93, 94, 95, 97, 98, 100, 103,
})
#: Cross-view training cameras of NTU RGB+D (60 classes).
XVIEW_TRAIN_CAMERAS = frozenset({2, 3})


def select_bodies(skeleton: NTUSkeleton, max_bodies: int = 2,
                  ) -> Tuple[Tensor, int]:
    r"""Picks the main actors of a sequence and lays them out in
    :obj:`max_bodies` body slots over all its frames.

    Every body ID is one track (the frames it appears in). Its motion is the
    sum over its joints and coordinates of the variance of the position over
    those frames (the dataset FAQ's criterion; a track of one frame has no
    motion). Tracks are taken by decreasing motion (ties: first appearance
    first); each goes to the first slot whose frames it does not overlap,
    which joins a body whose ID changed during the sequence back into one
    slot; a track that overlaps every slot when all slots are in use is
    dropped. Slot :obj:`0` thus holds the body with the most motion. Frames
    where a slot has no body are zeros.

    Returns:
        :obj:`(joints, num_bodies)`: the positions (:obj:`float32`,
        :math:`(M, T, 25, 3)` for :math:`M` = :obj:`max_bodies` and the
        file's :math:`T` frames) and the number of slots in use.
    """
    if max_bodies < 1:
        raise ValueError(f"'select_bodies' expects 'max_bodies' >= 1 (got "
                         f"{max_bodies})")
    num_frames = skeleton.num_frames
    out = torch.zeros(max_bodies, num_frames, NTU_LAYOUT.num_joints, 3)
    tracks = []
    for order, (frames, joints) in enumerate(skeleton.bodies.values()):
        motion = float(joints.var(dim=0, correction=0).sum()) \
            if frames.numel() > 1 else 0.0
        tracks.append((-motion, order, frames, joints))
    tracks.sort(key=lambda track: track[:2])
    used = torch.zeros(max_bodies, num_frames, dtype=torch.bool)
    num_bodies = 0
    for _, _, frames, joints in tracks:
        for slot in range(max_bodies):
            if not used[slot, frames].any():
                used[slot, frames] = True
                out[slot, frames] = joints.to(out.dtype)
                num_bodies = max(num_bodies, slot + 1)
                break
    return out, num_bodies


def _to_data(joints: Tensor, num_bodies: int, length: int,
             num_frames: Optional[int], resample: bool) -> Data:
    # `joints`: (M, T, 25, 3) -> x: (M * 25, T, 3), node m * 25 + j.
    m = joints.size(0)
    x = joints.permute(0, 2, 1, 3).reshape(m * NTU_LAYOUT.num_joints, -1, 3)
    if num_frames is not None:
        if length > 0:
            x = x[:, :length]
            x = resample_frames(x, num_frames) if resample else \
                pad_frames(x, num_frames)
        else:
            x = x.new_zeros(x.size(0), num_frames, 3)
    return Data(x=x.contiguous(), edge_index=NTU_LAYOUT.edge_index(m),
                part=NTU_LAYOUT.part(m), body=NTU_LAYOUT.body(m),
                length=torch.tensor([length]),
                num_bodies=torch.tensor([num_bodies]))


def from_stgcn_array(arr: Union[np.ndarray, Tensor],
                     num_frames: Optional[int] = None, resample: bool = True,
                     y: Optional[int] = None) -> Data:
    r"""Converts one NTU RGB+D sample in the layout of ST-GCN's preprocessed
    arrays, :math:`(C, T, V, M) = (3, T, 25, M)` zero-padded in time, into a
    :class:`~torch_geometric.data.Data` of the form of :class:`NTURGBD`.

    The true length is the number of frames up to the last frame with a
    non-zero value, the number of bodies the number of bodies with a
    non-zero value; the bodies keep the array's order.

    Args:
        arr (numpy.ndarray or torch.Tensor): The array, e.g. one sample of
            ST-GCN's :obj:`train_data.npy` (:math:`(N, 3, 300, 25, 2)`).
        num_frames (int, optional): If given, the true frames are resampled
            (or padded) to :obj:`num_frames` frames as in :class:`NTURGBD`;
            otherwise all :math:`T` frames of the array are kept.
            (default: :obj:`None`)
        resample (bool, optional): Resample (:obj:`True`) or zero-pad
            (:obj:`False`) to :obj:`num_frames`. (default: :obj:`True`)
        y (int, optional): The 0-based label, stored as :obj:`y` if given
            (the arrays keep the labels in a separate file).
            (default: :obj:`None`)
    """
    x = torch.as_tensor(np.asarray(arr) if not isinstance(arr, Tensor)
                        else arr)
    if x.dim() != 4 or x.size(0) != 3 or x.size(2) != NTU_LAYOUT.num_joints:
        raise ValueError(f"'from_stgcn_array' expects an array of shape "
                         f"(3, T, {NTU_LAYOUT.num_joints}, M) (got "
                         f"{tuple(x.shape)})")
    x = x.to(torch.float32)
    nonzero = x != 0
    frames = nonzero.any(dim=3).any(dim=2).any(dim=0).nonzero().view(-1)
    length = int(frames[-1]) + 1 if frames.numel() > 0 else 0
    num_bodies = int(nonzero.any(dim=2).any(dim=1).any(dim=0).sum())
    joints = x.permute(3, 1, 2, 0)  # (M, T, V, C)
    data = _to_data(joints, num_bodies, length, num_frames, resample)
    if y is not None:
        data.y = torch.tensor([int(y)])
    return data


class NTURGBD(TGRDataset):
    r"""The NTU RGB+D and NTU RGB+D 120 skeleton action datasets from the
    `"NTU RGB+D: A Large Scale Dataset for 3D Human Activity Analysis"
    <https://arxiv.org/abs/1604.02808>`_ paper (Shahroudy et al., CVPR 2016)
    and the `"NTU RGB+D 120: A Large-Scale Benchmark for 3D Human Activity
    Understanding" <https://arxiv.org/abs/1905.04757>`_ paper (Liu et al.,
    TPAMI 2020), read from the raw Kinect v2 :obj:`.skeleton` files.

    Every sample is one :class:`~torch_geometric.data.Data` object with

    - :obj:`x` (:obj:`float32`, :math:`(M \cdot 25, T, 3)`): the camera-space
      position (metres) of the 25 joints of :math:`M` = :obj:`max_bodies`
      bodies in :math:`T` = :obj:`num_frames` frames; joint :math:`j` of body
      :math:`m` is node :math:`m \cdot 25 + j`
      (:data:`~tgr.datasets.skeleton.NTU_LAYOUT` order). Body :obj:`0` is the
      main actor (the most motion); a body slot without a body (a
      one-person action with :obj:`max_bodies=2`) is all zeros, as in
      ST-GCN's :math:`M = 2` layout;
    - :obj:`edge_index` (:math:`(2, M \cdot 48)`): the 24 bones of each body
      in both directions; no edge joins two bodies;
    - :obj:`part` (:obj:`long`, :math:`(M \cdot 25,)`): the body part of
      every joint (:obj:`0` torso, :obj:`1` left arm, :obj:`2` right arm,
      :obj:`3` left leg, :obj:`4` right leg); the same for both bodies (use
      :obj:`part + 5 * body` for ten groups);
    - :obj:`body` (:obj:`long`, :math:`(M \cdot 25,)`): the body slot of
      every joint;
    - :obj:`y` (:obj:`long`, :math:`(1,)`): the action, 0-based
      (:obj:`A001` is :obj:`0`);
    - :obj:`length` (:obj:`long`, :math:`(1,)`): the number of frames in the
      file, before resampling or padding;
    - :obj:`num_bodies` (:obj:`long`, :math:`(1,)`): the number of body slots
      in use (:obj:`0` to :obj:`max_bodies`);
    - :obj:`subject` (:obj:`long`, :math:`(1,)`): the performer (:obj:`P`);
    - :obj:`name` (:obj:`str`): the sample name, e.g.
      :obj:`"S001C001P001R001A011"`.

    Samples are in file name order. In a :class:`~torch_geometric.data.Batch`
    :obj:`edge_index` is shifted and :obj:`part` and :obj:`body` are not.

    Choice of bodies: every body ID of the file is a track; tracks are taken
    by decreasing motion (the sum of the variances over time of the joint
    coordinates) and each is put into the first body slot whose frames it
    does not overlap (so a body whose ID changes mid-sequence stays in one
    slot); tracks that overlap every slot are dropped (see
    :func:`select_bodies`). Frames are kept as in the file (frames without a
    body are zeros) and then resampled by linear interpolation over time to
    :obj:`num_frames` frames (or zero-padded, or cut, with
    :obj:`resample=False`; ST-GCN pads to :obj:`300`).

    Benchmarks: :obj:`"xsub"` and :obj:`"xview"` use the 56,880 samples of
    NTU RGB+D (setups :obj:`S001` to :obj:`S017`, actions :obj:`A001` to
    :obj:`A060`; files of other setups or actions in :obj:`raw/` are
    ignored): cross-subject trains on subjects 1, 2, 4, 5, 8, 9, 13, 14, 15,
    16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38, cross-view on cameras 2 and
    3. :obj:`"xsub120"` and :obj:`"xset120"` use all 114,480 samples of NTU
    RGB+D 120: cross-subject trains on the 53 subjects of the paper,
    cross-setup on the even setup IDs. The samples of the official lists of
    missing or incomplete skeletons are dropped (:func:`missing_skeletons`:
    302 for NTU RGB+D, 535 for NTU RGB+D 120).

    The files cannot be downloaded automatically: request
    :obj:`nturgbd_skeletons_s001_to_s017.zip` (and, for the 120-class
    benchmarks, :obj:`nturgbd_skeletons_s018_to_s032.zip`) from the `ROSE Lab
    <https://rose1.ntu.edu.sg/dataset/actionRecognition/>`_ and put (or
    link) the :obj:`.skeleton` files into :obj:`root/raw/`. Only the files
    of the requested benchmark and split are parsed; the result is cached in
    :obj:`root/processed/`, one file per benchmark, split and frame option.

    Args:
        root (str): Root directory; the :obj:`.skeleton` files are in
            :obj:`root/raw/`.
        benchmark (str, optional): :obj:`"xsub"`, :obj:`"xview"`,
            :obj:`"xsub120"` or :obj:`"xset120"`. (default: :obj:`"xsub"`)
        split (str, optional): :obj:`"train"` or :obj:`"test"`.
            (default: :obj:`"train"`)
        num_frames (int, optional): The number :math:`T` of frames of every
            sample. (default: :obj:`100`)
        resample (bool, optional): If :obj:`True`, resample the frames by
            linear interpolation over time to :obj:`num_frames`; otherwise
            zero-pad at the end (and cut sequences longer than
            :obj:`num_frames`; :obj:`length` stays the file's count).
            (default: :obj:`True`)
        max_bodies (int, optional): The number :math:`M` of body slots.
            (default: :obj:`2`)
        transform (callable, optional): Applied to every sample on access.
            (default: :obj:`None`)
        pre_transform (callable, optional): Applied once to every sample
            before saving. (default: :obj:`None`)
        pre_filter (callable, optional): Keeps the samples for which it
            returns :obj:`True`. (default: :obj:`None`)
        force_reload (bool, optional): Re-process the raw files.
            (default: :obj:`False`)
        log (bool, optional): Show progress. (default: :obj:`True`)

    **STATS:**

    .. list-table::
        :widths: 20 10 10 10
        :header-rows: 1

        * - Benchmark
          - #train
          - #test
          - #classes
        * - xsub
          - 40,091
          - 16,487
          - 60
        * - xview
          - 37,646
          - 18,932
          - 60
        * - xsub120
          - 63,026
          - 50,919
          - 120
        * - xset120
          - 54,468
          - 59,477
          - 120
    """
    benchmarks = BENCHMARKS
    splits = ('train', 'test')
    url = 'https://rose1.ntu.edu.sg/dataset/actionRecognition/'

    def __init__(self, root: str, benchmark: str = 'xsub',
                 split: str = 'train', num_frames: int = 100,
                 resample: bool = True, max_bodies: int = 2,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None,
                 force_reload: bool = False, log: bool = True) -> None:
        name = self.__class__.__name__
        check_choice(name, 'benchmark', benchmark, self.benchmarks)
        check_choice(name, 'split', split, self.splits)
        self.benchmark = benchmark
        self.split = split
        self.num_frames = check_at_least(name, 'num_frames', num_frames)
        self.max_bodies = check_at_least(name, 'max_bodies', max_bodies)
        self.resample = bool(resample)
        super().__init__(root, transform, pre_transform, pre_filter,
                         force_reload=force_reload, log=log)
        self.load(self.processed_paths[0])

    @property
    def num_classes(self) -> int:
        r"""The number of actions of the benchmark (:obj:`60` or
        :obj:`120`), whichever samples :obj:`root/raw/` holds."""
        return 120 if self.benchmark.endswith('120') else 60

    @property
    def raw_file_names(self) -> List[str]:
        return []  # Any set of .skeleton files: see missing_raw_files().

    @property
    def processed_file_names(self) -> List[str]:
        frames = 'resample' if self.resample else 'pad'
        return [f'{self.benchmark}_{self.split}_{frames}{self.num_frames}_'
                f'bodies{self.max_bodies}.pt']

    def describe_raw_files(self, missing: Sequence[str]) -> str:
        return "the NTU RGB+D '.skeleton' files"

    def how_to_get(self, raw_dir: str) -> str:
        return (f"request them from {self.url} and put (or link) them into "
                f"'{raw_dir}'")

    def _skeleton_files(self) -> List[str]:
        if not osp.isdir(self.raw_dir):
            return []
        return sorted(f for f in os.listdir(self.raw_dir)
                      if f.endswith('.skeleton'))

    def missing_raw_files(self) -> List[str]:
        return [] if self._skeleton_files() else ['*.skeleton']

    def _in_split(self, name: NTUName) -> Optional[bool]:
        # True: training, False: test, None: not in this benchmark.
        if self.benchmark in ('xsub', 'xview'):
            if name.setup > 17 or name.action > 60:
                return None
            if self.benchmark == 'xsub':
                return name.subject in XSUB_TRAIN_SUBJECTS
            return name.camera in XVIEW_TRAIN_CAMERAS
        if self.benchmark == 'xsub120':
            return name.subject in XSUB120_TRAIN_SUBJECTS
        return name.setup % 2 == 0

    def process(self) -> None:
        missing = missing_skeletons(self.benchmark)
        train = self.split == 'train'
        files = []
        for file in self._skeleton_files():
            name = parse_ntu_name(file)  # ValueError on a foreign name
            in_train = self._in_split(name)
            if in_train is None or in_train != train:
                continue
            if file[:-len('.skeleton')] in missing:
                continue
            files.append((file, name))

        data_list = []
        desc = f'NTU RGB+D {self.benchmark} {self.split}'
        for file, name in tqdm(files, desc=desc, unit='file',
                               disable=not self.log):
            skeleton = read_ntu_skeleton(osp.join(self.raw_dir, file))
            if skeleton.num_frames == 0:
                raise ValueError(f"NTU RGB+D file "
                                 f"'{osp.join(self.raw_dir, file)}', line 1: "
                                 f"the file has no frames")
            joints, num_bodies = select_bodies(skeleton, self.max_bodies)
            data = _to_data(joints, num_bodies, skeleton.num_frames,
                            self.num_frames, self.resample)
            data.y = torch.tensor([name.action - 1])
            data.subject = torch.tensor([name.subject])
            data.name = file[:-len('.skeleton')]
            data = self.pre_process(data)
            if data is None:
                continue
            data_list.append(data)
        self.save(data_list, self.processed_paths[0])

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({len(self)}, '
                f'benchmark={self.benchmark!r}, split={self.split!r})')
