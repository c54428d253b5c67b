r"""Comment popularity on Reddit with the Graph-Structured LSTM.

The task of Zayats & Ostendorf (TACL 2018), "Conversation Modeling on Reddit
Using a Graph-Structured LSTM" (https://arxiv.org/abs/1704.02080): predict
the popularity level (the score quantised into 8 levels) of every comment of
a thread. Two models are trained in one run, on the same node features, with
the same optimiser, epochs and seed:

- ``graph``: a linear encoder of the node features, a bidirectional
  :class:`tgr.nn.GraphStructuredLSTM` over the reply tree (parent and
  previous sibling forwards, first child and next sibling backwards), and an
  MLP head on the encoder output and both LSTM states;
- ``mlp``: the same encoder and the same head, without the graph (a
  per-comment MLP).

Reported are the accuracy and the macro-F1 (the mean of the per-level F1
over the 8 levels) on the labelled comments of the test split, each model at
its own epoch of best validation macro-F1 (the first one on a tie), and the
majority level of the training comments as a floor.

    # The real months (RC_2005-12: train/val, RC_2006-01: test):
    python examples/reddit_popularity.py --files
    python examples/reddit_popularity.py --files RC_2005-12.zst RC_2006-01.zst
    # Synthetic threads (no dumps needed):
    python examples/reddit_popularity.py

``--files`` alone takes the two months in ``../shared/data/reddit_pushshift``;
otherwise it takes paths to Pushshift dumps (linked into ``ROOT/raw``), or
names of files already in ``ROOT/raw``. Without ``--files`` (or with
``--synthetic``) the threads of :class:`tgr.datasets.SyntheticRedditThreads`
are used, and the output says so.
"""
import argparse
import os
import os.path as osp
import random
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.loader import DataLoader
from tqdm import tqdm

from tgr.datasets import RedditThreads, SyntheticRedditThreads
from tgr.nn import GraphStructuredLSTM
from tgr.transforms import AddSiblingOrder

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_DUMPS = osp.join(REPO, '..', 'shared', 'data', 'reddit_pushshift')
DEFAULT_FILES = ('RC_2005-12.zst', 'RC_2006-01.zst')

parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
parser.add_argument('--files', nargs='*', default=None, metavar='FILE',
                    help='Pushshift dumps (paths, or names in ROOT/raw); '
                    '"--files" alone: RC_2005-12.zst and RC_2006-01.zst from '
                    '../shared/data/reddit_pushshift. Without it: synthetic '
                    'threads')
parser.add_argument('--root', default=osp.join(REPO, 'data', 'Reddit'),
                    help='dataset folder; its raw/ holds the dumps')
parser.add_argument('--synthetic', action='store_true',
                    help='use SyntheticRedditThreads (the default without '
                    '--files)')
parser.add_argument('--synthetic-threads', type=int, default=1000,
                    help='number of synthetic threads, all splits together')
parser.add_argument('--data-seed', type=int, default=0,
                    help='seed of the synthetic threads')
parser.add_argument('--seed', type=int, default=12345)
parser.add_argument('--epochs', type=int, default=40)
parser.add_argument('--hidden', type=int, default=64)
parser.add_argument('--lr', type=float, default=0.001)
parser.add_argument('--weight-decay', type=float, default=1e-3)
parser.add_argument('--dropout', type=float, default=0.5)
parser.add_argument('--batch-size', type=int, default=16,
                    help='threads per training batch')
parser.add_argument('--class-weighted', default=True,
                    action=argparse.BooleanOptionalAction,
                    help='weight the loss of every level by the inverse of '
                    'its frequency in the training comments (it raised the '
                    'validation macro-F1 of both models on the real months)')
parser.add_argument('--device', default=None,
                    help='(default: cuda if available, else cpu)')
parser.add_argument('--threads', type=int, default=1,
                    help="CPU threads (0 = PyTorch's choice); one is faster "
                    'on a busy 2-core machine')
args = parser.parse_args()

torch.manual_seed(args.seed)
random.seed(args.seed)
if args.threads > 0:
    torch.set_num_threads(args.threads)
device = torch.device(args.device or (
    'cuda' if torch.cuda.is_available() else 'cpu'))


