r"""The MSR Action3D skeleton dataset (:class:`MSRAction3D`), read with
:func:`tgr.io.read_msr_skeleton`."""
import os.path as osp
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Data
from tqdm import tqdm

from ..io.msr_skeleton import read_msr_skeleton
from .base import TGRDataset, check_at_least, check_choice
from .skeleton import MSR_LAYOUT
from .skeleton import pad as pad_frames
from .skeleton import resample as resample_frames

__all__ = [
    'MSRAction3D',
    'read_msr_skeleton',
    'fill_missing_frames',
    'msr_action3d_file_names',
]

#: The 20 actions, in the order of the :obj:`aXX` file prefix.
ACTIONS = (
    'high arm wave', 'horizontal arm wave', 'hammer', 'hand catch',
    'forward punch', 'high throw', 'draw x', 'draw tick', 'draw circle',
    'hand clap', 'two hand wave', 'side-boxing', 'bend', 'forward kick',
    'side kick', 'jogging', 'tennis swing', 'tennis serve', 'golf swing',
    'pick up & throw',
)
TRAIN_SUBJECTS = frozenset({1, 3, 5, 7, 9})

#: The three action subsets of Li et al. (2010), Table 1: eight actions
#: each, as 1-based action numbers (the :obj:`aXX` of the file names). AS1
#: and AS2 group actions with similar movements, AS3 complex actions.
SUBSETS = {
    'AS1': (2, 3, 5, 6, 10, 13, 18, 20),
    'AS2': (1, 4, 7, 8, 9, 11, 12, 14),
    'AS3': (6, 14, 15, 16, 17, 18, 19, 20),
}

# The 43 of the 20 x 10 x 3 (action, subject, repetition) combinations that
# are not in files_used_in_cvpr12_paper.txt: 33 were never released, and 10
# are in the release but left out of the list (a02_s03_e02, a04_s03_e01,
# a07_s04_e01, a13_s09_e01, a13_s09_e02 (all zeros), a13_s09_e03,
# a14_s03_e01, a20_s07_e01, a20_s07_e03, a20_s10_e03).
_NOT_USED = frozenset('''
a01_s04_e01 a01_s04_e02 a01_s04_e03 a02_s03_e02 a02_s04_e01 a02_s04_e02
a02_s04_e03 a03_s04_e01 a03_s04_e02 a03_s04_e03 a04_s03_e01 a04_s03_e03
a04_s04_e01 a04_s04_e02 a04_s04_e03 a05_s04_e01 a05_s04_e02 a05_s04_e03
a05_s06_e03 a06_s04_e01 a06_s04_e02 a06_s04_e03 a06_s06_e03 a07_s04_e01
a07_s04_e03 a07_s07_e03 a13_s09_e01 a13_s09_e02 a13_s09_e03 a14_s03_e01
a15_s02_e03 a15_s03_e01 a15_s03_e02 a15_s03_e03 a15_s04_e01 a15_s04_e02
a15_s04_e03 a15_s05_e01 a15_s05_e02 a15_s05_e03 a20_s07_e01 a20_s07_e03
a20_s10_e03
'''.split())


def msr_action3d_file_names() -> List[str]:
    r"""The 557 sequences of :obj:`files_used_in_cvpr12_paper.txt` (the list
    of the `"Mining Actionlet Ensemble for Action Recognition with Depth
    Cameras" <https://doi.org/10.1109/CVPR.2012.6247813>`_ paper, used by
    most later work), as :obj:`"aXX_sYY_eZZ"` in the list's order."""
    names = [f'a{a:02d}_s{s:02d}_e{e:02d}' for a in range(1, 21)
             for s in range(1, 11) for e in range(1, 4)]
    return [name for name in names if name not in _NOT_USED]


