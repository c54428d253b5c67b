r"""HAN on heterogeneous graphs: tgr's :class:`tgr.nn.HAN` (the paper's
equations) and PyG's :class:`~torch_geometric.nn.conv.HANConv`, side by
side, on the same split, with the same seeds and settings.

Model (both): one heterogeneous attention layer, 8 heads of 8 channels
(HANConv: 64 channels split over 8 heads), then a linear classifier; Adam,
learning rate 0.005, weight decay 0.001, dropout 0.6, up to 200 epochs, early
stopping with a patience of 100 epochs as DGL's HAN example does (a step
counts as progress when the validation loss falls or the validation
accuracy rises; the model is kept when neither gets worse). Reported per
model, mean +- std over the seeds:

- end-to-end test Macro-F1 / Micro-F1 of the kept model;
- the paper's protocol (its Table 3): a KNN classifier (k = 5) on the
  learned embeddings of the test nodes, trained on 20 / 40 / 60 / 80 % of
  them, 10 random splits each;
- seconds per training epoch (forward, backward, optimiser step);
- the learned semantic weights of the meta-paths.

Data (``--dataset``):

- ``synthetic`` (default, no files): a planted heterogeneous graph of papers,
  authors and subjects (papers of a class share authors and subjects more
  often), meta-paths given to tgr as sequences of edge types;
- ``acm``: HAN's ACM3025 (:class:`tgr.datasets.ACM3025`, ``../shared/data/
  acm_han``), meta-paths PAP and PLP as edge types, the 600 / 300 / 2,125
  split; the paper reports Macro-F1 89.40 / 89.79 / 89.51 / 90.63 with KNN,
  DGL's example 89.0 end to end;
- ``imdb``: PyG's own :class:`~torch_geometric.datasets.IMDB` reading
  ``../shared/data/imdb_magnn`` (a variant preprocessing of the MAGNN files:
  numbers not comparable to published ones); tgr's HAN gets the meta-paths
  movie-director-movie and movie-actor-movie as sequences of edge types,
  HANConv the same graphs built by :class:`tgr.transforms.AddMetaPathGraphs`.

    python examples/han_acm.py
    python examples/han_acm.py --dataset acm --runs 5
    python examples/han_acm.py --dataset imdb --runs 5
"""
import argparse
import copy
import os
import os.path as osp
import statistics
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch_geometric.data import HeteroData
from torch_geometric.nn import HANConv
from tqdm import tqdm

from tgr.datasets import ACM3025
from tgr.nn import HAN
from tgr.transforms import AddMetaPathGraphs

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = {
    'acm': osp.join(REPO, '..', 'shared', 'data', 'acm_han'),
    'imdb': osp.join(REPO, '..', 'shared', 'data', 'imdb_magnn', 'raw'),
}
KNN_RATIOS = (0.2, 0.4, 0.6, 0.8)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dataset', choices=['synthetic', 'acm', 'imdb'],
                        default='synthetic')
    parser.add_argument('--raw', default=None,
                        help='folder with the raw files (default: the '
                        "dataset's folder in ../shared/data)")
    parser.add_argument('--models', default='tgr,pyg',
                        help='comma-separated: tgr (tgr.nn.HAN), pyg '
                        '(HANConv)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--runs', type=int, default=5,
                        help='seeds --seed ... --seed + runs - 1')
    parser.add_argument('--epochs', type=int, default=200)
    parser.add_argument('--patience', type=int, default=100)
    parser.add_argument('--lr', type=float, default=0.005)
    parser.add_argument('--weight-decay', type=float, default=0.001)
    parser.add_argument('--hidden', type=int, default=8,
                        help='channels per head')
    parser.add_argument('--heads', type=int, default=8)
    parser.add_argument('--dropout', type=float, default=0.6)
    parser.add_argument('--knn-repeats', type=int, default=10)
    parser.add_argument('--synthetic-papers', type=int, default=600)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--device', default=None)
    return parser.parse_args(argv)


