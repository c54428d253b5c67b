r"""Graph LSTM benchmark: the level-wise engine against one node per step, in
one process (forward + backward of one layer with an incoming state, medians).

    python benchmarks/graph_lstm.py                  # CPU, one thread
    python benchmarks/graph_lstm.py --only cora --repeat 7
    python benchmarks/graph_lstm.py --device cuda --threads 0

Graphs:
  cora   Cora's citation graph (2,708 nodes; read from
         ../shared/data/planetoid, skipped when absent), once with its 1,433
         raw features as the layer's input and once with a 64-d projection
         of them (the example's width); confidence from a linear
         classifier's softmax (random weights, so roughly random).
  geo    random geometric graphs of 10^4 and 10^5 nodes in the unit square
         (radius for an average degree of 6), with a random confidence and
         with a smooth one (a sum of bumps plus noise, like a confidence
         map; its chains are longer).

The yardstick is the loop over the layer's own cell with plain autograd:
one node per step in the confidence order, reading the current (new or old)
state of its neighbours, with every old-state projection (W f, U h_t,
W^fn h_t) hoisted over all nodes as tgr does, and the neighbour lists and
the order built outside the timed region (tgr builds its order and schedule
inside every call). On large graphs the loop runs on a prefix of the order
(--prefix nodes): its time is the loop without steps (the hoisted work)
plus the time of the prefix's steps scaled by nodes / prefix, which the
table says. Outputs of the two are compared on Cora (or the first graph run).
"""
import argparse
import os
import os.path as osp
import shutil
import tempfile

import torch

from _timing import median_time

from tgr.nn import GraphLSTM
from tgr.schedule import confidence_order, topological_levels

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PLANETOID = osp.join(REPO, '..', 'shared', 'data', 'planetoid')


class NodeByNodeGraphLSTM(torch.nn.Module):
    r"""One node per step, in the confidence order, with the weights of a
    :class:`tgr.nn.GraphLSTM`; projections of old states are hoisted."""
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    @staticmethod
    def structure(edge_index, confidence, num_nodes):
        # Neighbour lists (sorted, without self loops or repeats), the edges
        # grouped by their reading node, and the order.
        nbrs = [set() for _ in range(num_nodes)]
        for j, i in edge_index.t().tolist():
            if i != j:
                nbrs[i].add(j)
        nbrs = [sorted(n) for n in nbrs]
        reader = torch.repeat_interleave(
            torch.arange(num_nodes), torch.tensor([len(n) for n in nbrs]))
        src = torch.tensor([j for n in nbrs for j in n], dtype=torch.long)
        conf = confidence if confidence.dim() == 1 else \
            confidence.max(dim=1)[0]
        order = torch.sort(conf, descending=True, stable=True)[1].tolist()
        return nbrs, reader, src, order

    def forward(self, x, state, structure, prefix=None):
        L, d = self.layer, self.layer.out_channels
        nbrs, reader, src, order = structure
        h_old, m_old = state
        # Everything that reads old states only, for all nodes and edges,
        # split into per-node pieces once (indexing a big tensor per node
        # would cost a full-size gradient per node in the backward pass):
        pre = L.lin(x)
        gates = pre + L.lin_h(h_old)
        g_f = torch.sigmoid(gates[:, d:2 * d])
        g_o = torch.sigmoid(gates[:, 2 * d:3 * d]).unbind(0)
        uc = torch.cat([gates[:, :d], gates[:, 3 * d:]], dim=1).unbind(0)
        gbar = torch.sigmoid(pre[reader, d:2 * d] + L.lin_fn(h_old)[src])
        gbar = gbar.split([len(n) for n in nbrs])
        fm_self = (g_f * m_old).unbind(0)
        w_nbr = L.lin_nbr.weight
        h_cur = list(h_old.unbind(0))
        m_cur = list(m_old.unbind(0))
        for i in order[:prefix]:
            N = nbrs[i]
            if N:
                hbar = torch.stack([h_cur[j] for j in N]).mean(0)
                m_n = torch.stack([m_cur[j] for j in N])
                msum = (gbar[i] * m_n).mean(0)
                pre_uc = torch.addmv(uc[i], w_nbr, hbar)
                m = msum + fm_self[i]
            else:
                pre_uc, m = uc[i], fm_self[i]
            m = torch.addcmul(m, torch.sigmoid(pre_uc[:d]),
                              torch.tanh(pre_uc[d:]))
            h_cur[i] = torch.tanh(g_o[i] * m)
            m_cur[i] = m
        return torch.stack(h_cur), torch.stack(m_cur)


def cora(device, channels):
    root = osp.join(PLANETOID, 'Cora', 'raw')
    if not osp.isdir(root):
        return []
    from torch_geometric.datasets import Planetoid
    tmp = tempfile.mkdtemp()
    try:
        os.makedirs(osp.join(tmp, 'Cora'))
        os.symlink(osp.realpath(root), osp.join(tmp, 'Cora', 'raw'))
        data = Planetoid(tmp, 'Cora')[0]
    finally:
        shutil.rmtree(tmp)
    torch.manual_seed(0)
    logits = torch.nn.Linear(data.num_features, 7)(data.x)
    conf = logits.softmax(dim=-1).detach().to(device)
    ei = data.edge_index.to(device)
    # The raw 1,433 features, and a 64-d projection of them (the width the
    # example's Graph LSTM layers read).
    proj = torch.nn.Linear(data.num_features, channels)(data.x).detach()
    return [(f'Cora, {data.num_features} features', data.x.to(device), ei,
             conf),
            (f'Cora, {channels} features', proj.to(device), ei, conf)]


