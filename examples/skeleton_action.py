r"""Skeleton-based action recognition with AGC-LSTM or the Part-Aware LSTM.

Models: ``agclstm`` is :class:`tgr.nn.models.AGCLSTMNet` (Si et al., CVPR 2019:
feature augmentation, an LSTM, three AGC-LSTM layers with temporal pooling,
its loss with the attention regularisers); ``agclstm-jp`` is the paper's
AGC-LSTM (Joint & Part), :class:`tgr.nn.models.AGCLSTMJointPartNet`: that
network on the joints plus a second one whose joint features are averaged
into body parts (``--parts``) before its AGC-LSTM layers run on the part
graph, the two streams' class probabilities averaged; ``plstm`` is one
:class:`tgr.nn.PartAwareLSTM` layer (Shahroudy et al., CVPR 2016) with a
linear classifier on every step. All predict the mean of the per-step class
probabilities. For ``agclstm-jp`` the joint stream, the part stream and
their fusion are each scored, each at its own best validation epoch.

Data: ``msr`` is MSR Action3D (557 sequences, 20 actions, 10 subjects),
``ntu`` NTU RGB+D (``--benchmark xsub|xview``), ``synthetic`` the generated
actions of :class:`tgr.datasets.SyntheticSkeletonActions` (no files needed).

Protocols (``msr``; ``synthetic`` imitates them on generated classes):

- ``--protocol all20`` (default): all 20 actions at once, subjects 1, 3, 5,
  7, 9 train, 2, 4, 6, 8, 10 test.
- ``--protocol as123``: the three subsets of eight actions of Li et al.
  (2010), AS1, AS2 and AS3, each trained and tested on its own with the same
  split; the script prints each subset's accuracy and their average.
- ``--subject-splits N`` (with either protocol): instead of the odd/even
  split, N seeded combinations of five training subjects out of ten (the
  others test), averaged, as the released code of the Lie-group paper
  (Vemulapalli et al., 2014) evaluates (its own 10 combinations are not
  published in a readable form, so these are others).

Validation: ``--val-subjects K`` (default 1) of the training subjects, drawn
with the run's seed, are held out and the test accuracy is reported at the
epoch with the best accuracy on them (ties broken by the NLL);
``--val-subjects 0`` trains on all training subjects and reports the last
epoch. NTU RGB+D (five sample files here) holds out a stratified
``--val-ratio`` of the training samples instead.

Inputs get the training subjects' mean bone lengths (bone directions kept:
``tgr.datasets.skeleton.retarget``; ``--no-retarget`` keeps the subjects'
own), are centred on the root joint's mean position and scaled to unit mean
joint distance from it; training samples are augmented (random rotation of
up to 15 degrees about the vertical axis, scaling by 0.9 to 1.1 per axis, a
random crop of 80 to 100 % of the frames resampled to the full length).
Adam with a cosine learning-rate decay.

    python examples/skeleton_action.py --model agclstm --dataset msr \
        --hidden 64 --epochs 40 --runs 3
    python examples/skeleton_action.py --model agclstm-jp --dataset msr \
        --protocol as123 --hidden 64 --epochs 40 --runs 3
    python examples/skeleton_action.py --model plstm --dataset msr \
        --epochs 100 --runs 3

Data-parallel over processes (gloo on CPU, nccl on GPUs):

    torchrun --nproc_per_node=2 examples/skeleton_action.py --dataset synthetic
"""
import argparse
import copy
import os
import os.path as osp
import time
from typing import Dict, List, NamedTuple, Optional

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from tqdm import tqdm

from tgr.datasets import NTURGBD, MSRAction3D, SyntheticSkeletonActions
from tgr.datasets.msr_action3d import ACTIONS as MSR_ACTIONS
from tgr.datasets.msr_action3d import SUBSETS, TRAIN_SUBJECTS
from tgr.datasets.skeleton import (MSR_LAYOUT, NTU_LAYOUT, bone_lengths,
                                   resample, retarget)
from tgr.nn import PartAwareLSTM
from tgr.nn.models import AGCLSTMJointPartNet, AGCLSTMNet
from tgr.transforms import AddSkeletonPartition
from tgr.utils.skeleton import part_graph

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = {
    'msr': osp.join(REPO, '..', 'shared', 'data', 'msr_action3d',
                    'real_world_coordinates'),
    'ntu': osp.join(REPO, '..', 'shared', 'data', 'ntu_rgbd', 'skeletons'),
}
SUBJECTS = tuple(range(1, 11))  # MSR Action3D


def at_least(low: int):
    # An argparse type: an integer >= low.
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            what = 'a positive integer' if low == 1 else \
                f'an integer >= {low}'
            raise argparse.ArgumentTypeError(f'expected {what}, got {value}')
        return value
    return parse


