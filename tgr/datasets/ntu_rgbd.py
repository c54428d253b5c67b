import os
import os.path as osp
import re
from typing import Callable, Dict, FrozenSet, List, NamedTuple, Optional, \
    Tuple, Union

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data, InMemoryDataset
from torch_geometric.io import fs
from tqdm import tqdm

from .skeleton import NTU_LAYOUT
from .skeleton import pad as pad_frames
from .skeleton import resample as resample_frames
from ._io import atomic_save_data_list, check_choice, check_raw_link

__all__ = [
    'NTURGBD',
    'read_ntu_skeleton',
    'select_bodies',
    'missing_skeletons',
    'parse_ntu_name',
    'from_stgcn_array',
]

_URL = 'https://rose1.ntu.edu.sg/dataset/actionRecognition/'

_NAME = re.compile(r'S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})')

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

_JOINT_VALUES = 12  # x y z depthX depthY colorX colorY orientation(4) state
_BODY_VALUES = 10


class NTUName(NamedTuple):
    setup: int
    camera: int
    subject: int
    replication: int
    action: int


def parse_ntu_name(name: str) -> NTUName:
    r"""Splits a sample name :obj:`"SsssCcccPpppRrrrAaaa"` (with or without
    the :obj:`".skeleton"` extension) into its setup, camera, subject
    (performer), replication and action numbers (1-based, as in the name).

    Raises:
        ValueError: if :obj:`name` does not have that form.
    """
    base = osp.basename(name)
    if base.endswith('.skeleton'):
        base = base[:-len('.skeleton')]
    match = _NAME.fullmatch(base)
    if match is None:
        raise ValueError(f"NTU RGB+D sample name '{name}' does not have the "
                         f"form 'SsssCcccPpppRrrrAaaa'")
    return NTUName(*(int(g) for g in match.groups()))


def missing_skeletons(benchmark: str = 'xsub') -> FrozenSet[str]:
    r"""The official list of samples with missing or incomplete skeletons
    (from `github.com/shahroudy/NTURGB-D
    <https://github.com/shahroudy/NTURGB-D>`_): the 302 samples of
    :obj:`NTU_RGBD_samples_with_missing_skeletons.txt` for :obj:`"xsub"`
    and :obj:`"xview"`, the 535 samples of
    :obj:`NTU_RGBD120_samples_with_missing_skeletons.txt` for
    :obj:`"xsub120"` and :obj:`"xset120"` (the 120-class list holds the
    60-class list and 233 samples of setups 19 to 32)."""
    if benchmark not in NTURGBD.benchmarks:
        raise ValueError(f"'missing_skeletons' expects 'benchmark' to be one "
                         f"of {NTURGBD.benchmarks} (got '{benchmark}')")
    ids = _MISSING_120.split()
    if benchmark in ('xsub', 'xview'):
        ids = [i for i in ids if int(i[1:4]) <= 17]
    return frozenset(ids)


class NTUSkeleton(NamedTuple):
    r"""The content of a :obj:`.skeleton` file: its number of frames and, for
    every body ID in order of first appearance, the frames it appears in
    (:obj:`long`, :math:`(n,)`) and its joint positions (:obj:`float64`,
    :math:`(n, 25, 3)`)."""
    num_frames: int
    bodies: Dict[str, Tuple[Tensor, Tensor]]