def geometric(n, smooth, seed, device, channels):
    from scipy.spatial import cKDTree
    gen = torch.Generator().manual_seed(seed)
    pos = torch.rand(n, 2, generator=gen, dtype=torch.double)
    radius = (6 / (torch.pi * n)) ** 0.5
    pairs = cKDTree(pos.numpy()).query_pairs(radius, output_type='ndarray')
    ei = torch.from_numpy(pairs).long().t()
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    if smooth:  # bumps of a confidence map, plus a little noise
        centers = torch.rand(8, 2, generator=gen, dtype=torch.double)
        dist2 = torch.cdist(pos, centers).pow(2)
        conf = torch.exp(-dist2 / 0.02).sum(1) + \
            0.01 * torch.rand(n, generator=gen, dtype=torch.double)
    else:
        conf = torch.rand(n, generator=gen, dtype=torch.double)
    x = torch.randn(n, channels, generator=gen)
    name = f'geometric {n:,} ({"smooth" if smooth else "random"} conf.)'
    return name, x.to(device), ei.to(device), conf.float().to(device)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--only', default='cora,geo')
    parser.add_argument('--sizes', default='10000,100000')
    parser.add_argument('--channels', type=int, default=64,
                        help='hidden size (and input size of the geometric '
                        'graphs)')
    parser.add_argument('--prefix', type=int, default=3000,
                        help='nodes the one-by-one loop runs on a larger '
                        'graph (its time is scaled to all nodes)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=1,
                        help='CPU threads (0: PyTorch\'s choice)')
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--loop-repeat', type=int, default=3)
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    only = args.only.split(',')
    graphs = []
    if 'cora' in only:
        g = cora(device, args.channels)
        if not g:
            print('Cora skipped: ../shared/data/planetoid/Cora/raw is absent')
        graphs.extend(g)
    if 'geo' in only:
        for k, n in enumerate(int(s) for s in args.sizes.split(',')):
            for smooth in (False, True):
                graphs.append(geometric(n, smooth, k, device, args.channels))

    d = args.channels
    print(f'torch {torch.__version__}, {device}, '
          f'{torch.get_num_threads()} thread(s), forward + backward of one '
          f'GraphLSTM(F, {d}) layer with an incoming state, median of '
          f'{args.repeat} (tgr) and {args.loop_repeat} (loop)')
    rows, checked = [], False
    for name, x, ei, conf in graphs:
        n = x.size(0)
        torch.manual_seed(0)
        layer = GraphLSTM(x.size(1), d).to(device)
        loop = NodeByNodeGraphLSTM(layer)
        # x is data; the state comes from a previous layer (needs grad).
        state = tuple(t.requires_grad_() for t in (
            0.5 * torch.randn(n, d, device=device),
            torch.randn(n, d, device=device)))
        dep = confidence_order(ei, conf)
        levels = int(topological_levels(dep, n).max()) + 1
        structure = loop.structure(ei.cpu(), conf.cpu(), n)
        prefix = None if n <= args.prefix else args.prefix
        if not checked:
            with torch.no_grad():
                h, m = layer(x, ei, conf, state)
                h_ref, m_ref = loop(x, state, structure)
            ok = torch.allclose(h, h_ref, atol=1e-5) and \
                torch.allclose(m, m_ref, atol=1e-5)
            print(f'outputs on {name} equal to the node-by-node loop: {ok}')
            checked = True

        def run(fn):
            def step():
                for t in state:
                    t.grad = None
                layer.zero_grad(set_to_none=True)
                out = fn()
                sum(t.sum() for t in out).backward()
            return step

        def floor():  # the layer's matrix products alone: W f, U h_t,
            h = state[0]  # W^fn h_t, U^n on both halves of hbar
            return (layer.lin(x), layer.lin_h(h), layer.lin_fn(h),
                    layer.lin_nbr(h), layer.lin_nbr(state[1]))

        t_tgr = median_time(run(lambda: layer(x, ei, conf, state)), device,
                            args.repeat)
        t_floor = median_time(run(floor), device, args.repeat)
        t_loop = median_time(run(lambda: loop(x, state, structure,
                                              prefix)),
                             device, args.loop_repeat, warmup=0)
        if prefix is not None:
            # Hoisted work once, plus the steps scaled to all nodes:
            t_zero = median_time(run(lambda: loop(x, state, structure, 0)),
                                 device, args.loop_repeat)
            t_loop = t_zero + (t_loop - t_zero) * n / prefix
        rows.append((name, n, dep.size(1), levels, t_loop, prefix, t_tgr,
                     t_floor))
    print()
    print('| graph | nodes | edges | levels | node-by-node loop | tgr '
          'GraphLSTM | speed-up | floor: the matrix products alone |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for name, n, e, levels, t_loop, prefix, t_tgr, t_floor in rows:
        scaled = '' if prefix is None else \
            f' (steps of the first {prefix:,} nodes x{n / prefix:.1f})'
        print(f'| {name} | {n:,} | {e:,} | {levels:,} | '
              f'{t_loop * 1e3:,.0f} ms{scaled} | {t_tgr * 1e3:,.1f} ms | '
              f'{t_loop / t_tgr:,.1f}x | {t_floor * 1e3:,.1f} ms |')


if __name__ == '__main__':
    main()