positive, non_negative = at_least(1), at_least(0)


parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
parser.add_argument('--model', choices=['agclstm', 'agclstm-jp', 'plstm'],
                    default='agclstm')
parser.add_argument('--dataset', choices=['msr', 'ntu', 'synthetic'],
                    default='msr')
parser.add_argument('--protocol', choices=['all20', 'as123'],
                    default='all20',
                    help='msr: all 20 actions at once, or the subsets AS1, '
                    'AS2, AS3 of eight actions each, trained and tested one '
                    'by one (synthetic: the same on 20 generated classes)')
parser.add_argument('--subject-splits', type=non_negative, default=0,
                    help='msr: average over this many seeded combinations '
                    'of five training subjects (0: subjects 1, 3, 5, 7, 9 '
                    'train, 2, 4, 6, 8, 10 test)')
parser.add_argument('--split-seed', type=int, default=0,
                    help='seed of the --subject-splits combinations')
parser.add_argument('--root', default=None,
                    help='dataset folder; its raw/ holds the skeleton files '
                    '(default: data/MSRAction3D or data/NTURGBD in the '
                    'repository)')
parser.add_argument('--benchmark', choices=['xsub', 'xview'], default='xsub',
                    help='NTU RGB+D benchmark')
parser.add_argument('--frames', type=positive, default=None,
                    help='frames per sample (default: 32, 100 for ntu)')
parser.add_argument('--seed', type=int, default=12345)
parser.add_argument('--runs', type=positive, default=1,
                    help='train this many models per task (seeds --seed, '
                    '--seed + 1, ...) and report their mean, spread and the '
                    'accuracy of their averaged test probabilities')
parser.add_argument('--epochs', type=positive, default=60)
parser.add_argument('--batch-size', type=positive, default=16)
parser.add_argument('--lr', type=float, default=3e-3)
parser.add_argument('--weight-decay', type=float, default=1e-4)
parser.add_argument('--hidden', type=positive, default=None,
                    help='width of the AGC-LSTM layers (default 128, as in '
                    'the paper) or of each part cell of the P-LSTM '
                    '(default 50)')
parser.add_argument('--dropout', type=float, default=0.5)
parser.add_argument('--init-gain', type=float, default=2.0,
                    help='AGCLSTMNet: gain of the gate weights\' '
                    'initialisation (0 = PyTorch\'s default)')
parser.add_argument('--no-input-norm', action='store_true',
                    help='AGCLSTMNet: no rescaling of the positions and '
                    'frame differences')
parser.add_argument('--parts', choices=['fine', 'coarse'], default='fine',
                    help='agclstm-jp: the body parts of the part stream: '
                    'ten (torso, head, upper and lower half of every limb) '
                    'or five (torso and limbs)')
parser.add_argument('--fusion-weight', type=float, default=0.5,
                    help='agclstm-jp: weight of the joint stream\'s '
                    'probabilities in the fusion')
parser.add_argument('--val-subjects', type=non_negative, default=1,
                    help='msr: training subjects held out (drawn with the '
                    'run\'s seed) to choose the epoch; 0 trains on all of '
                    'them and reports the last epoch')
parser.add_argument('--val-ratio', type=float, default=0.12,
                    help='ntu: part of the training samples held out for '
                    'choosing the epoch')
parser.add_argument('--no-retarget', dest='retarget', action='store_false',
                    help='keep the subjects\' own bone lengths (by default '
                    'every skeleton gets the mean bone lengths of the '
                    'training set, keeping the bone directions; '
                    'tgr.datasets.skeleton.retarget; msr, ntu)')
parser.add_argument('--no-augment', action='store_true',
                    help='no random rotation, scaling and temporal '
                    'cropping of the training samples')
parser.add_argument('--synthetic-samples', type=positive, default=600,
                    help='training samples of the synthetic set (a fifth '
                    'as many for validation and test)')
parser.add_argument('--synthetic-classes', type=positive, default=None,
                    help='classes of the synthetic set (default 10; 20 with '
                    '--protocol as123, whose subsets pick 8 of them)')
parser.add_argument('--save', default=None,
                    help='write the final model state_dict here (rank 0; '
                    'with "{rank}" in the path every rank writes its own)')
parser.add_argument('--device', default=None,
                    help='(default: cuda if available, else cpu)')
parser.add_argument('--threads', type=int, default=1,
                    help='CPU threads per process (0 = PyTorch\'s choice)')
args = parser.parse_args()
if args.root is not None and osp.exists(args.root) and \
        not osp.isdir(args.root):
    parser.error(f'--root {args.root!r} is a file; expected the dataset '
                 f'folder (its raw/ holds the skeleton files)')
