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

Inputs are centred on the root joint's mean position and scaled to unit mean
joint distance from it; training samples are augmented (random rotation of
up to 15 degrees about the vertical axis, scaling by 0.9 to 1.1 per axis, a
random crop of 80 to 100 % of the frames resampled to the full length).
Adam with a cosine learning-rate decay.

    python examples/skeleton_action.py --model agclstm --dataset msr \
        --hidden 64 --epochs 40
    python examples/skeleton_action.py --model plstm --dataset msr \
        --epochs 100

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
from tgr.datasets.skeleton import MSR_LAYOUT, NTU_LAYOUT, resample
from tgr.nn import PartAwareLSTM, skeleton_partition
from tgr.nn.models import AGCLSTMNet

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = {
    'msr': osp.join(REPO, '..', 'shared', 'data', 'msr_action3d',
                    'real_world_coordinates'),
    'ntu': osp.join(REPO, '..', 'shared', 'data', 'ntu_rgbd', 'skeletons'),
}

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
parser.add_argument('--frames', type=int, default=None,
                    help='frames per sample (default: 32, 100 for ntu)')
parser.add_argument('--seed', type=int, default=12345)
parser.add_argument('--epochs', type=int, default=60)
parser.add_argument('--batch-size', type=int, default=16)
parser.add_argument('--lr', type=float, default=3e-3)
parser.add_argument('--weight-decay', type=float, default=1e-4)
parser.add_argument('--hidden', type=int, default=None,
                    help='width of the AGC-LSTM layers (default 128, as in '
                    'the paper) or of each part cell of the P-LSTM '
                    '(default 50)')
parser.add_argument('--dropout', type=float, default=0.5)
parser.add_argument('--default-init', action='store_true',
                    help='keep AGCLSTMNet\'s default initialisation (under '
                    'which the differences between samples shrink about '
                    'tenfold per layer and the network barely starts to '
                    'learn); by default the input-side weights are scaled '
                    'up once, see rescale_init()')
parser.add_argument('--val-ratio', type=float, default=0.12,
                    help='part of the training samples held out for '
                    'choosing the epoch (msr, ntu)')
parser.add_argument('--no-augment', action='store_true',
                    help='no random rotation, scaling and temporal '
                    'cropping of the training samples')
parser.add_argument('--synthetic-samples', type=int, default=600,
                    help='training samples of the synthetic set (a fifth '
                    'as many for validation and test)')
parser.add_argument('--synthetic-classes', type=int, default=10)
parser.add_argument('--save', default=None,
                    help='write the final model state_dict here (rank 0; '
                    'with "{rank}" in the path every rank writes its own)')
parser.add_argument('--device', default=None,
                    help='(default: cuda if available, else cpu)')
parser.add_argument('--threads', type=int, default=1,
                    help='CPU threads per process (0 = PyTorch\'s choice)')
args = parser.parse_args()
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
_partitions = {}


def add_partition(data):
    # ST-GCN's subset label of every bone (root / centripetal /
    # centrifugal), computed once per skeleton shape and cached; one centre
    # per body.
    key = (data.num_nodes, data.edge_index.size(1))
    if key not in _partitions:
        center = torch.arange(data.num_nodes) % J == layout.center
        _partitions[key] = skeleton_partition(data.edge_index, center,
                                              data.num_nodes)
    data.partition = _partitions[key]
    return data


def normalize(data):
    # Centre every sequence on the mean position of its root joint (hip
    # centre / spine base) of body 0 over time; empty body slots stay zero.
    # Then scale it to unit mean distance of the joints from that centre.
    x = data.x
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


@torch.no_grad()
def rescale_init(net: AGCLSTMNet):
    # With the default (PyTorch) initialisation, every gate's pre-activation
    # is a few times smaller than its input, the gates sit at 0.5 and each
    # recurrent layer passes on about a tenth of the differences between
    # samples: after five stacked layers the logits hardly depend on the
    # input. Scaling the initial weights keeps the per-sample signal at
    # about the same size through the layers (measured on MSR Action3D).
    # The frame differences are about 10x smaller than the positions.
    net.lin_pos.weight.mul_(3.0)
    net.lin_diff.weight.mul_(30.0)
    net.lstm.weight_ih_l0.mul_(3.0)
    for conv in net.convs:
        conv.cell.conv_x.lin.weight.mul_(6.0)
        conv.cell.conv_h.lin.weight.mul_(6.0)


if args.model == 'agclstm':
    model = AGCLSTMNet(3, num_classes, hidden_channels=args.hidden,
                       dropout=args.dropout)
    if not args.default_init:
        rescale_init(model)