# Data ########################################################################
def synthetic_graph(num_papers: int, seed: int = 0, num_classes: int = 3,
                    num_features: int = 64) -> HeteroData:
    r"""A planted heterogeneous graph: papers of :obj:`num_classes` classes
    with weakly informative bag-of-words features; an author writes 1-3
    papers, mostly of one class; a paper has one subject, that of its class
    with probability 0.6; a 20 / 10 / 70 % split."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, num_classes, (num_papers, ), generator=gen)
    centers = (torch.rand(num_classes, num_features, generator=gen) < 0.1)
    x = (torch.rand(num_papers, num_features, generator=gen) < 0.05) | (
        centers[y] & (torch.rand(num_papers, num_features, generator=gen)
                      < 0.3))
    num_authors = num_papers // 2
    home = torch.randint(0, num_classes, (num_authors, ), generator=gen)
    src, dst = [], []
    by_class = [torch.nonzero(y == c).view(-1) for c in range(num_classes)]
    for a in range(num_authors):
        for _ in range(int(torch.randint(1, 4, (1, ), generator=gen))):
            c = int(home[a]) if float(torch.rand(1, generator=gen)) < 0.7 \
                else int(torch.randint(0, num_classes, (1, ), generator=gen))
            pool = by_class[c]
            src.append(int(pool[torch.randint(0, len(pool), (1, ),
                                              generator=gen)]))
            dst.append(a)
    num_subjects = 4 * num_classes
    noise = torch.randint(0, num_subjects, (num_papers, ), generator=gen)
    subject = torch.where(torch.rand(num_papers, generator=gen) < 0.6,
                          y * 4 + torch.randint(0, 4, (num_papers, ),
                                                generator=gen), noise)
    data = HeteroData()
    data['paper'].x = x.float()
    data['paper'].y = y
    data['author'].num_nodes = num_authors
    data['subject'].num_nodes = num_subjects
    data['paper', 'writes', 'author'].edge_index = torch.tensor([src, dst])
    data['author', 'written_by', 'paper'].edge_index = torch.tensor(
        [dst, src])
    data['paper', 'has', 'subject'].edge_index = torch.stack(
        [torch.arange(num_papers), subject])
    data['subject', 'of', 'paper'].edge_index = torch.stack(
        [subject, torch.arange(num_papers)])
    perm = torch.randperm(num_papers, generator=gen)
    n_train, n_val = int(0.2 * num_papers), int(0.1 * num_papers)
    for name, idx in (('train', perm[:n_train]),
                      ('val', perm[n_train:n_train + n_val]),
                      ('test', perm[n_train + n_val:])):
        mask = torch.zeros(num_papers, dtype=torch.bool)
        mask[idx] = True
        data['paper'][f'{name}_mask'] = mask
    return data


def load(args, workdir: str):
    r"""Returns the graph for tgr's HAN with its meta-paths, the graph for
    HANConv (meta-path graphs as edge types), the target node type and the
    meta-paths' names."""
    if args.dataset == 'acm':
        root = osp.join(workdir, 'ACM3025')
        os.makedirs(root)
        os.symlink(osp.abspath(args.raw or SHARED['acm']),
                   osp.join(root, 'raw'))
        data = ACM3025(root, log=False)[0]
        return data, data.edge_types, data, 'paper', ['PAP', 'PLP']
    if args.dataset == 'imdb':
        from torch_geometric.datasets import IMDB
        root = osp.join(workdir, 'IMDB')
        os.makedirs(root)
        os.symlink(osp.abspath(args.raw or SHARED['imdb']),
                   osp.join(root, 'raw'))
        data = IMDB(root)[0]
        target, names = 'movie', ['MDM', 'MAM']
        metapaths = [[('movie', 'director'), ('director', 'movie')],
                     [('movie', 'actor'), ('actor', 'movie')]]
    else:
        data = synthetic_graph(args.synthetic_papers, seed=args.seed)
        target, names = 'paper', ['PAP', 'PSP']
        metapaths = [[('paper', 'author'), ('author', 'paper')],
                     [('paper', 'subject'), ('subject', 'paper')]]
    meta = AddMetaPathGraphs(metapaths, drop_orig_edge_types=True,
                             drop_unconnected_node_types=True)(
                                 copy.copy(data))
    # tgr's HAN builds the meta-path graphs from the sequences itself:
    return data, metapaths, meta, target, names


