r"""Node classification on Cora and CiteSeer with the Graph LSTM.

The Graph LSTM of Liang et al. (ECCV 2016), "Semantic Object Parsing with
Graph LSTM" (https://arxiv.org/abs/1603.07063), updates the nodes one at a
time in order of decreasing confidence, each reading the new states of the
neighbours updated before it. As the paper takes the confidence from a 1x1
convolution's per-label scores, the model here takes it from a first-stage
linear classifier of the node features (trained on the same labels); two
Graph LSTM layers follow (the second starts from the first's states) and a
linear head reads the input projection and both layers' hidden states
(residual connections). Ablation, as in the paper: the same network with a
fixed random or breadth-first order instead of the confidence order. GCN (Kipf &
Welling, 2017, its published setting) runs in the same script, on the same
splits and seeds. Reported is the test accuracy at the epoch of best
validation accuracy, mean and standard deviation over the seeds, and the
number of sequential steps (levels of the order's DAG) against the nodes.

    python examples/graph_lstm_planetoid.py --dataset Cora
    python examples/graph_lstm_planetoid.py --dataset CiteSeer
    python examples/graph_lstm_planetoid.py --dataset Cora --order confidence
    python examples/graph_lstm_planetoid.py          # synthetic, no data

Data: ``torch_geometric.datasets.Planetoid`` reads the ``ind.*`` files of
``ROOT/{Cora,CiteSeer}/raw`` (default ROOT: ``../shared/data/planetoid``),
linked into a temporary folder, where PyG writes its processed copy. Without
``--dataset``, a planted-partition graph (labelled synthetic in the output)
keeps the script runnable anywhere.
"""
import argparse
import os
import os.path as osp
import shutil
import statistics
import tempfile
import time
from collections import deque

import torch
import torch.nn.functional as F
from torch import nn
import torch_geometric.transforms as T
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv
from torch_geometric.utils import to_undirected
from tqdm import tqdm

from tgr.nn import GraphLSTM
from tgr.schedule import confidence_order, topological_levels

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = osp.join(REPO, '..', 'shared', 'data', 'planetoid')
ORDERS = ('confidence', 'random', 'bfs')


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got '
                                         f'{value}')
    return value


def orders(text: str) -> list:
    names = [t for t in text.split(',') if t]
    for name in names:
        if name not in ORDERS:
            raise argparse.ArgumentTypeError(
                f"unknown order '{name}' (expected a comma-separated list of "
                f"{', '.join(ORDERS)})")
    if not names:
        raise argparse.ArgumentTypeError('expected at least one order')
    return names


parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
parser.add_argument('--dataset', choices=['synthetic', 'Cora', 'CiteSeer'],
                    default='synthetic')
parser.add_argument('--root', default=SHARED,
                    help='folder holding Cora/raw and CiteSeer/raw '
                    '(default: ../shared/data/planetoid)')
parser.add_argument('--order', type=orders, default=list(ORDERS),
                    help='Graph LSTM update orders to run, comma-separated: '
                    'confidence, random, bfs (default: all three)')
parser.add_argument('--gcn', default=True,
                    action=argparse.BooleanOptionalAction,
                    help='also run the GCN baseline')
parser.add_argument('--seeds', type=positive, default=10,
                    help='runs per model, with seeds seed, seed + 1, ...')
parser.add_argument('--seed', type=int, default=0)
parser.add_argument('--epochs', type=positive, default=200)
parser.add_argument('--hidden', type=positive, default=64)
parser.add_argument('--dropout', type=float, default=0.8,
                    help='dropout on the input features')
parser.add_argument('--lr', type=float, default=0.01)
parser.add_argument('--weight-decay', type=float, default=5e-4)
parser.add_argument('--synthetic-nodes', type=positive, default=600,
                    help='nodes of the synthetic graph (at least 40)')
parser.add_argument('--device', default=None,
                    help='(default: cuda if available, else cpu)')
parser.add_argument('--threads', type=int, default=1,
                    help='CPU threads (0: PyTorch\'s choice)')


# Data ########################################################################
def planetoid(root: str, name: str) -> Data:
    raw = osp.join(root, name, 'raw')
    if not osp.isdir(raw):
        parser.error(f'{raw} is not a folder; expected the Planetoid raw '
                     f'files of {name} (or run without --dataset for the '
                     f'synthetic graph)')
    from torch_geometric.datasets import Planetoid
    tmp = tempfile.mkdtemp()
    try:  # PyG writes processed/ beside raw/: keep the raw folder read-only
        os.makedirs(osp.join(tmp, name))
        os.symlink(osp.realpath(raw), osp.join(tmp, name, 'raw'),
                   target_is_directory=True)
        dataset = Planetoid(tmp, name, transform=T.NormalizeFeatures())
        data = dataset[0]
        data.num_classes = dataset.num_classes
    finally:
        shutil.rmtree(tmp)
    return data