# Data ########################################################################
def link_raw_files(root: str, files: list) -> list:
    # Every entry that is an existing path is linked into root/raw under its
    # own name; the others must be names of files in root/raw already.
    raw = osp.join(root, 'raw')
    names = []
    for f in files:
        name = osp.basename(f)
        if osp.isfile(f):
            dst = osp.join(raw, name)
            if osp.lexists(dst):
                if osp.realpath(dst) != osp.realpath(f):
                    raise SystemExit(f"'{dst}' exists and is not '{f}': "
                                     f"pass --root to another folder")
            else:
                os.makedirs(raw, exist_ok=True)
                os.symlink(osp.realpath(f), dst)
        elif f != name:
            raise SystemExit(f"'{f}' does not exist")
        names.append(name)
    return names


if args.files is not None and args.synthetic:
    parser.error('--files and --synthetic exclude each other')
if args.files is not None:
    files = args.files or [osp.join(SHARED_DUMPS, f) for f in DEFAULT_FILES]
    names = link_raw_files(args.root, files)
    datasets = [RedditThreads(args.root, split, files=names)
                for split in ('train', 'val', 'test')]
    source = (f"REAL Pushshift dumps {', '.join(names)} (in "
              f"{osp.join(args.root, 'raw')})")
else:
    datasets = [SyntheticRedditThreads(num_threads=args.synthetic_threads,
                                       seed=args.data_seed, split=split)
                for split in ('train', 'val', 'test')]
    source = (f'SYNTHETIC threads (SyntheticRedditThreads, '
              f'{args.synthetic_threads} threads, data seed '
              f'{args.data_seed}), not real Reddit data')
info = datasets[0].info
num_bow = datasets[0].num_bow_features
num_levels = info['num_levels']

# Sibling links and levels once per thread, not per batch or per epoch.
sibling_order = AddSiblingOrder(time_attr='time')
train_list, val_list, test_list = [[sibling_order(d) for d in ds]
                                   for ds in datasets]

# Standardise the six structure and timing columns (log-seconds reach ~15)
# with the statistics of the training comments; the root flag, the roots'
# rows and the bag of words stay as they are.
cols = slice(num_bow + 1, num_bow + len(info['feature_names']))
train_x = torch.cat([d.x[1:, cols] for d in train_list])
mean, std = train_x.mean(dim=0), train_x.std(dim=0).clamp(min=1e-6)
for d in train_list + val_list + test_list:
    d.x[1:, cols] = (d.x[1:, cols] - mean) / std

generator = torch.Generator().manual_seed(args.seed)
train_loader = DataLoader(train_list, args.batch_size, shuffle=True,
                          generator=generator)
val_loader = DataLoader(val_list, 256)
test_loader = DataLoader(test_list, 256)

train_y = torch.cat([d.y for d in train_list])
train_y = train_y[train_y >= 0]
counts = torch.bincount(train_y, minlength=num_levels).float()
majority = int(counts.argmax())
class_weight = None
if args.class_weighted:
    class_weight = (counts.sum() / (num_levels * counts.clamp(min=1)))
    class_weight = class_weight.to(device)


# Models ######################################################################
class PopularityModel(nn.Module):
    def __init__(self, in_channels: int, hidden: int, num_levels: int,
                 dropout: float, graph: bool):
        super().__init__()
        self.graph = graph
        self.encoder = nn.Sequential(nn.Dropout(dropout),
                                     nn.Linear(in_channels, hidden),
                                     nn.ReLU(), nn.Dropout(dropout))
        head_in = hidden
        if graph:
            self.lstm = GraphStructuredLSTM(hidden, hidden,
                                            bidirectional=True)
            head_in += 2 * hidden
        self.head = nn.Sequential(nn.Linear(head_in, hidden), nn.ReLU(),
                                  nn.Dropout(dropout),
                                  nn.Linear(hidden, num_levels))

    def forward(self, batch):
        z = self.encoder(batch.x)
        if self.graph:
            h = self.lstm(z, batch.edge_index,
                          sibling_index=batch.sibling_index,
                          level=batch.level, rev_level=batch.rev_level)
            z = torch.cat([z, h], dim=1)
        return self.head(z)


def make(graph: bool):
    model = PopularityModel(datasets[0].num_features, args.hidden,
                            num_levels, args.dropout, graph).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr,
                                 weight_decay=args.weight_decay)
    return model, optimizer


models = {'graph': make(graph=True), 'mlp': make(graph=False)}


