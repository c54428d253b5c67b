r"""Skeleton-based action recognition with AGC-LSTM or the Part-Aware LSTM.

Models: ``agclstm`` is :class:`tgr.nn.models.AGCLSTMNet` (Si et al., CVPR 2019:
feature augmentation, an LSTM, three AGC-LSTM layers with temporal pooling,
its loss with the attention regularisers); ``plstm`` is one
:class:`tgr.nn.PartAwareLSTM` layer (Shahroudy et al., CVPR 2016) with a
linear classifier on every step. Both predict the mean of the per-step class
probabilities.

Data: ``msr`` is MSR Action3D (557 sequences, 20 actions, cross-subject:
subjects 1, 3, 5, 7, 9 train, 2, 4, 6, 8, 10 test), ``ntu`` NTU RGB+D
(``--benchmark xsub|xview``), ``synthetic`` the generated actions of
:class:`tgr.datasets.SyntheticSkeletonActions` (no files needed). MSR Action3D
and NTU RGB+D have no validation split: a stratified, seeded part
(``--val-ratio``) of the training samples is held out to choose the epoch;
the test accuracy is reported at the epoch with the best validation
accuracy (ties broken by the validation NLL).

Inputs get the training set's mean bone lengths (bone directions kept:
``tgr.datasets.skeleton.retarget``; ``--no-retarget`` keeps the subjects'
own), are centred on the root joint's mean position and scaled to unit mean
joint distance from it; training samples are augmented (random rotation of
up to 15 degrees about the vertical axis, scaling by 0.9 to 1.1 per axis, a
random crop of 80 to 100 % of the frames resampled to the full length).
Adam with a cosine learning-rate decay.

    python examples/skeleton_action.py --model agclstm --dataset msr \
        --hidden 64 --epochs 40 --runs 3
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

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler
from torch_geometric.loader import DataLoader
from tqdm import tqdm

from tgr.datasets import NTURGBD, MSRAction3D, SyntheticSkeletonActions
from tgr.datasets.skeleton import (MSR_LAYOUT, NTU_LAYOUT, bone_lengths,
                                   resample, retarget)
from tgr.nn import PartAwareLSTM
from tgr.nn.models import AGCLSTMNet
from tgr.transforms import AddSkeletonPartition

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = {
    'msr': osp.join(REPO, '..', 'shared', 'data', 'msr_action3d',
                    'real_world_coordinates'),
    'ntu': osp.join(REPO, '..', 'shared', 'data', 'ntu_rgbd', 'skeletons'),
}

def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got '
                                         f'{value}')
    return value


parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
parser.add_argument('--model', choices=['agclstm', 'plstm'],
                    default='agclstm')
parser.add_argument('--dataset', choices=['msr', 'ntu', 'synthetic'],
                    default='msr')
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
                    help='train this many models (seeds --seed, --seed + 1, '
                    '...) and report their mean, spread and the accuracy of '
                    'their averaged test probabilities')
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
parser.add_argument('--val-ratio', type=float, default=0.12,
                    help='part of the training samples held out for '
                    'choosing the epoch (msr, ntu)')
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
parser.add_argument('--synthetic-classes', type=positive, default=10)
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
if args.model == 'agclstm' and args.hidden is not None and args.hidden < 2:
    parser.error('--hidden must be at least 2 for agclstm (positions and '
                 'frame differences get half each)')
if not 0 <= args.dropout < 1:
    parser.error(f'--dropout must lie in [0, 1) (got {args.dropout})')
if not 0 < args.val_ratio < 1:
    parser.error(f'--val-ratio must lie in (0, 1) (got {args.val_ratio})')
if args.hidden is None:
    args.hidden = 128 if args.model == 'agclstm' else 50
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


canonical_lengths = None  # set from the training set unless --no-retarget


def normalize(data):
    # Centre every sequence on the mean position of its root joint (hip
    # centre / spine base) of body 0 over time; empty body slots stay zero.
    # Then scale it to unit mean distance of the joints from that centre.
    x = data.x
    if canonical_lengths is not None:
        x = retarget(x, layout, canonical_lengths)
    used = (x.flatten(1).abs().sum(1) > 0).view(-1, 1, 1)
    x = (x - x[layout.root].mean(0)) * used
    size = x.norm(dim=-1).sum() / (used.sum() * x.size(1)).clamp(min=1)
    data.x = x / size.clamp(min=1e-6)
    return add_partition(data)


class Augment:
    # Random rotation about the vertical (y) axis, scaling and a temporal
    # crop resampled back to the full length; training samples only.
    def __init__(self, max_angle=15.0, scale=0.1, crop=0.8):
        self.max_angle, self.scale, self.crop = max_angle, scale, crop

    def __call__(self, data):
        data = normalize(data)
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


def _raw(dataset):
    # The samples of a dataset without its transform.
    transform, dataset.transform = dataset.transform, None
    try:
        return [dataset[i] for i in range(len(dataset))]
    finally:
        dataset.transform = transform


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


def load_datasets():
    augment = None if args.no_augment else Augment()
    if args.dataset == 'synthetic':
        kw = dict(num_classes=args.synthetic_classes, num_frames=args.frames,
                  seed=args.seed)
        n_eval = max(args.synthetic_samples // 5, 1)
        train = SyntheticSkeletonActions(args.synthetic_samples, split='train',
                                         transform=augment or normalize, **kw)
        val = SyntheticSkeletonActions(n_eval, split='val',
                                       transform=normalize, **kw)
        test = SyntheticSkeletonActions(n_eval, split='test',
                                        transform=normalize, **kw)
        return train, val, test, args.synthetic_classes
    name = 'MSRAction3D' if args.dataset == 'msr' else 'NTURGBD'
    root = args.root or osp.join(REPO, 'data', name)
    raw = osp.join(root, 'raw')
    if not osp.lexists(raw) and osp.isdir(SHARED[args.dataset]):
        os.makedirs(root, exist_ok=True)
        try:
            os.symlink(osp.realpath(SHARED[args.dataset]), raw,
                       target_is_directory=True)
        except FileExistsError:  # another rank linked it first
            pass
    if args.dataset == 'msr':
        def make(split, transform):
            return MSRAction3D(root, split, num_frames=args.frames,
                               transform=transform, log=main)
    else:
        def make(split, transform):
            return NTURGBD(root, args.benchmark, split,
                           num_frames=args.frames, transform=transform,
                           log=main)
    full = make('train', normalize)
    if args.retarget:
        global canonical_lengths
        # The mean length of every bone over the training sequences' used
        # bodies and frames (empty body slots and zero-padded frames left
        # out; taken before the transform, in raw units).
        total = torch.zeros(len(layout.bones), dtype=torch.float64)
        count = torch.zeros((), dtype=torch.float64)
        for data in _raw(full):
            lengths = bone_lengths(data.x, layout).double()
            lengths = lengths.view(-1, len(layout.bones), lengths.size(-1))
            used = lengths.sum(dim=1, keepdim=True) > 0  # (bodies, 1, T)
            total += (lengths * used).sum(dim=(0, 2))
            count += used.sum()
        canonical_lengths = (total / count.clamp(min=1)).float()
        log('retargeting to the mean bone lengths of the training set: ' +
            ', '.join(f'{v:.3f}' for v in canonical_lengths.tolist()))
    train_idx, val_idx = stratified_split(full.y, args.val_ratio, args.seed)
    train = make('train', augment or normalize)[torch.tensor(train_idx)]
    val = full[torch.tensor(val_idx, dtype=torch.long)]
    test = make('test', normalize)
    return train, val, test, full.num_classes


if distributed and not main:
    dist.barrier()  # rank 0 processes (and caches) the raw files first
train_dataset, val_dataset, test_dataset, num_classes = load_datasets()
if distributed and main:
    dist.barrier()

generator = torch.Generator().manual_seed(args.seed)
if distributed:
    train_sampler = DistributedSampler(train_dataset, num_replicas=world_size,
                                       rank=rank, shuffle=True,
                                       seed=args.seed)
    train_loader = DataLoader(train_dataset, args.batch_size,
                              sampler=train_sampler)
else:
    train_sampler = None
    train_loader = DataLoader(train_dataset, args.batch_size, shuffle=True,
                              generator=generator)


def eval_loader(dataset):
    # Every rank evaluates its own share (no padding, so nothing is counted
    # twice); the counts are summed over the ranks.
    if distributed:
        dataset = dataset[rank::world_size]
    return DataLoader(dataset, 64)


val_loader = eval_loader(val_dataset)
test_loader = eval_loader(test_dataset)


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


def make_model():
    if args.model == 'agclstm':
        net = AGCLSTMNet(3, num_classes, hidden_channels=args.hidden,
                         dropout=args.dropout,
                         input_norm=not args.no_input_norm,
                         init_gain=args.init_gain or None)
    else:
        net = PLSTMNet(3, num_classes, args.hidden, args.dropout)
    net = net.to(device)  # (model, module): the DDP wrapper and the net
    if distributed:
        return DistributedDataParallel(
            net, device_ids=[device.index] if device.type == 'cuda' else
            None), net
    return net, net


def forward(model, module, batch):
    # Per-step logits (B, T', C) and the training loss.
    if args.model == 'agclstm':
        logits, alphas = model(batch.x, batch.edge_index, batch.partition,
                               batch.batch)
        return logits, lambda: module.loss(logits, alphas, batch.y,
                                           batch.batch)
    joint = (torch.arange(batch.num_nodes, device=device) -
             batch.ptr[batch.batch]) % J  # two bodies share the weights
    logits = model(batch.x, batch.part, batch.batch, joint)
    T = logits.size(1)
    return logits, lambda: F.cross_entropy(
        logits.transpose(1, 2), batch.y.view(-1, 1).expand(-1, T),
        reduction='sum') / batch.num_graphs


def train(model, module, optimizer, epoch: int) -> float:
    model.train()
    if train_sampler is not None:
        train_sampler.set_epoch(epoch)
    total_loss = torch.zeros(2, dtype=torch.float64, device=device)
    for batch in tqdm(train_loader, desc=f'Epoch {epoch:03d}', leave=False,
                      **bar):
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
def predict(model, module, loader) -> Tensor:
    # The class probabilities of this rank's share of the samples: the mean
    # of the per-step softmax.
    model.eval()
    probs = [forward(model, module, batch.to(device))[0].softmax(-1).mean(1)
             for batch in loader]
    return torch.cat(probs) if probs else torch.zeros(0, num_classes,
                                                       device=device)


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


def labels(loader) -> Tensor:
    ys = [batch.y for batch in loader]
    return torch.cat(ys).to(device) if ys else torch.zeros(
        0, dtype=torch.long, device=device)


val_y, test_y = labels(val_loader), labels(test_loader)


def run(seed: int):
    # Trains one model; returns it, its test probabilities (this rank's
    # share) at the best validation epoch, and its test accuracy there.
    torch.manual_seed(seed)
    generator.manual_seed(seed)
    model, module = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr,
                                 weight_decay=args.weight_decay)
    # The learning rate follows a cosine from --lr down to 0.
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer,
                                                           args.epochs)
    if seed == args.seed:
        num_params = sum(p.numel() for p in module.parameters())
        log(f'{args.dataset}: {len(train_dataset)} train / '
            f'{len(val_dataset)} val / {len(test_dataset)} test samples, '
            f'{num_classes} classes, {args.frames} frames; {args.model}, '
            f'hidden {args.hidden}, {num_params:,} parameters, {device}, '
            f'{world_size} process(es), {torch.get_num_threads()} CPU '
            f'thread(s) each')
        if len(val_dataset) == 0:
            log('No validation samples: the last epoch is reported.')
    best_key, best_epoch, best_val = (-1.0, -float('inf')), 0, 0.0
    test_prob, test_acc, times = None, 0.0, []
    for epoch in range(1, args.epochs + 1):
        t = time.perf_counter()
        loss = train(model, module, optimizer, epoch)
        scheduler.step()
        train_time = time.perf_counter() - t
        val_acc, val_nll = score(predict(model, module, val_loader), val_y) \
            if len(val_dataset) else (0.0, 0.0)
        # The best epoch has the highest validation accuracy, ties broken by
        # the lower validation NLL (the small validation set of MSR Action3D
        # reaches 100 % long before training ends). The test split is
        # evaluated only when the epoch is the best so far.
        improved = (val_acc, -val_nll) > best_key or len(val_dataset) == 0
        if improved:
            best_key, best_epoch, best_val = (val_acc, -val_nll), epoch, \
                val_acc
            test_prob = predict(model, module, test_loader)
            test_acc = score(test_prob, test_y)[0]
        times.append(time.perf_counter() - t)
        log(f'Epoch: {epoch:03d}, Loss: {loss:.4f}, Val: {val_acc:.4f} '
            f'(NLL {val_nll:.3f}), '
            f'Test: {f"{test_acc:.4f}" if improved else "-     "}, '
            f'Time: {times[-1]:.1f}s (train {train_time:.1f}s)')
    at = (f'the best validation epoch {best_epoch} (val {best_val:.4f})'
          if len(val_dataset) else
          f'the last epoch {best_epoch} (no validation)')
    log(f'{args.dataset} {args.model} (seed {seed}): test accuracy '
        f'{test_acc:.4f} at {at}; '
        f'{sum(times) / max(len(times), 1):.1f}s/epoch')
    return module, test_prob, test_acc


start = time.perf_counter()
accs, prob_sum = [], None
for r in range(args.runs):
    module, prob, acc = run(args.seed + r)
    accs.append(acc)
    prob_sum = prob if prob_sum is None else prob_sum + prob
if args.runs > 1:
    ens_acc = score(prob_sum / args.runs, test_y)[0]
    mean = sum(accs) / len(accs)
    std = (sum((a - mean)**2 for a in accs) / (len(accs) - 1))**0.5
    log(f'{args.dataset} {args.model}: {args.runs} runs (seeds {args.seed}-'
        f'{args.seed + args.runs - 1}): test accuracy {mean:.4f} +- '
        f'{std:.4f} (mean +- std), ensemble of their probabilities '
        f'{ens_acc:.4f}')
# Per class, for the last run (the ensemble's when --runs > 1).
prob = prob_sum / args.runs
hit = torch.zeros(2, num_classes, dtype=torch.float64, device=device)
hit[0].index_add_(0, test_y, (prob.argmax(-1) == test_y).double())
hit[1].index_add_(0, test_y, torch.ones_like(test_y, dtype=torch.float64))
if distributed:
    dist.all_reduce(hit)
log('test accuracy per class: ' + ', '.join(
    f'{c}: {int(hit[0, c])}/{int(hit[1, c])}' for c in range(num_classes)
    if hit[1, c] > 0))
log(f'total {time.perf_counter() - start:.0f}s')

if args.save is not None and (main or '{rank}' in args.save):
    path = args.save.replace('{rank}', str(rank))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    state = copy.deepcopy(module.state_dict())
    torch.save({k: v.cpu() for k, v in state.items()}, path)
if distributed:
    dist.destroy_process_group()