if args.model != 'plstm' and args.hidden is not None and args.hidden < 2:
    parser.error(f'--hidden must be at least 2 for {args.model} (positions '
                 f'and frame differences get half each)')
if not 0 <= args.dropout < 1:
    parser.error(f'--dropout must lie in [0, 1) (got {args.dropout})')
if not 0 < args.val_ratio < 1:
    parser.error(f'--val-ratio must lie in (0, 1) (got {args.val_ratio})')
if not 0 <= args.fusion_weight <= 1:
    parser.error(f'--fusion-weight must lie in [0, 1] (got '
                 f'{args.fusion_weight})')
if args.protocol == 'as123' and args.dataset == 'ntu':
    parser.error('--protocol as123 is the MSR Action3D protocol (--dataset '
                 'msr, or synthetic)')
if args.subject_splits and args.dataset != 'msr':
    parser.error('--subject-splits needs --dataset msr (subjects)')
if args.val_subjects >= 5:
    parser.error('--val-subjects must leave training subjects (at most 4 '
                 'of the 5)')
if args.synthetic_classes is None:
    args.synthetic_classes = 20 if args.protocol == 'as123' else 10
if args.dataset == 'synthetic' and args.protocol == 'as123' and \
        args.synthetic_classes < 20:
    parser.error('--protocol as123 on synthetic data needs '
                 '--synthetic-classes >= 20 (its subsets use the MSR '
                 'Action3D action numbers)')
if args.hidden is None:
    args.hidden = 50 if args.model == 'plstm' else 128
if args.frames is None:
    args.frames = 100 if args.dataset == 'ntu' else 32

# Processes: torchrun sets WORLD_SIZE, RANK and LOCAL_RANK. #################
world_size = int(os.environ.get('WORLD_SIZE', 1))
rank = int(os.environ.get('RANK', 0))
local_rank = int(os.environ.get('LOCAL_RANK', 0))
distributed = world_size > 1
if args.threads > 0:
    torch.set_num_threads(args.threads)
if args.device is not None:
    device = torch.device(args.device)
elif torch.cuda.is_available():
    device = torch.device('cuda', local_rank if distributed else 0)
else:
    device = torch.device('cpu')
if device.type == 'cuda':
    torch.cuda.set_device(device)
if distributed:
    dist.init_process_group('nccl' if device.type == 'cuda' else 'gloo')
main = rank == 0
bar = {} if main else dict(disable=True)  # progress bars on rank 0 only
torch.manual_seed(args.seed)


def log(*a):
    if main:
        print(*a, flush=True)


# Data ######################################################################
layout = NTU_LAYOUT if args.dataset in ('ntu', 'synthetic') else MSR_LAYOUT
J = layout.num_joints
# ST-GCN's subset label of every bone (root / centripetal / centrifugal), one
# centre per body, cached per skeleton shape by the transform.
add_partition = AddSkeletonPartition(layout.center, num_joints=J)
# The body parts of the part stream (agclstm-jp): the part of every joint
# within its body, and how many parts a body has.
PART_OF_JOINT = layout.fine_part() if args.parts == 'fine' else \
    layout.part()
PARTS_PER_BODY = int(PART_OF_JOINT.max()) + 1


class Normalize:
    # Retargets to the given bone lengths (None: keeps them), centres every
    # sequence on the mean position of its root joint (hip centre / spine
    # base) of body 0 over time (empty body slots stay zero) and scales it to
    # unit mean distance of the joints from that centre; adds the ST-GCN
    # subset labels and the part of every joint within its sample.
    def __init__(self, lengths: Optional[Tensor]):
        self.lengths = lengths

    def __call__(self, data: Data) -> Data:
        x = data.x
        if self.lengths is not None:
            x = retarget(x, layout, self.lengths)
        used = (x.flatten(1).abs().sum(1) > 0).view(-1, 1, 1)
        x = (x - x[layout.root].mean(0)) * used
        size = x.norm(dim=-1).sum() / (used.sum() * x.size(1)).clamp(min=1)
        data.x = x / size.clamp(min=1e-6)
        bodies = x.size(0) // J
        data.body_part = PART_OF_JOINT.repeat(bodies) + \
            layout.body(bodies) * PARTS_PER_BODY
        return add_partition(data)