def read_ntu_skeleton(path: str) -> NTUSkeleton:
    r"""Reads an NTU RGB+D :obj:`.skeleton` file (LF or CRLF line ends).

    The file holds the number of frames, then for every frame the number of
    bodies and, for every body, a line of 10 values (body ID, clipped edges,
    hand confidences and states, restricted flag, lean X and Y, tracking
    state), the number of joints (25) and one line per joint of 12 values
    (:obj:`x y z depthX depthY colorX colorY orientationW X Y Z
    trackingState`). Only the camera-space :obj:`x y z` (metres) are kept.

    Raises:
        ValueError: if the file is malformed; the message names the file and
            the (1-based) line.
    """
    with open(path, encoding='latin-1', newline=None) as f:
        lines = f.read().split('\n')
    while lines and lines[-1].strip() == '':
        lines.pop()

    def fail(lineno: int, msg: str):
        raise ValueError(f"NTU RGB+D file '{path}', line {lineno}: {msg}")

    pos = 0

    def read_int(what: str) -> int:
        nonlocal pos
        if pos >= len(lines):
            fail(pos + 1, f'unexpected end of file (expected {what})')
        text = lines[pos].strip()
        pos += 1
        try:
            value = int(text)
        except ValueError:
            fail(pos, f"expected {what} (an integer), got '{text}'")
        if value < 0:
            fail(pos, f'expected {what} >= 0, got {value}')
        return value

    num_frames = read_int('the number of frames')
    frames: Dict[str, List[int]] = {}
    starts: Dict[str, List[int]] = {}  # 0-based line of each joint block
    for t in range(num_frames):
        num_bodies = read_int(f'the number of bodies of frame {t + 1}')
        seen = set()
        for _ in range(num_bodies):
            if pos >= len(lines):
                fail(pos + 1, f'unexpected end of file (expected the body '
                              f'line of {_BODY_VALUES} values of frame '
                              f'{t + 1})')
            values = lines[pos].split()
            pos += 1
            if len(values) != _BODY_VALUES:
                fail(pos, f'expected a body line of {_BODY_VALUES} values '
                          f'(body ID first) in frame {t + 1}, got '
                          f'{len(values)} value(s)')
            body_id = values[0]
            if body_id in seen:
                fail(pos, f'body ID {body_id} appears twice in frame {t + 1}')
            seen.add(body_id)
            num_joints = read_int('the number of joints')
            if num_joints != NTU_LAYOUT.num_joints:
                fail(pos, f'expected {NTU_LAYOUT.num_joints} joints, got '
                          f'{num_joints}')
            if pos + num_joints > len(lines):
                fail(len(lines) + 1, f'unexpected end of file (expected '
                                     f'{num_joints} joint lines from line '
                                     f'{pos + 1})')
            frames.setdefault(body_id, []).append(t)
            starts.setdefault(body_id, []).append(pos)
            pos += num_joints
    if pos < len(lines):
        fail(pos + 1, f'unexpected content after the last of the '
                      f'{num_frames} frames')

    num_joints = NTU_LAYOUT.num_joints

    def locate_error():
        # Slow path: the first bad joint line of the file.
        for start in sorted(s for ss in starts.values() for s in ss):
            for lineno in range(start + 1, start + num_joints + 1):
                row = lines[lineno - 1].split()
                if len(row) != _JOINT_VALUES:
                    fail(lineno, f'expected a joint line of {_JOINT_VALUES} '
                                 f'values, got {len(row)} value(s)')
                try:
                    xyz = [float(v) for v in row]
                except ValueError:
                    fail(lineno, f"expected {_JOINT_VALUES} numbers, got "
                                 f"'{lines[lineno - 1].strip()}'")
                if not np.isfinite(xyz[:3]).all():
                    fail(lineno, 'non-finite joint position')

    bodies: Dict[str, Tuple[Tensor, Tensor]] = {}
    for body_id, body_starts in starts.items():
        rows = [lines[s + j].split() for s in body_starts
                for j in range(num_joints)]
        try:
            if any(len(row) != _JOINT_VALUES for row in rows):
                raise ValueError
            values = np.array(rows, dtype=np.float64)
        except ValueError:
            values = None
        if values is None or not np.isfinite(values[:, :3]).all():
            locate_error()
            values = np.array([[float(v) for v in row] for row in rows])
        joints = torch.from_numpy(values[:, :3].copy()).view(-1, num_joints, 3)
        bodies[body_id] = (torch.tensor(frames[body_id], dtype=torch.long),
                           joints)
    return NTUSkeleton(num_frames, bodies)


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