def train(name: str, epoch: int) -> float:
    model, optimizer = models[name]
    model.train()
    total_loss = total = 0
    for batch in tqdm(train_loader, desc=f'Epoch {epoch:02d} {name:>5}',
                      leave=False):
        batch = batch.to(device)
        mask = batch.y >= 0
        if not bool(mask.any()):
            continue  # Only the roots and deleted comments: no labels.
        optimizer.zero_grad()
        out = model(batch)
        loss = F.cross_entropy(out[mask], batch.y[mask], weight=class_weight)
        loss.backward()
        optimizer.step()
        total_loss += float(loss.detach()) * int(mask.sum())
        total += int(mask.sum())
    return total_loss / max(total, 1)


def metrics(pred: torch.Tensor, y: torch.Tensor) -> dict:
    # Accuracy and macro-F1 over all levels (F1 = 0 for a level that is
    # neither predicted nor present).
    conf = torch.bincount(y * num_levels + pred,
                          minlength=num_levels**2).view(num_levels,
                                                        num_levels).double()
    tp = conf.diag()
    f1 = 2 * tp / (conf.sum(0) + conf.sum(1)).clamp(min=1)
    return dict(acc=float(tp.sum() / conf.sum()), f1=float(f1.mean()))


@torch.no_grad()
def test(name: str, loader) -> dict:
    model, _ = models[name]
    model.eval()
    preds, ys = [], []
    for batch in loader:
        batch = batch.to(device)
        mask = batch.y >= 0
        preds.append(model(batch)[mask].argmax(dim=-1).cpu())
        ys.append(batch.y[mask].cpu())
    return metrics(torch.cat(preds), torch.cat(ys))


def split_line(split: str) -> str:
    s = info['splits'][split]
    return f"{s['threads']} threads / {s['labelled']} labelled comments"


print(f'Data: {source}')
print(f"Splits ({info['split_rule']}): train {split_line('train')}, val "
      f"{split_line('val')}, test {split_line('test')}")
print(f"Level edges (fitted on train): {info['bin_edges']}; train level "
      f"counts {counts.long().tolist()}")
print(f'Models: graph = encoder + GraphStructuredLSTM(bidirectional) + MLP '
      f'head, mlp = encoder + MLP head; hidden {args.hidden}, '
      f"{'class-weighted' if args.class_weighted else 'unweighted'} loss, "
      f'seed {args.seed}, {device}, {torch.get_num_threads()} CPU '
      f'thread(s)')

best = {name: dict(val=-1.0) for name in models}
start = time.perf_counter()
for epoch in range(1, args.epochs + 1):
    t = time.perf_counter()
    line = [f'Epoch: {epoch:02d}']
    for name in models:
        loss = train(name, epoch)
        val, tst = test(name, val_loader), test(name, test_loader)
        if val['f1'] > best[name]['val']:
            best[name] = dict(val=val['f1'], epoch=epoch, **tst)
        line.append(f"{name}: loss {loss:.3f} val F1 {val['f1']:.3f} "
                    f"acc {val['acc']:.3f} test F1 {tst['f1']:.3f} "
                    f"acc {tst['acc']:.3f}")
    print(', '.join(line) + f', {time.perf_counter() - t:.1f}s')
elapsed = time.perf_counter() - start

test_y = torch.cat([d.y for d in test_list])
test_y = test_y[test_y >= 0]
floor = metrics(torch.full_like(test_y, majority), test_y)
kind = 'real' if args.files is not None else 'SYNTHETIC'
print(f'\nTest split, {kind} data ({source}), seed {args.seed}; each model '
      f'at its epoch of best validation macro-F1; {elapsed:.0f}s of '
      f'training and evaluation for both:')
print(f"{'model':<28} {'best epoch':>10} {'val F1':>7} {'test acc':>8} "
      f"{'test F1':>8}")
for name, label in (('graph', 'GraphStructuredLSTM + MLP'),
                    ('mlp', 'MLP (no graph)')):
    b = best[name]
    print(f"{label:<28} {b['epoch']:>10d} {b['val']:>7.4f} {b['acc']:>8.4f} "
          f"{b['f1']:>8.4f}")
print(f"{'majority level (' + str(majority) + ')':<28} {'-':>10} {'-':>7} "
      f"{floor['acc']:>8.4f} {floor['f1']:>8.4f}")