def fill_missing_frames(x: Tensor, dim: int = 1) -> Tensor:
    r"""Replaces the missing frames of :obj:`x` (frames whose values are all
    zero, where the tracker lost the body) by linear interpolation over time
    between the nearest frames that are not missing; missing frames before
    the first or after the last such frame copy it. A sequence without any
    such frame is returned unchanged.

    Args:
        x (torch.Tensor): E.g. joint positions :math:`(J, T, 3)`.
        dim (int, optional): The time dimension. (default: :obj:`1`)
    """
    xt = x.movedim(dim, 0)
    valid = (xt != 0).flatten(1).any(dim=1)
    if bool(valid.all()) or not bool(valid.any()):
        return x.clone()
    t = torch.arange(xt.size(0))
    idx = t[valid]
    # Nearest valid frame at or before / at or after every frame:
    pos = torch.searchsorted(idx, t, right=True) - 1
    lo = idx[pos.clamp(min=0)]
    hi = idx[(pos + 1).clamp(max=idx.numel() - 1)]
    hi = torch.where(valid, t, hi)
    lo = torch.where(valid, t, lo)
    span = (hi - lo).clamp(min=1).to(x.dtype)
    w = ((t - lo).to(x.dtype) / span).clamp_(0, 1)
    w = w.view(-1, *([1] * (xt.dim() - 1)))
    out = xt[lo] * (1 - w) + xt[hi] * w
    return out.movedim(0, dim).contiguous()