class Augment:
    # Random rotation about the vertical (y) axis, scaling and a temporal
    # crop resampled back to the full length; training samples only.
    def __init__(self, normalize: Normalize, max_angle=15.0, scale=0.1,
                 crop=0.8):
        self.normalize = normalize
        self.max_angle, self.scale, self.crop = max_angle, scale, crop

    def __call__(self, data: Data) -> Data:
        data = self.normalize(data)
        x = data.x
        used = (x.flatten(1).abs().sum(1) > 0).view(-1, 1, 1)
        a = torch.deg2rad(torch.empty(()).uniform_(-self.max_angle,
                                                   self.max_angle))
        c, s = torch.cos(a), torch.sin(a)
        rot = torch.stack([torch.stack([c, a.new_zeros(()), s]),
                           torch.tensor([0.0, 1.0, 0.0]),
                           torch.stack([-s, a.new_zeros(()), c])])
        x = x @ rot.t() * torch.empty(3).uniform_(1 - self.scale,
                                                  1 + self.scale)
        T = x.size(1)
        keep = int(round(T * float(torch.empty(()).uniform_(self.crop, 1))))
        if keep < T:
            start = int(torch.randint(0, T - keep + 1, ()))
            x = resample(x[:, start:start + keep], T)
        data.x = x * used
        return data


class Samples(torch.utils.data.Dataset):
    # A list of samples with a transform applied to a copy at every access.
    def __init__(self, data_list: List[Data], transform=None):
        self.data_list, self.transform = data_list, transform

    def __len__(self) -> int:
        return len(self.data_list)

    def __getitem__(self, i: int) -> Data:
        data = copy.copy(self.data_list[i])
        return data if self.transform is None else self.transform(data)


def mean_bone_lengths(data_list: List[Data]) -> Tensor:
    # The mean length of every bone over the sequences' used bodies and
    # frames (empty body slots and zero-padded frames left out; raw units).
    total = torch.zeros(len(layout.bones), dtype=torch.float64)
    count = torch.zeros((), dtype=torch.float64)
    for data in data_list:
        lengths = bone_lengths(data.x, layout).double()
        lengths = lengths.view(-1, len(layout.bones), lengths.size(-1))
        used = lengths.sum(dim=1, keepdim=True) > 0  # (bodies, 1, T)
        total += (lengths * used).sum(dim=(0, 2))
        count += used.sum()
    return (total / count.clamp(min=1)).float()


def stratified_split(y: Tensor, ratio: float, seed: int):
    # Hold out round(ratio * n_c) samples of every class c with >= 2
    # samples, chosen with a seeded generator: the same on every rank.
    gen = torch.Generator().manual_seed(seed)
    train, val = [], []
    for c in torch.unique(y).tolist():
        idx = (y == c).nonzero().view(-1)
        idx = idx[torch.randperm(idx.numel(), generator=gen)]
        k = int(round(ratio * idx.numel())) if idx.numel() > 1 else 0
        k = min(max(k, 1 if idx.numel() > 1 and ratio > 0 else 0),
                idx.numel() - 1)
        val += idx[:k].tolist()
        train += idx[k:].tolist()
    return sorted(train), sorted(val)


class Task(NamedTuple):
    # One training and evaluation: a subset (or all classes) on one split of
    # the subjects. `train` holds all training samples (the validation
    # subjects or samples are split off per run), raw (no transform).
    name: str          # e.g. 'all20' or 'AS1'
    split: str         # e.g. 'odd/even subjects'
    train: List[Data]
    val: Optional[List[Data]]  # fixed validation samples (synthetic, ntu)
    test: List[Data]
    num_classes: int
    class_names: List[str]


def subject_splits() -> List[tuple]:
    # (training subjects, test subjects) pairs: the standard one, or
    # --subject-splits seeded distinct combinations of five of the ten.
    if not args.subject_splits:
        train = tuple(sorted(TRAIN_SUBJECTS))
        return [(train, tuple(s for s in SUBJECTS if s not in train))]
    gen = torch.Generator().manual_seed(args.split_seed)
    seen, out = set(), []
    while len(out) < args.subject_splits:
        train = tuple(sorted((torch.randperm(10, generator=gen)[:5] +
                              1).tolist()))
        if train not in seen:
            seen.add(train)
            out.append((train, tuple(s for s in SUBJECTS if s not in train)))
    return out


def raw_list(dataset) -> List[Data]:
    return [dataset.get(i) for i in range(len(dataset))]


def link_raw(name: str) -> str:
    root = args.root or osp.join(REPO, 'data', name)
    raw = osp.join(root, 'raw')
    key = 'msr' if name == 'MSRAction3D' else 'ntu'
    if not osp.lexists(raw) and osp.isdir(SHARED[key]):
        os.makedirs(root, exist_ok=True)
        try:
            os.symlink(osp.realpath(SHARED[key]), raw,
                       target_is_directory=True)
        except FileExistsError:  # another rank linked it first
            pass
    return root