class NTURGBD(InMemoryDataset):
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
        transform (callable, optional): A function/transform that takes in a
            :class:`~torch_geometric.data.Data` object and returns a
            transformed version. The data object will be transformed before
            every access. (default: :obj:`None`)
        pre_transform (callable, optional): A function/transform that takes
            in a :class:`~torch_geometric.data.Data` object and returns a
            transformed version, applied once before saving to disk.
            (default: :obj:`None`)
        pre_filter (callable, optional): A function that takes in a
            :class:`~torch_geometric.data.Data` object and returns a boolean
            value, indicating whether the data object should be included in
            the final dataset. (default: :obj:`None`)
        force_reload (bool, optional): Whether to re-process the dataset.
            (default: :obj:`False`)
        log (bool, optional): Whether to show a progress bar while
            processing. (default: :obj:`True`)

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
    benchmarks = ('xsub', 'xview', 'xsub120', 'xset120')
    splits = ('train', 'test')

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
        if int(num_frames) < 1:
            raise ValueError(f"'{name}' expects 'num_frames' >= 1 (got "
                             f"{num_frames})")
        if int(max_bodies) < 1:
            raise ValueError(f"'{name}' expects 'max_bodies' >= 1 (got "
                             f"{max_bodies})")
        self.benchmark = benchmark
        self.split = split
        self.num_frames = int(num_frames)
        self.resample = bool(resample)
        self.max_bodies = int(max_bodies)
        check_raw_link(root, lambda raw: self._missing_message(raw))
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
        return []  # Any set of .skeleton files; checked in download().

    @property
    def processed_file_names(self) -> List[str]:
        frames = 'resample' if self.resample else 'pad'
        return [f'{self.benchmark}_{self.split}_{frames}{self.num_frames}_'
                f'bodies{self.max_bodies}.pt']

    def _missing_message(self, raw_dir: str) -> str:
        return (f"'{self.__class__.__name__}' needs the NTU RGB+D '.skeleton' "
                f"files in '{raw_dir}', which cannot be downloaded "
                f"automatically: request them from {_URL} and put (or link) "
                f"them into '{raw_dir}'")

    def _skeleton_files(self) -> List[str]:
        if not osp.isdir(self.raw_dir):
            return []
        return sorted(f for f in os.listdir(self.raw_dir)
                      if f.endswith('.skeleton'))

    def download(self) -> None:
        if not self.force_reload and fs.exists(self.processed_paths[0]):
            return  # Processed already; the raw files are not needed.
        if not self._skeleton_files():
            raise FileNotFoundError(self._missing_message(self.raw_dir))

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
            if self.pre_filter is not None and not self.pre_filter(data):
                continue
            if self.pre_transform is not None:
                data = self.pre_transform(data)
            data_list.append(data)
        self.save(data_list, self.processed_paths[0])

    @classmethod
    def save(cls, data_list: List[Data], path: str) -> None:
        r"""Saves a list of data objects to :obj:`path` atomically (a
        temporary file is renamed over :obj:`path`); an empty list gives an
        empty dataset."""
        atomic_save_data_list(data_list, path)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({len(self)}, '
                f'benchmark={self.benchmark!r}, split={self.split!r})')