# Models ######################################################################
class Net(torch.nn.Module):
    def __init__(self, kind: str, metadata, num_classes: int, args):
        super().__init__()
        self.kind = kind
        width = args.heads * args.hidden
        if kind == 'tgr':
            self.conv = HAN(-1, args.hidden, metadata, heads=args.heads,
                            dropout=args.dropout)
        else:
            self.conv = HANConv(-1, width, metadata, heads=args.heads,
                                dropout=args.dropout)
        self.lin = torch.nn.Linear(width, num_classes)

    def forward(self, x_dict, edge_index_dict, target):
        out, beta = self.conv(x_dict, edge_index_dict,
                              return_semantic_attention_weights=True)
        return self.lin(out[target]), out[target], beta[target]


def train(model, optimizer, graph, target) -> float:
    model.train()
    optimizer.zero_grad()
    logits = model(graph.x_dict, graph.edge_index_dict, target)[0]
    mask = graph[target].train_mask
    loss = F.cross_entropy(logits[mask], graph[target].y[mask])
    loss.backward()
    optimizer.step()
    return float(loss.detach())


@torch.no_grad()
def test(model, graph, target):
    from sklearn.metrics import f1_score
    model.eval()
    logits, emb, beta = model(graph.x_dict, graph.edge_index_dict, target)
    y, pred = graph[target].y, logits.argmax(dim=-1)
    out = {'emb': emb, 'beta': beta}
    for split in ('val', 'test'):
        mask = graph[target][f'{split}_mask']
        out[f'{split}_loss'] = float(F.cross_entropy(logits[mask], y[mask]))
        out[f'{split}_acc'] = float((pred[mask] == y[mask]).float().mean())
        for avg in ('macro', 'micro'):
            out[f'{split}_{avg}'] = 100 * f1_score(
                y[mask].cpu(), pred[mask].cpu(), average=avg)
    return out


def knn_f1(emb: np.ndarray, y: np.ndarray, repeats: int, seed: int):
    r"""The paper's protocol: KNN (k = 5) trained on the first 20 / 40 / 60
    / 80 % of a random permutation of the nodes, tested on the rest, Macro-
    and Micro-F1 averaged over :obj:`repeats` permutations."""
    from sklearn.metrics import f1_score
    from sklearn.neighbors import KNeighborsClassifier
    rng = np.random.default_rng(seed)
    out = {}
    for ratio in KNN_RATIOS:
        scores = []
        for _ in range(repeats):
            perm = rng.permutation(len(y))
            cut = int(len(y) * ratio)
            knn = KNeighborsClassifier(n_neighbors=5)
            knn.fit(emb[perm[:cut]], y[perm[:cut]])
            pred = knn.predict(emb[perm[cut:]])
            scores.append([100 * f1_score(y[perm[cut:]], pred, average=a)
                           for a in ('macro', 'micro')])
        out[ratio] = np.mean(scores, axis=0)
    return out


def run(kind, graph, metadata, target, num_classes, seed, args, device):
    torch.manual_seed(seed)
    model = Net(kind, metadata, num_classes, args).to(device)
    with torch.no_grad():  # materialise the lazy layers
        model(graph.x_dict, graph.edge_index_dict, target)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr,
                                 weight_decay=args.weight_decay)
    best = {'val_loss': float('inf'), 'val_acc': -1.0}
    kept, waited, times = None, 0, []
    pbar = tqdm(range(1, args.epochs + 1), desc=f'{kind} seed {seed}',
                leave=False)
    for epoch in pbar:
        t = time.perf_counter()
        loss = train(model, optimizer, graph, target)
        if device.type == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
        res = test(model, graph, target)
        pbar.set_postfix(loss=f'{loss:.3f}', val=f"{res['val_acc']:.3f}")
        if res['val_loss'] > best['val_loss'] and \
                res['val_acc'] < best['val_acc']:
            waited += 1
            if waited >= args.patience:
                break
        else:
            if res['val_loss'] <= best['val_loss'] and \
                    res['val_acc'] >= best['val_acc']:
                kept = dict(res, epoch=epoch)
            best['val_loss'] = min(best['val_loss'], res['val_loss'])
            best['val_acc'] = max(best['val_acc'], res['val_acc'])
            waited = 0
    mask = graph[target].test_mask
    knn = knn_f1(kept['emb'][mask].cpu().numpy(),
                 graph[target].y[mask].cpu().numpy(), args.knn_repeats, seed)
    return dict(kept, knn=knn, sec=statistics.mean(times[1:] or times),
                epochs=epoch)


