r"""HAN benchmark: tgr's :class:`tgr.nn.HAN` against PyG's
:class:`~torch_geometric.nn.conv.HANConv`, forward + backward (training
mode, dropout 0.6) and forward alone (evaluation mode, no gradients), in this
one process, medians of ``--repeat`` interleaved runs.

    python benchmarks/han.py --threads 1
    python benchmarks/han.py --device cuda

Both layers get the paper's width: 8 heads of 8 channels for tgr, 64
channels split over 8 heads for HANConv, on the same meta-path graphs.
Graphs:

- *ACM3025*: HAN's own data (``../shared/data/acm_han``, skipped when
  absent): 3,025 papers, 1,870 features, PAP (29,281 edges) and PLP
  (2,210,761 edges), self loops included;
- *synthetic x10*: ten times the papers (30,250, 1,870 sparse binary
  features), a PAP-like graph with ten times PAP's edges (random pairs made
  symmetric, self loops) and a PLP-like graph of cliques of ``--clique``
  papers (the subjects). Ten times PLP's 2.2 M edges would need about 17 GB
  for HANConv's per-edge messages alone (64 floats per edge, several
  tensors), more than this machine has, so the cliques are smaller.

Rows name their yardstick: PyG's own HANConv, and the floor: the two
layers' shared dense work (the projection of the features) timed alone.
tgr's layer builds its sorted meta-path graphs once (cached across calls,
like every training epoch on a fixed graph), which the timing includes only
in its warm-up run.
"""
import argparse
import os
import os.path as osp
import sys
import tempfile

import torch
from torch_geometric.data import HeteroData
from torch_geometric.nn import HANConv

from tgr.nn import HAN

from _timing import median_times

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ACM = osp.join(REPO, '..', 'shared', 'data', 'acm_han')


def acm3025() -> HeteroData:
    from tgr.datasets import ACM3025
    with tempfile.TemporaryDirectory() as root:
        os.symlink(osp.abspath(ACM), osp.join(root, 'raw'))
        return ACM3025(root, log=False)[0]


def synthetic(scale: int, clique: int, seed: int = 0) -> HeteroData:
    gen = torch.Generator().manual_seed(seed)
    n = 3025 * scale
    x = (torch.rand(n, 1870, generator=gen) < 0.045).float()
    pairs = torch.randint(0, n, (2, (29281 - 3025) // 2 * scale),
                          generator=gen)
    loops = torch.arange(n).expand(2, n)
    pap = torch.cat([pairs, pairs.flip(0), loops], dim=1).unique(dim=1)
    group = torch.randperm(n, generator=gen) // clique
    order = group.argsort()
    members = order.view(-1, clique) if n % clique == 0 else None
    if members is None:
        raise ValueError('--clique must divide the number of papers')
    src = members.unsqueeze(2).expand(-1, clique, clique).reshape(-1)
    dst = members.unsqueeze(1).expand(-1, clique, clique).reshape(-1)
    data = HeteroData()
    data['paper'].x = x
    data['paper', 'PAP', 'paper'].edge_index = pap
    data['paper', 'PLP', 'paper'].edge_index = torch.stack([src, dst])
    return data


def run(name, data, repeat, device):
    data = data.to(device)
    x, edge_index = data.x_dict, data.edge_index_dict
    torch.manual_seed(0)
    ours = HAN(-1, 8, data.metadata(), heads=8, dropout=0.6).to(device)
    pyg = HANConv(-1, 64, data.metadata(), heads=8, dropout=0.6).to(device)
    floor = torch.nn.Linear(x['paper'].size(1), 64).to(device)

    def train(layer):
        def fn():
            layer.train()
            out = layer(x, edge_index)['paper']
            out.sum().backward()
        return fn

    def infer(layer):
        def fn():
            layer.eval()
            with torch.no_grad():
                layer(x, edge_index)
        return fn

    def floor_train():
        floor(x['paper']).sum().backward()

    def floor_infer():
        with torch.no_grad():
            floor(x['paper'])

    train_times = median_times([train(ours), train(pyg), floor_train],
                               repeat, device=device)
    infer_times = median_times([infer(ours), infer(pyg), floor_infer],
                               repeat, device=device)
    num_edges = sum(e.size(1) for e in edge_index.values())
    print(f'\n{name}: {x["paper"].size(0):,} papers, {num_edges:,} edges '
          f'(PAP {edge_index["paper", "PAP", "paper"].size(1):,}, PLP '
          f'{edge_index["paper", "PLP", "paper"].size(1):,})')
    print(f"{'':34s} | {'fwd+bwd ms':>10s} | {'vs HANConv':>10s} | "
          f"{'fwd ms':>8s} | {'vs HANConv':>10s}")
    rows = [('tgr.nn.HAN', 0), ('PyG HANConv (yardstick)', 1),
            ('floor: projection alone', 2)]
    for label, k in rows:
        print(f'{label:34s} | {1e3 * train_times[k]:10.1f} | '
              f'{train_times[k] / train_times[1]:9.2f}x | '
              f'{1e3 * infer_times[k]:8.1f} | '
              f'{infer_times[k] / infer_times[1]:9.2f}x')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--scale', type=int, default=10)
    parser.add_argument('--clique', type=int, default=110)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--skip-synthetic', action='store_true')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f'torch {torch.__version__}, {device}, '
          f'{torch.get_num_threads()} thread(s), median of {args.repeat} '
          f'interleaved runs; python {sys.version.split()[0]}')
    if osp.isdir(ACM):
        run('ACM3025', acm3025(), args.repeat, device)
    else:
        print(f'\nACM3025: skipped ({ACM} is absent)')
    if not args.skip_synthetic:
        run(f'synthetic x{args.scale} (clique {args.clique})',
            synthetic(args.scale, args.clique), args.repeat, device)


if __name__ == '__main__':
    main()