def msr_tasks() -> List[Task]:
    root = link_raw('MSRAction3D')
    subsets = [None] if args.protocol == 'all20' else list(SUBSETS)
    tasks = []
    for subset in subsets:
        kw = dict(subset=subset, num_frames=args.frames, log=main)
        data = raw_list(MSRAction3D(root, 'train', **kw)) + \
            raw_list(MSRAction3D(root, 'test', **kw))
        numbers = range(1, 21) if subset is None else SUBSETS[subset]
        names = [f'{a} {MSR_ACTIONS[a - 1]}' for a in numbers]
        for train_subjects, test_subjects in subject_splits():
            split = ('odd/even subjects' if not args.subject_splits else
                     'train subjects ' + ','.join(map(str, train_subjects)))
            tasks.append(Task(
                subset or 'all20', split,
                [d for d in data if int(d.subject) in train_subjects], None,
                [d for d in data if int(d.subject) in test_subjects],
                len(numbers), names))
    return tasks


def synthetic_tasks() -> List[Task]:
    kw = dict(num_classes=args.synthetic_classes, num_frames=args.frames,
              seed=args.seed)
    n_eval = max(args.synthetic_samples // 5, 1)
    splits = [raw_list(SyntheticSkeletonActions(n, split=split, **kw))
              for n, split in ((args.synthetic_samples, 'train'),
                               (n_eval, 'val'), (n_eval, 'test'))]
    if args.protocol == 'all20':
        names = [str(c) for c in range(args.synthetic_classes)]
        return [Task('all', 'SYNTHETIC', *splits, args.synthetic_classes,
                     names)]
    tasks = []
    for subset, numbers in SUBSETS.items():
        # The subset's classes (1-based numbers, as for MSR), relabelled.
        label = {a - 1: i for i, a in enumerate(numbers)}

        def pick(data_list):
            out = []
            for d in data_list:
                if int(d.y) in label:
                    d = copy.copy(d)
                    d.y = torch.tensor([label[int(d.y)]])
                    out.append(d)
            return out
        tasks.append(Task(subset, 'SYNTHETIC', *map(pick, splits),
                          len(numbers), [str(a) for a in numbers]))
    return tasks


def ntu_tasks() -> List[Task]:
    root = link_raw('NTURGBD')
    make = lambda split: NTURGBD(  # noqa: E731
        root, args.benchmark, split, num_frames=args.frames, log=main)
    train = make('train')
    train_idx, val_idx = stratified_split(train.y, args.val_ratio, args.seed)
    data = raw_list(train)
    return [Task(args.benchmark, 'NTU RGB+D', [data[i] for i in train_idx],
                 [data[i] for i in val_idx], raw_list(make('test')),
                 train.num_classes, [str(c) for c in
                                     range(train.num_classes)])]


if distributed and not main:
    dist.barrier()  # rank 0 processes (and caches) the raw files first
tasks = {'msr': msr_tasks, 'ntu': ntu_tasks,
         'synthetic': synthetic_tasks}[args.dataset]()
if distributed and main:
    dist.barrier()


# Models ####################################################################
class PLSTMNet(torch.nn.Module):
    # One Part-Aware LSTM layer over the normalised joint positions and a
    # linear classifier on the hidden state of every step.
    def __init__(self, in_channels, num_classes, hidden_channels, dropout):
        super().__init__()
        self.lstm = PartAwareLSTM(in_channels, hidden_channels, num_parts=5,
                                  num_joints=J)
        self.dropout = dropout
        self.lin = torch.nn.Linear(5 * hidden_channels, num_classes)

    def forward(self, x, part, batch, joint):
        h, _ = self.lstm(x, part, batch, joint)
        return self.lin(F.dropout(h, self.dropout, self.training))


def make_model(num_classes: int):
    agc = dict(hidden_channels=args.hidden, dropout=args.dropout,
               input_norm=not args.no_input_norm,
               init_gain=args.init_gain or None)
    if args.model == 'agclstm':
        net = AGCLSTMNet(3, num_classes, **agc)
    elif args.model == 'agclstm-jp':
        # The part graph of one sample (its bodies), from the bones: parts
        # joined by a bone; the centre part is the centre joint's.
        bodies = 2 if args.dataset == 'ntu' else 1
        part = PART_OF_JOINT.repeat(bodies) + \
            layout.body(bodies) * PARTS_PER_BODY
        num_parts = bodies * PARTS_PER_BODY
        center = torch.zeros(num_parts, dtype=torch.bool)
        center[part[layout.center::J]] = True
        net = AGCLSTMJointPartNet(
            3, num_classes, part_graph(layout.edge_index(bodies), part,
                                       num_parts), center,
            fusion_weight=args.fusion_weight, **agc)
    else:
        net = PLSTMNet(3, num_classes, args.hidden, args.dropout)
    net = net.to(device)  # (model, module): the DDP wrapper and the net
    if distributed:
        return DistributedDataParallel(
            net, device_ids=[device.index] if device.type == 'cuda' else
            None), net
    return net, net


# What is scored: the model's prediction, and for agclstm-jp also each
# stream alone (each at its own best validation epoch).
HEADS = ['joint+part', 'joint', 'part'] if args.model == 'agclstm-jp' \
    else [args.model]


def forward(model, module, batch):
    # The model's outputs and a function computing the training loss.
    if args.model == 'agclstm':
        logits, alphas = model(batch.x, batch.edge_index, batch.partition,
                               batch.batch)
        return logits, lambda: module.loss(logits, alphas, batch.y,
                                           batch.batch)
    if args.model == 'agclstm-jp':
        out = model(batch.x, batch.edge_index, batch.partition,
                    batch.body_part, batch.batch)
        return out, lambda: module.loss(out, batch.y, batch.batch)
    joint = (torch.arange(batch.num_nodes, device=device) -
             batch.ptr[batch.batch]) % J  # two bodies share the weights
    logits = model(batch.x, batch.part, batch.batch, joint)
    T = logits.size(1)
    return logits, lambda: F.cross_entropy(
        logits.transpose(1, 2), batch.y.view(-1, 1).expand(-1, T),
        reduction='sum') / batch.num_graphs


def probabilities(module, out) -> Dict[str, Tensor]:
    # The class probabilities of every head: the mean of the per-step
    # softmax (fused for joint+part).
    if args.model != 'agclstm-jp':
        return {HEADS[0]: out.softmax(-1).mean(1)}
    return {'joint+part': module.predict(out),
            'joint': module.predict(out, fusion_weight=1.0),
            'part': module.predict(out, fusion_weight=0.0)}


def train(model, module, loader, sampler, optimizer, epoch: int) -> float:
    model.train()
    if sampler is not None:
        sampler.set_epoch(epoch)
    total_loss = torch.zeros(2, dtype=torch.float64, device=device)
    for batch in tqdm(loader, desc=f'Epoch {epoch:03d}', leave=False, **bar):
        batch = batch.to(device)
        optimizer.zero_grad()
        _, loss_fn = forward(model, module, batch)
        loss = loss_fn()
        loss.backward()
        optimizer.step()
        total_loss[0] += float(loss.detach()) * batch.num_graphs
        total_loss[1] += batch.num_graphs
    if distributed:
        dist.all_reduce(total_loss)
    return float(total_loss[0] / total_loss[1].clamp(min=1))


@torch.no_grad()
def predict(model, module, loader, num_classes: int) -> Dict[str, Tensor]:
    # The class probabilities of every head for this rank's share of the
    # samples.
    model.eval()
    probs: Dict[str, List[Tensor]] = {h: [] for h in HEADS}
    for batch in loader:
        out = forward(model, module, batch.to(device))[0]
        for head, p in probabilities(module, out).items():
            probs[head].append(p)
    return {h: torch.cat(p) if p else torch.zeros(0, num_classes,
                                                  device=device)
            for h, p in probs.items()}


def score(prob: Tensor, y: Tensor):
    # Accuracy and mean negative log-likelihood over all ranks.
    counts = torch.tensor([
        float((prob.argmax(-1) == y).sum()),
        float(-prob.gather(1, y.view(-1, 1)).clamp(min=1e-12).log().sum()),
        float(y.numel())], dtype=torch.float64, device=device)
    if distributed:
        dist.all_reduce(counts)
    if counts[2] == 0:
        return float('nan'), float('nan')
    return float(counts[0] / counts[2]), float(counts[1] / counts[2])


def eval_loader(data_list: List[Data], transform) -> DataLoader:
    # Every rank evaluates its own share (no padding, so nothing is counted
    # twice); the counts are summed over the ranks. The samples are
    # transformed once.
    if distributed:
        data_list = data_list[rank::world_size]
    return DataLoader([transform(copy.copy(d)) for d in data_list], 64)


def labels(loader) -> Tensor:
    ys = [batch.y for batch in loader]
    return torch.cat(ys).to(device) if ys else torch.zeros(
        0, dtype=torch.long, device=device)


class RunResult(NamedTuple):
    # Per head: the test probabilities (this rank's share) at the chosen
    # epoch, the test accuracy there and after the last epoch.
    prob: Dict[str, Tensor]
    acc: Dict[str, float]
    last_acc: Dict[str, float]
    test_y: Tensor
    module: torch.nn.Module


def split_off_validation(task: Task, seed: int):
    # The training samples and the validation samples of one run.
    if task.val is not None:
        return task.train, task.val, 'validation split'
    subjects = sorted({int(d.subject) for d in task.train})
    if args.val_subjects == 0:
        return task.train, [], 'none'
    gen = torch.Generator().manual_seed(seed)
    held = sorted(subjects[i] for i in torch.randperm(
        len(subjects), generator=gen)[:args.val_subjects].tolist())
    train = [d for d in task.train if int(d.subject) not in held]
    val = [d for d in task.train if int(d.subject) in held]
    return train, val, 'subject' + ('s ' if len(held) > 1 else ' ') + \
        ','.join(map(str, held))


def run(task: Task, seed: int, first: bool) -> RunResult:
    # Trains one model on one task; returns its result at the best
    # validation epoch of every head (the last epoch without validation).
    torch.manual_seed(seed)
    train_list, val_list, val_what = split_off_validation(task, seed)
    lengths = None
    if args.retarget and args.dataset != 'synthetic':
        lengths = mean_bone_lengths(train_list)
    normalize = Normalize(lengths)
    train_set = Samples(train_list,
                        normalize if args.no_augment else Augment(normalize))
    generator = torch.Generator().manual_seed(seed)
    if distributed:
        sampler = DistributedSampler(train_set, num_replicas=world_size,
                                     rank=rank, shuffle=True, seed=seed)
        train_loader = DataLoader(train_set, args.batch_size,
                                  sampler=sampler)
    else:
        sampler = None
        train_loader = DataLoader(train_set, args.batch_size, shuffle=True,
                                  generator=generator)
    val_loader = eval_loader(val_list, normalize)
    test_loader = eval_loader(task.test, normalize)
    val_y, test_y = labels(val_loader), labels(test_loader)
    has_val = len(val_list) > 0

    model, module = make_model(task.num_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr,
                                 weight_decay=args.weight_decay)
    # The learning rate follows a cosine from --lr down to 0.
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer,
                                                           args.epochs)
    if first:
        num_params = sum(p.numel() for p in module.parameters())
        log(f'{args.dataset} {task.name} ({task.split}): '
            f'{len(train_list)} train / {len(val_list)} val '
            f'({val_what}) / {len(task.test)} test samples, '
            f'{task.num_classes} classes, {args.frames} frames; '
            f'{args.model}, hidden {args.hidden}, {num_params:,} '
            f'parameters, {device}, {world_size} process(es), '
            f'{torch.get_num_threads()} CPU thread(s) each')
        if not has_val:
            log('No validation samples: the last epoch is reported.')
    best = {h: ((-1.0, -float('inf')), 0) for h in HEADS}  # key, epoch
    test_prob: Dict[str, Tensor] = {}
    test_acc = {h: 0.0 for h in HEADS}
    times = []
    for epoch in range(1, args.epochs + 1):
        t = time.perf_counter()
        loss = train(model, module, train_loader, sampler, optimizer, epoch)
        scheduler.step()
        train_time = time.perf_counter() - t
        # The best epoch of a head has its highest validation accuracy, ties
        # broken by the lower validation NLL. The test split is evaluated
        # only when some head improves (or at the last epoch).
        improved = []
        val_txt = []
        if has_val:
            val_prob = predict(model, module, val_loader, task.num_classes)
            for head in HEADS:
                acc, nll = score(val_prob[head], val_y)
                val_txt.append(f'{acc:.4f}')
                if (acc, -nll) > best[head][0]:
                    best[head] = ((acc, -nll), epoch)
                    improved.append(head)
        elif epoch == args.epochs:
            improved = list(HEADS)
            best = {h: ((0.0, 0.0), epoch) for h in HEADS}
        if improved:
            prob = predict(model, module, test_loader, task.num_classes)
            for head in improved:
                test_prob[head] = prob[head]
                test_acc[head] = score(prob[head], test_y)[0]
        times.append(time.perf_counter() - t)
        test_txt = '/'.join(f'{test_acc[h]:.4f}' if h in improved else '-'
                            for h in HEADS)
        log(f'Epoch: {epoch:03d}, Loss: {loss:.4f}, Val: '
            f'{"/".join(val_txt) or "-"}, Test: {test_txt}, '
            f'Time: {times[-1]:.1f}s (train {train_time:.1f}s)')
    per_epoch = sum(times) / max(len(times), 1)
    # For comparison (not a selection): the test accuracy after the last
    # epoch.
    last_acc = dict(test_acc)
    if has_val:
        prob = predict(model, module, test_loader, task.num_classes)
        last_acc = {h: score(prob[h], test_y)[0] for h in HEADS}
    for head in HEADS:
        (val_acc, _), epoch = best[head]
        at = (f'the best validation epoch {epoch} (val {val_acc:.4f}); '
              f'{last_acc[head]:.4f} at the last epoch' if has_val else
              f'the last epoch {epoch} (no validation)')
        what = '' if head == args.model else f' [{head}]'
        log(f'{args.dataset} {task.name} {args.model}{what} (seed {seed}): '
            f'test accuracy {test_acc[head]:.4f} at {at}; '
            f'{per_epoch:.1f}s/epoch')
    return RunResult(test_prob, test_acc, last_acc, test_y, module)