def planted_partition(num_nodes: int, num_classes: int = 5,
                      seed: int = 0) -> Data:
    # Blocks of equal size; an edge inside a block is 10x likelier than one
    # across. Features: a noisy bag of class words, weak on their own. Split
    # like Planetoid: 20 labelled nodes per class (fewer on a small graph),
    # 100 validation nodes (a third of the rest on a small graph), the rest
    # test.
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(num_nodes) % num_classes
    y = y[torch.randperm(num_nodes, generator=gen)]
    same = y.view(-1, 1) == y.view(1, -1)
    p = torch.where(same, 8.0, 0.8) / num_nodes * num_classes / 2
    adj = torch.rand(num_nodes, num_nodes, generator=gen) < p
    edge_index = to_undirected(adj.triu(1).nonzero().t(),
                               num_nodes=num_nodes)
    words = 10 * num_classes
    topic = torch.rand(num_classes, words, generator=gen) < 0.2
    prob = 0.05 + 0.15 * topic[y].float()
    x = (torch.rand(num_nodes, words, generator=gen) < prob).float()
    perm = torch.randperm(num_nodes, generator=gen)
    per_class = min(20, num_nodes // num_classes // 4)
    train = torch.zeros(num_nodes, dtype=torch.bool)
    for c in range(num_classes):
        train[perm[y[perm] == c][:per_class]] = True
    rest = perm[~train[perm]]
    val = torch.zeros_like(train)
    val[rest[:min(100, rest.numel() // 3)]] = True
    test = ~(train | val)
    data = Data(x=x, edge_index=edge_index, y=y, train_mask=train,
                val_mask=val, test_mask=test)
    data.num_classes = num_classes
    return data


def bfs_score(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    # Breadth-first visiting order from the lowest unvisited node of every
    # component; the score is minus the visiting position (first = highest).
    nbrs = [[] for _ in range(num_nodes)]
    for u, v in edge_index.t().tolist():
        nbrs[u].append(v)
    seen = [False] * num_nodes
    position, order = [0] * num_nodes, 0
    for start in range(num_nodes):
        if seen[start]:
            continue
        seen[start] = True
        queue = deque([start])
        while queue:
            u = queue.popleft()
            position[u] = order
            order += 1
            for v in sorted(nbrs[u]):
                if not seen[v]:
                    seen[v] = True
                    queue.append(v)
    return -torch.tensor(position, dtype=torch.float)


# Models ######################################################################
def sparse_dropout(x: torch.Tensor, p: float,
                   training: bool) -> torch.Tensor:
    # Dropout on the stored entries of a sparse (COO) matrix: dropping a
    # zero changes nothing, so this is F.dropout at the cost of the non-zero
    # entries (about 1 % of Planetoid's bag-of-words features).
    if not training or p == 0:
        return x
    keep = torch.rand(x._nnz(), device=x.device) >= p
    return torch.sparse_coo_tensor(x.indices()[:, keep],
                                   x.values()[keep] / (1 - p), x.shape,
                                   is_coalesced=True, check_invariants=False)


class GraphLSTMNet(nn.Module):
    r"""A first-stage linear classifier (its softmax is the confidence), two
    Graph LSTM layers over a shared projection :math:`f` of the features
    (the second starts from the first's states), and a linear head on
    :math:`[f, h_2, h_1]` (residual connections to every layer's output).
    Takes the features as a sparse matrix."""
    def __init__(self, in_channels: int, hidden: int, num_classes: int,
                 dropout: float):
        super().__init__()
        self.dropout = dropout
        self.stage1 = nn.Linear(in_channels, num_classes)
        self.lin_in = nn.Linear(in_channels, hidden)
        self.lstm1 = GraphLSTM(hidden, hidden)
        self.lstm2 = GraphLSTM(hidden, hidden)
        self.head = nn.Linear(3 * hidden, num_classes)

    def forward(self, x, edge_index, score=None):
        x = sparse_dropout(x, self.dropout, self.training)
        logits1 = torch.sparse.mm(x, self.stage1.weight.t()) + \
            self.stage1.bias
        # The per-label scores; the layer orders by their maximum.
        conf = logits1.softmax(dim=-1) if score is None else score
        f = torch.sparse.mm(x, self.lin_in.weight.t()) + self.lin_in.bias
        f = F.dropout(F.relu(f), 0.5, self.training)
        state = self.lstm1(f, edge_index, conf)
        h, _ = self.lstm2(f, edge_index, conf, state)
        h = torch.cat([f, h, state[0]], dim=1)
        h = F.dropout(h, 0.5, self.training)
        return self.head(h), logits1, conf


class GCN(nn.Module):
    r"""Kipf & Welling's two-layer GCN (hidden 16, dropout 0.5)."""
    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.conv1 = GCNConv(in_channels, 16)
        self.conv2 = GCNConv(16, num_classes)

    def forward(self, x, edge_index, score=None):
        x = F.dropout(x, 0.5, self.training)
        x = F.dropout(F.relu(self.conv1(x, edge_index)), 0.5, self.training)
        return self.conv2(x, edge_index), None, None


# Training ####################################################################
def run(model_name: str, data: Data, args, seed: int, device):
    torch.manual_seed(seed)
    order = model_name.split('-')[-1]
    score = None
    if order == 'random':
        score = torch.rand(data.num_nodes)
    elif order == 'bfs':
        score = bfs_score(data.edge_index, data.num_nodes)
    if model_name == 'gcn':
        model = GCN(data.num_features, data.num_classes)
        groups = [dict(params=model.conv1.parameters(),
                       weight_decay=args.weight_decay),
                  dict(params=model.conv2.parameters(), weight_decay=0.)]
    else:
        model = GraphLSTMNet(data.num_features, args.hidden,
                             data.num_classes, args.dropout)
        groups = [dict(params=model.parameters(),
                       weight_decay=args.weight_decay)]
    model = model.to(device)
    score = score.to(device) if score is not None else None
    x = data.x if model_name == 'gcn' else data.x_sparse
    optimizer = torch.optim.Adam(groups, lr=args.lr)

    def train() -> float:
        model.train()
        optimizer.zero_grad()
        out, logits1, _ = model(x, data.edge_index, score)
        mask = data.train_mask
        loss = F.cross_entropy(out[mask], data.y[mask])
        if logits1 is not None:  # the first stage learns the labels too
            loss = loss + F.cross_entropy(logits1[mask], data.y[mask])
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    @torch.no_grad()
    def test():
        model.eval()
        out, _, conf = model(x, data.edge_index, score)
        pred = out.argmax(dim=-1)
        accs = [float((pred[m] == data.y[m]).float().mean())
                for m in (data.val_mask, data.test_mask)]
        return accs, conf

    best_val, best_test, best_epoch, levels = -1., 0., 0, None
    for epoch in tqdm(range(1, args.epochs + 1), desc=f'{model_name} '
                      f'seed {seed}', leave=False):
        train()
        (val, test_acc), conf = test()
        if val > best_val:
            best_val, best_test, best_epoch = val, test_acc, epoch
            if conf is not None:
                dep = confidence_order(data.edge_index, conf)
                levels = int(topological_levels(
                    dep, data.num_nodes).max()) + 1
    return best_val, best_test, best_epoch, levels


def main(argv=None):
    args = parser.parse_args(argv)
    if not 0 <= args.dropout < 1:
        parser.error(f'argument --dropout: expected a value in [0, 1), got '
                     f'{args.dropout}')
    if args.synthetic_nodes < 40:
        parser.error(f'argument --synthetic-nodes: expected at least 40, got '
                     f'{args.synthetic_nodes}')
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    if args.dataset == 'synthetic':
        data = planted_partition(args.synthetic_nodes)
        label = (f'synthetic planted-partition graph ({data.num_nodes} '
                 f'nodes; not a real dataset)')
    else:
        data = planetoid(args.root, args.dataset)
        label = f'{args.dataset} (Planetoid split)'
    num_classes = data.num_classes
    data.x_sparse = data.x.to_sparse().coalesce()
    data = data.to(device)
    data.num_classes = num_classes
    print(f'Data: {label}: {data.num_nodes} nodes, '
          f'{data.num_edges // 2} undirected edges, {data.num_features} '
          f'features, {num_classes} classes, '
          f'{int(data.train_mask.sum())}/{int(data.val_mask.sum())}/'
          f'{int(data.test_mask.sum())} train/val/test')
    models = [f'graphlstm-{o}' for o in args.order] + \
        (['gcn'] if args.gcn else [])
    results = {}
    for name in models:
        start = time.perf_counter()
        runs = []
        for k in range(args.seeds):
            val, test_acc, epoch, levels = run(name, data, args,
                                               args.seed + k, device)
            runs.append((val, test_acc, epoch, levels))
            print(f'{name:22s} seed {args.seed + k}: best val '
                  f'{100 * val:.1f} at epoch {epoch}, test '
                  f'{100 * test_acc:.1f}'
                  + (f', {levels} levels / {data.num_nodes} nodes'
                     if levels is not None else ''), flush=True)
        results[name] = (runs, time.perf_counter() - start)

    print()
    print(f'Results on {label}, {args.seeds} seed(s), test accuracy at the '
          f'best validation epoch ({args.epochs} epochs):')
    print()
    print('| model | order | test acc. (mean +- std) | val acc. | '
          'levels / nodes | s/run |')
    print('| --- | --- | ---: | ---: | ---: | ---: |')
    for name, (runs, secs) in results.items():
        tests = [100 * r[1] for r in runs]
        vals = [100 * r[0] for r in runs]
        std = statistics.stdev(tests) if len(tests) > 1 else 0.
        levels = [r[3] for r in runs if r[3] is not None]
        lv = f'{statistics.mean(levels):.0f} / {data.num_nodes}' \
            if levels else '-'
        model, order = ('GCN', '-') if name == 'gcn' else \
            ('Graph LSTM', name.split('-')[1])
        print(f'| {model} | {order} | {statistics.mean(tests):.1f} +- '
              f'{std:.1f} | {statistics.mean(vals):.1f} | {lv} | '
              f'{secs / len(runs):.1f} |')


if __name__ == '__main__':
    main()