class MSRAction3D(TGRDataset):
    r"""The MSR Action3D skeleton dataset from the `"Action Recognition Based
    on a Bag of 3D Points" <https://doi.org/10.1109/CVPRW.2010.5543273>`_
    paper (Li et al., CVPR Workshops 2010): 20 actions by 10 subjects, 2 or 3
    times each, 20 Kinect v1 joints per frame, read from the
    :obj:`aXX_sYY_eZZ_skeleton3D.txt` files (real-world coordinates) of the
    557 sequences of :obj:`files_used_in_cvpr12_paper.txt`.

    Every sample is one :class:`~torch_geometric.data.Data` object with

    - :obj:`x` (:obj:`float32`, :math:`(20, T, 3)`): the :obj:`x y z`
      position of the 20 joints (in
      :data:`~tgr.datasets.skeleton.MSR_LAYOUT` order) in :math:`T` =
      :obj:`num_frames` frames (the per-joint confidence of the files is not
      kept);
    - :obj:`edge_index` (:math:`(2, 38)`): the 19 bones in both directions;
    - :obj:`part` (:obj:`long`, :math:`(20,)`): the body part of every joint
      (:obj:`0` torso, :obj:`1` left arm, :obj:`2` right arm, :obj:`3` left
      leg, :obj:`4` right leg);
    - :obj:`y` (:obj:`long`, :math:`(1,)`): the class, 0-based: the action
      (:obj:`a01` is :obj:`0`), or with :obj:`subset` the action's position
      in the subset (:obj:`0` to :obj:`7`); names in :obj:`dataset.classes`;
    - :obj:`action` (:obj:`long`, :math:`(1,)`): the action, 0-based
      (:obj:`a01` is :obj:`0`; names in :obj:`MSRAction3D.actions`), also
      with :obj:`subset`;
    - :obj:`length` (:obj:`long`, :math:`(1,)`): the number of frames in the
      file, before resampling or padding;
    - :obj:`subject` (:obj:`long`, :math:`(1,)`): the subject (1 to 10);
    - :obj:`name` (:obj:`str`): the sequence, e.g. :obj:`"a01_s01_e01"`.

    Samples are in the order of :obj:`files_used_in_cvpr12_paper.txt`. The
    split is the cross-subject protocol: subjects 1, 3, 5, 7, 9 train (284
    sequences), subjects 2, 4, 6, 8, 10 test (273 sequences).

    Action subsets: most skeleton results on this dataset are not on all 20
    actions at once but on the three subsets of eight actions that Li et al.
    (2010, Table 1) defined, each trained and tested on its own (the reported
    number is the average of the three accuracies). With :obj:`subset` the
    dataset holds the sequences of one subset only, and :obj:`y` numbers its
    actions :obj:`0` to :obj:`7` in the order below (1-based action numbers,
    as in the file names):

    .. list-table::
        :header-rows: 1

        * - subset
          - actions
          - #train / #test
        * - :obj:`"AS1"`
          - 2 horizontal arm wave, 3 hammer, 5 forward punch, 6 high throw,
            10 hand clap, 13 bend, 18 tennis serve, 20 pick up & throw
          - 114 / 105
        * - :obj:`"AS2"`
          - 1 high arm wave, 4 hand catch, 7 draw x, 8 draw tick, 9 draw
            circle, 11 two hand wave, 12 side-boxing, 14 forward kick
          - 116 / 112
        * - :obj:`"AS3"`
          - 6 high throw, 14 forward kick, 15 side kick, 16 jogging, 17
            tennis swing, 18 tennis serve, 19 golf swing, 20 pick up & throw
          - 111 / 111

    AS1 and AS2 hold actions with similar movements, AS3 complex ones. The
    lists are those of the subsets' definition in `"Action Recognition Based
    on a Bag of 3D Points" <https://doi.org/10.1109/CVPRW.2010.5543273>`_
    (Li et al., 2010), used with the same cross-subject split (odd subjects
    train, even subjects test) e.g. by `"Hierarchical Recurrent Neural
    Network for Skeleton Based Action Recognition"
    <https://doi.org/10.1109/CVPR.2015.7298714>`_ (Du et al., CVPR 2015);
    the released code of `"Human Action Recognition by Representing 3D
    Skeletons as Points in a Lie Group"
    <https://doi.org/10.1109/CVPR.2014.82>`_ (Vemulapalli et al., CVPR 2014)
    evaluates the same three subsets over 10 random halves of the subjects
    instead.

    Joint order: the files do not follow the Kinect SDK v1 enumeration
    (hip center, spine, shoulder center, head, ...). The order used here was
    determined from the data: the heights of the joints in a standing pose
    name the levels (head, shoulders, elbows, hips, knees, ankles, feet);
    pairs of joints at a constant distance in every frame give the bones (17
    of the 19 bones keep their length to a median coefficient of variation
    of at most 1.7 % over a sequence; the spine to hip centre and the neck to
    head bones, where the tracker lets the spine bend and the head move,
    stay under 7 %; hand to hand or elbow to hip vary by 15 % to 50 %;
    many non-bones are nearly constant too, as the torso moves as one piece
    and the legs rarely move, so the levels and the tree settle them); and
    the side that moves in the one-arm and one-leg actions (high arm wave,
    hammer, forward kick, ...), which the subjects performed with their
    right arm or leg, is the right side. The result is left shoulder, right
    shoulder, shoulder center, spine, left hip, right hip, hip center, left
    elbow, right elbow, left wrist, right wrist, left hand, right hand, left
    knee, right knee, left ankle, right ankle, left foot, right foot, head.

    Missing frames: in 13 of the 557 sequences (bend and pick up & throw)
    the tracker lost the body for a run of frames, which the files hold as
    all-zero frames; with :obj:`fill_missing=True` they are filled by
    linear interpolation between the frames around them
    (:func:`fill_missing_frames`) before resampling.

    The files cannot be downloaded automatically: get the skeleton files
    (:obj:`MSRAction3DSkeletonReal3D`) from `Wanqing Li's page
    <https://sites.google.com/view/wanqingli/data-sets/msr-action3d>`_ and
    put (or link) the :obj:`aXX_sYY_eZZ_skeleton3D.txt` files into
    :obj:`root/raw/`.

    Args:
        root (str): Root directory; the files are in :obj:`root/raw/`.
        split (str, optional): :obj:`"train"` or :obj:`"test"`.
            (default: :obj:`"train"`)
        subset (str, optional): :obj:`"AS1"`, :obj:`"AS2"` or :obj:`"AS3"`
            to keep the eight actions of that subset only (see above), or
            :obj:`None` for all 20. (default: :obj:`None`)
        num_frames (int, optional): The number :math:`T` of frames of every
            sample. (default: :obj:`32`)
        resample (bool, optional): Resample to :obj:`num_frames` by linear
            interpolation over time; otherwise zero-pad (or cut) as
            :class:`NTURGBD` does. (default: :obj:`True`)
        fill_missing (bool, optional): If :obj:`True`, fill all-zero frames
            by interpolation (see above). (default: :obj:`True`)
        transform, pre_transform, pre_filter, force_reload, log: As in
            :class:`~torch_geometric.data.InMemoryDataset`.

    **STATS:**

    .. list-table::
        :widths: 10 10 10 10 10
        :header-rows: 1

        * - #sequences
          - #train
          - #test
          - #frames (min / mean / max)
          - #classes
        * - 557
          - 284
          - 273
          - 13 / 39.6 / 76
          - 20
    """
    splits = ('train', 'test')
    actions = ACTIONS
    subsets = SUBSETS
    url = 'https://sites.google.com/view/wanqingli/data-sets/msr-action3d'

    def __init__(self, root: str, split: str = 'train',
                 subset: Optional[str] = None, num_frames: int = 32,
                 resample: bool = True, fill_missing: bool = True,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None,
                 force_reload: bool = False, log: bool = True) -> None:
        name = self.__class__.__name__
        check_choice(name, 'split', split, self.splits)
        if subset is not None:
            check_choice(name, 'subset', subset, tuple(SUBSETS))
        self.split = split
        self.subset = subset
        self.num_frames = check_at_least(name, 'num_frames', num_frames)
        self.resample = bool(resample)
        self.fill_missing = bool(fill_missing)
        super().__init__(root, transform, pre_transform, pre_filter,
                         force_reload=force_reload, log=log)
        self.load(self.processed_paths[0])

    @property
    def num_classes(self) -> int:
        r"""The number of classes: :obj:`20` actions, or :obj:`8` in a
        subset."""
        return len(self.action_numbers)

    @property
    def action_numbers(self) -> Tuple[int, ...]:
        r"""The 1-based action numbers of the classes, in the order of
        :obj:`y`."""
        if self.subset is None:
            return tuple(range(1, len(ACTIONS) + 1))
        return SUBSETS[self.subset]

    @property
    def classes(self) -> Tuple[str, ...]:
        r"""The action names of the classes, in the order of :obj:`y`."""
        return tuple(ACTIONS[a - 1] for a in self.action_numbers)

    @property
    def raw_file_names(self) -> List[str]:
        return [f'{name}_skeleton3D.txt' for name in msr_action3d_file_names()]

    @property
    def processed_file_names(self) -> List[str]:
        frames = 'resample' if self.resample else 'pad'
        fill = '' if self.fill_missing else '_nofill'
        subset = '' if self.subset is None else f'_{self.subset}'
        return [f'{self.split}{subset}_{frames}{self.num_frames}{fill}.pt']

    def describe_raw_files(self, missing: Sequence[str]) -> str:
        what = (f"the {len(self.raw_file_names)} MSR Action3D skeleton files "
                f"'aXX_sYY_eZZ_skeleton3D.txt' of "
                f"files_used_in_cvpr12_paper.txt")
        if missing:
            what += f" ({len(missing)} missing, e.g. '{missing[0]}')"
        return what

    def process(self) -> None:
        label = {a: i for i, a in enumerate(self.action_numbers)}
        names = [name for name in msr_action3d_file_names()
                 if (int(name[5:7]) in TRAIN_SUBJECTS) ==
                 (self.split == 'train') and int(name[1:3]) in label]
        data_list = []
        what = self.split if self.subset is None else \
            f'{self.subset} {self.split}'
        for name in tqdm(names, desc=f'MSR Action3D {what}',
                         unit='file', disable=not self.log):
            path = osp.join(self.raw_dir, f'{name}_skeleton3D.txt')
            values = read_msr_skeleton(path)
            x = values[..., :3].to(torch.float32).transpose(0, 1)  # (J, T, 3)
            length = x.size(1)
            if self.fill_missing:
                x = fill_missing_frames(x)
            x = resample_frames(x, self.num_frames) if self.resample else \
                pad_frames(x, self.num_frames)
            data = Data(x=x.contiguous(), edge_index=MSR_LAYOUT.edge_index(),
                        part=MSR_LAYOUT.part(),
                        y=torch.tensor([label[int(name[1:3])]]),
                        action=torch.tensor([int(name[1:3]) - 1]),
                        length=torch.tensor([length]),
                        subject=torch.tensor([int(name[5:7])]), name=name)
            data = self.pre_process(data)
            if data is None:
                continue
            data_list.append(data)
        self.save(data_list, self.processed_paths[0])

    def __repr__(self) -> str:
        subset = '' if self.subset is None else f', subset={self.subset!r}'
        return (f'{self.__class__.__name__}({len(self)}, '
                f'split={self.split!r}{subset})')