def mean_std(values: List[float]) -> str:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return f'{mean:.4f}'
    std = (sum((a - mean)**2 for a in values) / (len(values) - 1))**0.5
    return f'{mean:.4f} +- {std:.4f}'


start = time.perf_counter()
# Per head and task name: the accuracies of all runs (over subject splits and
# seeds) and the accuracy of every split's ensemble of seeds.
accs: Dict[str, Dict[str, List[float]]] = {h: {} for h in HEADS}
last_accs: Dict[str, Dict[str, List[float]]] = {h: {} for h in HEADS}
ensembles: Dict[str, Dict[str, List[float]]] = {h: {} for h in HEADS}
module = None
for t, task in enumerate(tasks):
    prob_sum: Dict[str, Tensor] = {}
    for r in range(args.runs):
        result = run(task, args.seed + r, first=t == 0 or r == 0)
        module = result.module
        for head in HEADS:
            accs[head].setdefault(task.name, []).append(result.acc[head])
            last_accs[head].setdefault(task.name, []).append(
                result.last_acc[head])
            p = result.prob[head]
            prob_sum[head] = p if head not in prob_sum else \
                prob_sum[head] + p
    test_y = result.test_y
    for head in HEADS:
        ens = score(prob_sum[head] / args.runs, test_y)[0]
        ensembles[head].setdefault(task.name, []).append(ens)
        what = '' if head == args.model else f' [{head}]'
        if args.runs > 1:
            log(f'{args.dataset} {task.name} {args.model}{what} '
                f'({task.split}): {args.runs} runs (seeds {args.seed}-'
                f'{args.seed + args.runs - 1}): test accuracy '
                f'{mean_std(accs[head][task.name][-args.runs:])} (mean +- '
                f'std), ensemble of their probabilities {ens:.4f}')
    # Per class, for the ensemble (the one model when --runs 1).
    prob = prob_sum[HEADS[0]] / args.runs
    hit = torch.zeros(2, task.num_classes, dtype=torch.float64,
                      device=device)
    hit[0].index_add_(0, test_y, (prob.argmax(-1) == test_y).double())
    hit[1].index_add_(0, test_y,
                      torch.ones_like(test_y, dtype=torch.float64))
    if distributed:
        dist.all_reduce(hit)
    log(f'test accuracy per class ({task.name}, {task.split}, '
        f'{HEADS[0]}): ' + ', '.join(
            f'{task.class_names[c]}: {int(hit[0, c])}/{int(hit[1, c])}'
            for c in range(task.num_classes) if hit[1, c] > 0))