def mean_std(values) -> str:
    values = list(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f'{statistics.mean(values):6.2f} +- {std:4.2f}'


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    kinds = [k for k in args.models.split(',') if k]
    with tempfile.TemporaryDirectory() as workdir:
        data, metapaths, meta, target, names = load(args, workdir)
    num_classes = int(data[target].y.max()) + 1
    graphs = {'tgr': (data.to(device), (data.node_types, metapaths)),
              'pyg': (meta.to(device), meta.metadata())}
    label = ' (synthetic)' if args.dataset == 'synthetic' else ''
    split = [int(data[target][f'{s}_mask'].sum())
             for s in ('train', 'val', 'test')]
    print(f'{args.dataset}{label}: {data[target].num_nodes} {target} nodes, '
          f'{num_classes} classes, split {split[0]}/{split[1]}/{split[2]}, '
          f'meta-paths {names}, seeds {args.seed}..'
          f'{args.seed + args.runs - 1}, {device}, '
          f'{torch.get_num_threads()} thread(s)')
    results = {}
    for kind in kinds:
        graph, metadata = graphs[kind]
        results[kind] = []
        for seed in range(args.seed, args.seed + args.runs):
            r = run(kind, graph, metadata, target, num_classes, seed, args,
                    device)
            results[kind].append(r)
            print(f"  {kind} seed {seed}: epoch {r['epoch']:3d}/"
                  f"{r['epochs']}, test Macro-F1 {r['test_macro']:.2f} "
                  f"Micro-F1 {r['test_micro']:.2f}, KNN Macro-F1 " +
                  ' / '.join(f'{r["knn"][q][0]:.2f}' for q in KNN_RATIOS) +
                  ', beta ' + ' / '.join(f'{float(b):.3f}'
                                         for b in r['beta']),
                  flush=True)

    name = {'tgr': 'tgr.nn.HAN', 'pyg': 'PyG HANConv'}
    print(f'\n{args.dataset}{label}, {args.runs} seed(s), mean +- std')
    print(f"{'model':12s} | {'test Macro-F1':>15s} | {'test Micro-F1':>15s} "
          f"| {'s/epoch':>7s} | semantic weights " + ' / '.join(names))
    for kind, rs in results.items():
        betas = [' '.join(mean_std(float(r['beta'][p]) for r in rs).split())
                 for p in range(len(names))]
        print(f"{name[kind]:12s} | {mean_std(r['test_macro'] for r in rs)} "
              f"| {mean_std(r['test_micro'] for r in rs)} | "
              f"{statistics.mean(r['sec'] for r in rs):7.3f} | "
              + ' / '.join(betas))
    print(f'\nKNN (k = 5) on the test nodes\' embeddings, '
          f'{args.knn_repeats} splits per ratio: Macro-F1 | Micro-F1')
    print(f"{'model':12s} | " + ' | '.join(
        f'{int(100 * q)} % train'.center(33) for q in KNN_RATIOS))
    for kind, rs in results.items():
        print(f'{name[kind]:12s} | ' + ' | '.join(
            mean_std(r['knn'][q][0] for r in rs) + ' ' +
            mean_std(r['knn'][q][1] for r in rs) for q in KNN_RATIOS))
    return results


if __name__ == '__main__':
    main()