# The official list of the 535 NTU RGB+D 120 samples with missing or
# incomplete skeletons (NTU_RGBD120_samples_with_missing_skeletons.txt of
# github.com/shahroudy/NTURGB-D); its samples of setups 1 to 17 are the 302 of
# NTU_RGBD_samples_with_missing_skeletons.txt.
_MISSING_120 = '''
S001C002P005R002A008 S001C002P006R001A008 S001C003P002R001A055
S001C003P002R002A012 S001C003P005R002A004 S001C003P005R002A005
S001C003P005R002A006 S001C003P006R002A008 S002C002P011R002A030
S002C003P008R001A020 S002C003P010R002A010 S002C003P011R002A007
S002C003P011R002A011 S002C003P014R002A007 S003C001P019R001A055
S003C002P002R002A055 S003C002P018R002A055 S003C003P002R001A055
S003C003P016R001A055 S003C003P018R002A024 S004C002P003R001A013
S004C002P008R001A009 S004C002P020R001A003 S004C002P020R001A004
S004C002P020R001A012 S004C002P020R001A020 S004C002P020R001A021
S004C002P020R001A036 S005C002P004R001A001 S005C002P004R001A003
S005C002P010R001A016 S005C002P010R001A017 S005C002P010R001A048
S005C002P010R001A049 S005C002P016R001A009 S005C002P016R001A010
S005C002P018R001A003 S005C002P018R001A028 S005C002P018R001A029
S005C003P016R002A009 S005C003P018R002A013 S005C003P021R002A057
S006C001P001R002A055 S006C002P007R001A005 S006C002P007R001A006
S006C002P016R001A043 S006C002P016R001A051 S006C002P016R001A052
S006C002P022R001A012 S006C002P023R001A020 S006C002P023R001A021
S006C002P023R001A022 S006C002P023R001A023 S006C002P024R001A018
S006C002P024R001A019 S006C003P001R002A013 S006C003P007R002A009
S006C003P007R002A010 S006C003P007R002A025 S006C003P016R001A060
S006C003P017R001A055 S006C003P017R002A013 S006C003P017R002A014
S006C003P017R002A015 S006C003P022R002A013 S007C001P018R002A050
S007C001P025R002A051 S007C001P028R001A050 S007C001P028R001A051
S007C001P028R001A052 S007C002P008R002A008 S007C002P015R002A055
S007C002P026R001A008 S007C002P026R001A009 S007C002P026R001A010
S007C002P026R001A011 S007C002P026R001A012 S007C002P026R001A050
S007C002P027R001A011 S007C002P027R001A013 S007C002P028R002A055
S007C003P007R001A002 S007C003P007R001A004 S007C003P019R001A060
S007C003P027R002A001 S007C003P027R002A002 S007C003P027R002A003
S007C003P027R002A004 S007C003P027R002A005 S007C003P027R002A006
S007C003P027R002A007 S007C003P027R002A008 S007C003P027R002A009
S007C003P027R002A010 S007C003P027R002A011 S007C003P027R002A012
S007C003P027R002A013 S008C002P001R001A009 S008C002P001R001A010
S008C002P001R001A014 S008C002P001R001A015 S008C002P001R001A016
S008C002P001R001A018 S008C002P001R001A019 S008C002P008R002A059
S008C002P025R001A060 S008C002P029R001A004 S008C002P031R001A005
S008C002P031R001A006 S008C002P032R001A018 S008C002P034R001A018
S008C002P034R001A019 S008C002P035R001A059 S008C002P035R002A002
S008C002P035R002A005 S008C003P007R001A009 S008C003P007R001A016
S008C003P007R001A017 S008C003P007R001A018 S008C003P007R001A019
S008C003P007R001A020 S008C003P007R001A021 S008C003P007R001A022
S008C003P007R001A023 S008C003P007R001A025 S008C003P007R001A026
S008C003P007R001A028 S008C003P007R001A029 S008C003P007R002A003
S008C003P008R002A050 S008C003P025R002A002 S008C003P025R002A011
S008C003P025R002A012 S008C003P025R002A016 S008C003P025R002A020
S008C003P025R002A022 S008C003P025R002A023 S008C003P025R002A030
S008C003P025R002A031 S008C003P025R002A032 S008C003P025R002A033
S008C003P025R002A049 S008C003P025R002A060 S008C003P031R001A001
S008C003P031R002A004 S008C003P031R002A014 S008C003P031R002A015
S008C003P031R002A016 S008C003P031R002A017 S008C003P032R002A013
S008C003P033R002A001 S008C003P033R002A011 S008C003P033R002A012
S008C003P034R002A001 S008C003P034R002A012 S008C003P034R002A022
S008C003P034R002A023 S008C003P034R002A024 S008C003P034R002A044
S008C003P034R002A045 S008C003P035R002A016 S008C003P035R002A017
S008C003P035R002A018 S008C003P035R002A019 S008C003P035R002A020
S008C003P035R002A021 S009C002P007R001A001 S009C002P007R001A003
S009C002P007R001A014 S009C002P008R001A014 S009C002P015R002A050
S009C002P016R001A002 S009C002P017R001A028 S009C002P017R001A029
S009C003P017R002A030 S009C003P025R002A054 S010C001P007R002A020
S010C002P016R002A055 S010C002P017R001A005 S010C002P017R001A018
S010C002P017R001A019 S010C002P019R001A001 S010C002P025R001A012
S010C003P007R002A043 S010C003P008R002A003 S010C003P016R001A055
S010C003P017R002A055 S011C001P002R001A008 S011C001P018R002A050
S011C002P008R002A059 S011C002P016R002A055 S011C002P017R001A020
S011C002P017R001A021 S011C002P018R002A055 S011C002P027R001A009
S011C002P027R001A010 S011C002P027R001A037 S011C003P001R001A055
S011C003P002R001A055 S011C003P008R002A012 S011C003P015R001A055
S011C003P016R001A055 S011C003P019R001A055 S011C003P025R001A055
S011C003P028R002A055 S012C001P019R001A060 S012C001P019R002A060
S012C002P015R001A055 S012C002P017R002A012 S012C002P025R001A060
S012C003P008R001A057 S012C003P015R001A055 S012C003P015R002A055
S012C003P016R001A055 S012C003P017R002A055 S012C003P018R001A055
S012C003P018R001A057 S012C003P019R002A011 S012C003P019R002A012
S012C003P025R001A055 S012C003P027R001A055 S012C003P027R002A009
S012C003P028R001A035 S012C003P028R002A055 S013C001P015R001A054
S013C001P017R002A054 S013C001P018R001A016 S013C001P028R001A040
S013C002P015R001A054 S013C002P017R002A054 S013C002P028R001A040
S013C003P008R002A059 S013C003P015R001A054 S013C003P017R002A054
S013C003P025R002A022 S013C003P027R001A055 S013C003P028R001A040
S014C001P027R002A040 S014C002P015R001A003 S014C002P019R001A029
S014C002P025R002A059 S014C002P027R002A040 S014C002P039R001A050
S014C003P007R002A059 S014C003P015R002A055 S014C003P019R002A055
S014C003P025R001A048 S014C003P027R002A040 S015C001P008R002A040
S015C001P016R001A055 S015C001P017R001A055 S015C001P017R002A055
S015C002P007R001A059 S015C002P008R001A003 S015C002P008R001A004
S015C002P008R002A040 S015C002P015R001A002 S015C002P016R001A001
S015C002P016R002A055 S015C003P008R002A007 S015C003P008R002A011
S015C003P008R002A012 S015C003P008R002A028 S015C003P008R002A040
S015C003P025R002A012 S015C003P025R002A017 S015C003P025R002A020
S015C003P025R002A021 S015C003P025R002A030 S015C003P025R002A033
S015C003P025R002A034 S015C003P025R002A036 S015C003P025R002A037
S015C003P025R002A044 S016C001P019R002A040 S016C001P025R001A011
S016C001P025R001A012 S016C001P025R001A060 S016C001P040R001A055
S016C001P040R002A055 S016C002P008R001A011 S016C002P019R002A040
S016C002P025R002A012 S016C003P008R001A011 S016C003P008R002A002
S016C003P008R002A003 S016C003P008R002A004 S016C003P008R002A006
S016C003P008R002A009 S016C003P019R002A040 S016C003P039R002A016
S017C001P016R002A031 S017C002P007R001A013 S017C002P008R001A009
S017C002P015R001A042 S017C002P016R002A031 S017C002P016R002A055
S017C003P007R002A013 S017C003P008R001A059 S017C003P016R002A031
S017C003P017R001A055 S017C003P020R001A059 S019C001P046R001A075
S019C002P042R001A094 S019C002P042R001A095 S019C002P042R001A096
S019C002P042R001A097 S019C002P042R001A098 S019C002P042R001A099
S019C002P042R001A100 S019C002P042R001A101 S019C002P042R001A102
S019C002P049R002A074 S019C002P049R002A079 S019C002P051R001A061
S019C003P046R001A061 S019C003P046R002A061 S019C003P046R002A062
S020C002P041R001A063 S020C002P041R001A064 S020C002P044R001A063
S020C002P044R001A064 S020C002P044R001A066 S020C002P044R001A084
S020C002P054R001A081 S021C001P059R001A108 S021C002P055R001A065
S021C002P055R001A092 S021C002P055R001A093 S021C002P057R001A064
S021C002P058R001A063 S021C002P058R001A064 S021C002P059R001A074
S021C002P059R001A075 S021C002P059R001A076 S021C002P059R001A077
S021C002P059R001A078 S021C002P059R001A079 S021C003P057R002A078
S021C003P057R002A079 S021C003P057R002A094 S022C002P061R001A113
S022C003P061R002A061 S022C003P061R002A062 S022C003P063R002A061
S022C003P063R002A062 S022C003P063R002A063 S022C003P063R002A064
S022C003P063R002A078 S022C003P064R002A061 S022C003P064R002A062
S022C003P065R002A061 S022C003P065R002A062 S022C003P065R002A119
S022C003P067R002A064 S023C002P055R001A114 S023C002P055R002A092
S023C002P059R001A075 S023C002P063R001A075 S023C003P055R002A093
S023C003P055R002A094 S023C003P061R002A061 S023C003P064R001A092
S024C001P063R001A109 S024C002P062R002A074 S024C002P067R001A100
S024C002P067R001A101 S024C002P067R001A102 S024C002P067R001A103
S024C003P062R002A074 S024C003P063R002A061 S024C003P063R002A062
S025C001P055R002A119 S025C003P056R002A119 S025C003P059R002A115
S026C002P044R001A061 S026C002P044R001A062 S026C002P070R001A092
S026C003P069R002A075 S026C003P074R002A061 S026C003P074R002A062
S026C003P075R001A117 S026C003P075R001A118 S027C001P082R001A063
S027C002P044R002A092 S027C002P079R001A061 S027C002P079R001A062
S027C002P079R001A063 S027C002P079R001A064 S027C002P082R001A092
S027C002P084R001A061 S027C002P084R001A062 S027C002P086R001A061
S027C003P041R002A087 S027C003P080R002A061 S027C003P082R002A061
S027C003P082R002A062 S027C003P086R002A061 S027C003P086R002A062
S028C001P087R001A061 S028C002P041R001A091 S028C002P087R001A061
S028C003P042R002A064 S028C003P046R002A063 S028C003P046R002A066
S028C003P046R002A067 S028C003P046R002A068 S028C003P046R002A069
S028C003P046R002A070 S028C003P046R002A071 S028C003P046R002A072
S028C003P046R002A074 S028C003P046R002A075 S028C003P046R002A077
S028C003P046R002A081 S028C003P046R002A082 S028C003P046R002A083
S028C003P046R002A084 S028C003P048R002A061 S028C003P048R002A062
S028C003P048R002A073 S028C003P073R002A073 S028C003P087R001A061
S028C003P087R002A061 S028C003P087R002A062 S029C001P043R002A092
S029C001P044R002A092 S029C001P048R001A073 S029C001P089R001A063
S029C002P041R001A074 S029C002P041R001A084 S029C002P044R001A091
S029C002P048R001A075 S029C002P048R001A081 S029C002P074R001A081
S029C002P074R001A095 S029C002P074R001A096 S029C002P080R001A091
S029C002P088R001A066 S029C002P089R001A065 S029C002P090R001A067
S029C003P008R002A065 S029C003P008R002A067 S029C003P041R001A089
S029C003P043R001A080 S029C003P043R001A092 S029C003P043R001A105
S029C003P043R002A085 S029C003P043R002A086 S029C003P044R002A106
S029C003P048R001A065 S029C003P048R002A073 S029C003P048R002A074
S029C003P048R002A075 S029C003P048R002A076 S029C003P048R002A092
S029C003P048R002A094 S029C003P051R002A073 S029C003P051R002A074
S029C003P051R002A075 S029C003P051R002A076 S029C003P051R002A077
S029C003P051R002A078 S029C003P051R002A079 S029C003P051R002A080
S029C003P051R002A081 S029C003P051R002A082 S029C003P051R002A083
S029C003P051R002A084 S029C003P051R002A085 S029C003P051R002A086
S029C003P051R002A110 S029C003P067R001A098 S029C003P074R002A110
S029C003P080R002A066 S029C003P088R002A078 S029C003P089R001A075
S029C003P089R002A061 S029C003P089R002A062 S029C003P089R002A063
S029C003P090R002A092 S029C003P090R002A095 S030C002P091R002A091
S030C002P091R002A092 S030C002P091R002A093 S030C002P091R002A094
S030C002P091R002A095 S030C002P091R002A096 S030C002P091R002A097
S030C002P091R002A098 S030C002P091R002A099 S030C002P091R002A100
S030C002P091R002A101 S030C002P091R002A102 S030C002P091R002A103
S030C002P091R002A104 S030C002P091R002A105 S030C003P044R002A065
S030C003P044R002A081 S030C003P044R002A084 S031C002P042R001A111
S031C002P051R001A061 S031C002P051R001A062 S031C002P067R001A067
S031C002P067R001A068 S031C002P067R001A069 S031C002P067R001A070
S031C002P067R001A071 S031C002P067R001A072 S031C002P082R001A075
S031C002P082R002A117 S031C002P097R001A061 S031C002P097R001A062
S031C003P043R002A074 S031C003P043R002A075 S031C003P044R002A094
S031C003P082R002A067 S031C003P082R002A068 S031C003P082R002A069
S031C003P082R002A070 S031C003P082R002A071 S031C003P082R002A072
S031C003P082R002A073 S031C003P082R002A075 S031C003P082R002A076
S031C003P082R002A077 S031C003P082R002A084 S031C003P082R002A085
S031C003P082R002A086 S032C002P067R001A092 S032C003P067R002A066
S032C003P067R002A067 S032C003P067R002A075 S032C003P067R002A076
S032C003P067R002A077
'''