if len(tasks) > 1:
    names = list(dict.fromkeys(task.name for task in tasks))
    splits = (tasks[0].split if not args.subject_splits else
              f'{args.subject_splits} subject splits (split seed '
              f'{args.split_seed})')
    runs = (f'{args.runs} run(s) per subset and split: seeds {args.seed}-'
            f'{args.seed + args.runs - 1}')
    log(f'Summary, {args.dataset} {args.protocol}, {splits}, {runs}; '
        f'mean +- std over all runs of a subset; the average is over the '
        f'subsets:')
    for head in HEADS:
        means = [sum(accs[head][n]) / len(accs[head][n]) for n in names]
        ens = [sum(ensembles[head][n]) / len(ensembles[head][n])
               for n in names]
        what = '' if head == args.model else f' [{head}]'
        log(f'{args.dataset} {args.protocol} {args.model}{what}: ' +
            ', '.join(f'{n} {mean_std(accs[head][n])}' for n in names) +
            f'; average {sum(means) / len(means):.4f}' +
            (f'; ensembles of the seeds: ' +
             ', '.join(f'{n} {e:.4f}' for n, e in zip(names, ens)) +
             f', average {sum(ens) / len(ens):.4f}'
             if args.runs > 1 else ''))
        if args.dataset != 'msr' or args.val_subjects > 0:
            last = [sum(last_accs[head][n]) / len(last_accs[head][n])
                    for n in names]
            log(f'  (for comparison, after the last epoch instead: ' +
                ', '.join(f'{n} {mean_std(last_accs[head][n])}'
                          for n in names) +
                f'; average {sum(last) / len(last):.4f})')
log(f'total {time.perf_counter() - start:.0f}s')

if args.save is not None and (main or '{rank}' in args.save):
    path = args.save.replace('{rank}', str(rank))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    state = copy.deepcopy(module.state_dict())
    torch.save({k: v.cpu() for k, v in state.items()}, path)
if distributed:
    dist.destroy_process_group()