else:
    model = PLSTMNet(3, num_classes, args.hidden, args.dropout)
model = model.to(device)
module = model
if distributed:
    model = DistributedDataParallel(
        model, device_ids=[device.index] if device.type == 'cuda' else None)
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr,
                             weight_decay=args.weight_decay)
# The learning rate follows a cosine from --lr down to 0 over the epochs.
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer,
                                                       args.epochs)


def forward(batch):
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


def train(epoch: int) -> float:
    model.train()
    if train_sampler is not None:
        train_sampler.set_epoch(epoch)
    total_loss = torch.zeros(2, dtype=torch.float64, device=device)
    for batch in tqdm(train_loader, desc=f'Epoch {epoch:03d}', leave=False,
                      **bar):
        batch = batch.to(device)
        optimizer.zero_grad()
        _, loss_fn = forward(batch)
        loss = loss_fn()
        loss.backward()
        optimizer.step()
        total_loss[0] += float(loss.detach()) * batch.num_graphs
        total_loss[1] += batch.num_graphs
    if distributed:
        dist.all_reduce(total_loss)
    return float(total_loss[0] / total_loss[1].clamp(min=1))


@torch.no_grad()
def test(loader):
    # Accuracy and mean negative log-likelihood of the prediction (the mean
    # of the per-step class probabilities), summed over all ranks.
    model.eval()
    counts = torch.zeros(3, dtype=torch.float64, device=device)
    for batch in loader:
        batch = batch.to(device)
        logits, _ = forward(batch)
        prob = logits.softmax(dim=-1).mean(dim=1)
        counts[0] += int((prob.argmax(dim=-1) == batch.y).sum())
        counts[1] += float(-prob.gather(1, batch.y.view(-1, 1)).clamp(
            min=1e-12).log().sum())
        counts[2] += batch.num_graphs
    if distributed:
        dist.all_reduce(counts)
    if counts[2] == 0:
        return float('nan'), float('nan')
    return float(counts[0] / counts[2]), float(counts[1] / counts[2])


num_params = sum(p.numel() for p in module.parameters())
log(f'{args.dataset}: {len(train_dataset)} train / {len(val_dataset)} val / '
    f'{len(test_dataset)} test samples, {num_classes} classes, '
    f'{args.frames} frames; {args.model}, hidden {args.hidden}, '
    f'{num_params:,} parameters, {device}, {world_size} process(es), '
    f'{torch.get_num_threads()} CPU thread(s) each')
if len(val_dataset) == 0:
    log('No validation samples: the last epoch is reported.')
best_val, best_key = -1.0, (-1.0, -float('inf'))
test_at_best = best_epoch = 0
times = []
start = time.perf_counter()
for epoch in range(1, args.epochs + 1):
    t = time.perf_counter()
    loss = train(epoch)
    scheduler.step()
    train_time = time.perf_counter() - t
    val_acc, val_nll = test(val_loader) if len(val_dataset) else (0.0, 0.0)
    # The best epoch has the highest validation accuracy, ties broken by
    # the lower validation NLL (the small validation set of MSR Action3D
    # reaches 100 % long before training ends). The test split is evaluated
    # only when the epoch is the best so far.
    improved = (val_acc, -val_nll) > best_key or len(val_dataset) == 0
    if improved:
        best_key, best_epoch = (val_acc, -val_nll), epoch
        best_val, test_at_best = val_acc, test(test_loader)[0]
    times.append(time.perf_counter() - t)
    log(f'Epoch: {epoch:03d}, Loss: {loss:.4f}, Val: {val_acc:.4f} '
        f'(NLL {val_nll:.3f}), '
        f'Test: {f"{test_at_best:.4f}" if improved else "-     "}, '
        f'Time: {times[-1]:.1f}s (train {train_time:.1f}s)')
at = (f'the best validation epoch {best_epoch} (val {best_val:.4f})'
      if len(val_dataset) else f'the last epoch {best_epoch} (no validation)')
log(f'{args.dataset} {args.model}: test accuracy {test_at_best:.4f} at '
    f'{at}; '
    f'{sum(times) / max(len(times), 1):.1f}s/epoch, total '
    f'{time.perf_counter() - start:.0f}s')

if args.save is not None and (main or '{rank}' in args.save):
    path = args.save.replace('{rank}', str(rank))
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    state = copy.deepcopy(module.state_dict())
    torch.save({k: v.cpu() for k, v in state.items()}, path)
if distributed:
    dist.destroy_process_group()
