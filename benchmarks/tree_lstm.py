r"""Tree-LSTM benchmark: the level-wise engine against the baselines it
replaces, all run in this one process (forward + backward, medians).

    python benchmarks/tree_lstm.py                 # everything, CPU, 2 threads
    python benchmarks/tree_lstm.py --only sst,chain --repeat 7
    python benchmarks/tree_lstm.py --device cuda

Every tgr row is timed with the fused CPU kernels (tgr.nn._fused) and
again on the ATen path (kernels off); rows of one case are timed
interleaved (each repetition runs every implementation once), except the
slow per-node recursion.

Sections:
  sst     a batch of 25 binary trees of 37 nodes (SST-sized), 300 -> 150:
          tgr vs a per-node recursive Child-Sum Tree-LSTM (as public code
          writes it), same weights, outputs checked equal.
  chain   chains of T = 100 and 1,000 nodes: tgr Child-Sum vs torch.nn.LSTM
          on the same sequence (the two recurrences coincide on a chain).
  forest  random forests of 10^3 ... 10^6 nodes: time and peak memory per
          node (each size in a fresh subprocess on CPU, so that the peak
          resident memory is its own).
  code    a batch of 128 Python functions' ASTs (deep and wide, unlike SST)
          from tgr.datasets.PythonCodeTrees, tgr vs the per-node recursion.
"""
import argparse
import json
import os
import resource
import subprocess
import sys

import torch

from _timing import aten_path, fused_label, median_time, median_times

from tgr.nn import ChildSumTreeLSTM, NAryTreeLSTM
from tgr.schedule import build_schedule
from tgr.testing import chain, random_forest


class RecursiveChildSum(torch.nn.Module):
    r"""Per-node recursive Child-Sum Tree-LSTM, the way most public code
    writes it: one Python call per node, children first. It shares the
    weights of a :class:`tgr.nn.ChildSumTreeLSTM`."""
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def node(self, j, x, children, h, c):
        for k in children[j]:
            self.node(k, x, children, h, c)
        L, d = self.layer, self.layer.out_channels
        xw = L.lin(x[j:j + 1])
        if children[j]:
            h_k = torch.cat([h[k] for k in children[j]])
            c_k = torch.cat([c[k] for k in children[j]])
            h_sum = h_k.sum(0, keepdim=True)
        else:
            h_k = c_k = None
            h_sum = x.new_zeros(1, d)
        iou = xw[:, :3 * d] + L.lin_iou(h_sum)
        i, o = torch.sigmoid(iou[:, :d]), torch.sigmoid(iou[:, d:2 * d])
        u = torch.tanh(iou[:, 2 * d:])
        c_j = i * u
        if h_k is not None:
            f = torch.sigmoid(xw[:, 3 * d:] + L.lin_f(h_k))
            c_j = c_j + (f * c_k).sum(0, keepdim=True)
        h[j], c[j] = o * torch.tanh(c_j), c_j

    def forward(self, x, edge_index):
        n = x.size(0)
        children = [[] for _ in range(n)]
        is_child = [False] * n
        for k, j in edge_index.t().tolist():
            children[j].append(k)
            is_child[k] = True
        h, c = [None] * n, [None] * n
        for j in range(n):
            if not is_child[j]:
                self.node(j, x, children, h, c)
        return torch.cat(h), torch.cat(c)


def binary_tree_batch(num_trees, num_leaves, seed=0):
    # Random binary trees (every internal node has 2 children), batched.
    g = torch.Generator().manual_seed(seed)
    src, dst, offset = [], [], 0
    for _ in range(num_trees):
        nodes = list(range(num_leaves))
        nxt = num_leaves
        while len(nodes) > 1:
            i = int(torch.randint(len(nodes) - 1, (1, ), generator=g))
            a, b = nodes[i], nodes[i + 1]
            src += [offset + a, offset + b]
            dst += [offset + nxt, offset + nxt]
            nodes[i:i + 2] = [nxt]
            nxt += 1
        offset += nxt
    return torch.tensor([src, dst]), offset


def bench_fn(layer, x, edge_index, sched=None):
    def fn():
        if x.grad is not None:
            x.grad = None
        layer.zero_grad(set_to_none=True)
        if sched is None:
            h, c = layer(x, edge_index)
        else:
            h, c = layer(x, edge_index, schedule=sched)
        (h.sum() + c.sum()).backward()
    return fn


def floor_fn(layer, x, sched):
    r"""The floor of a Child-Sum forward + backward on :obj:`sched`: the same
    matrix products alone, on random operands of the same shapes. Forward:
    the hoisted input projection, and per level with children the products
    with U_iou (a row per node) and U_f (a row per edge). Backward: the
    input-gradient product of each of those, and each weight gradient as one
    product (as the engine defers them)."""
    d = layer.out_channels
    W = layer.lin.weight.detach()
    b = layer.lin.bias.detach()
    u_iou, u_f = layer.lin_iou.weight.detach(), layer.lin_f.weight.detach()
    xd = x.detach()
    nodes = [b_ - a for a, b_ in zip(sched.node_ptr, sched.node_ptr[1:])]
    edges = [b_ - a for a, b_ in zip(sched.edge_ptr, sched.edge_ptr[1:])]
    inner = [(torch.randn(v, d, device=x.device),
              torch.randn(e, d, device=x.device),
              torch.randn(v, 3 * d, device=x.device),
              torch.randn(e, d, device=x.device))
             for v, e in zip(nodes, edges) if e > 0]
    n_in = sum(v for v, e in zip(nodes, edges) if e > 0)
    g_xw = torch.randn(xd.size(0), 4 * d, device=x.device)
    g_iou = torch.randn(n_in, 3 * d, device=x.device)
    h_sum = torch.randn(n_in, d, device=x.device)
    g_f = torch.randn(sched.num_edges, d, device=x.device)
    h_k = torch.randn(sched.num_edges, d, device=x.device)

    def fn():
        torch.addmm(b, xd, W.t())
        for hv, he, _, _ in inner:
            torch.mm(hv, u_iou.t())
            torch.mm(he, u_f.t())
        for _, _, gv, ge in reversed(inner):
            torch.mm(gv, u_iou)
            torch.mm(ge, u_f)
        g_iou.t() @ h_sum
        g_f.t() @ h_k
        g_xw @ W
        g_xw.t() @ xd
    return fn


def section_sst(args, device):
    rows = []
    edge_index, n = binary_tree_batch(25, 19)
    edge_index = edge_index.to(device)
    torch.manual_seed(0)
    layer = ChildSumTreeLSTM(300, 150).to(device)
    x = torch.randn(n, 300, device=device, requires_grad=True)
    ref = RecursiveChildSum(layer)
    with torch.no_grad():
        ok = torch.allclose(layer(x, edge_index)[0], ref(x, edge_index)[0],
                            atol=1e-5)
    sched = build_schedule(edge_index, n)
    t_ref = median_time(bench_fn(ref, x, edge_index), device, args.repeat)
    nary = NAryTreeLSTM(300, 150).to(device)
    # Interleaved, so that a slow phase of the machine hits all alike:
    t_tgr, t_pre, t_aten, t_nary, t_floor = median_times(
        [bench_fn(layer, x, edge_index),
         bench_fn(layer, x, edge_index, sched),
         aten_path(bench_fn(layer, x, edge_index, sched)),
         bench_fn(nary, x, edge_index, sched), floor_fn(layer, x, sched)],
        args.repeat, device=device)
    rows.append(('sst: 25 trees x 37 nodes, 300->150', 'per-node recursive',
                 t_ref, None))
    rows.append(('', 'tgr ChildSum (schedule built per call)', t_tgr,
                 t_ref / t_tgr))
    rows.append(('', 'tgr ChildSum (schedule precomputed)', t_pre,
                 t_ref / t_pre))
    rows.append(('', 'tgr ChildSum, ATen path (no fused kernels)', t_aten,
                 t_ref / t_aten))
    rows.append(('', 'tgr NAry N=2 (schedule precomputed)', t_nary,
                 t_ref / t_nary))
    rows.append(('', 'floor: the same matrix products alone', t_floor,
                 f'tgr ChildSum = {t_pre / t_floor:.2f}x the floor (ATen '
                 f'path {t_aten / t_floor:.2f}x)'))
    print(f'  [sst] outputs equal to the recursive reference: {ok}')
    return rows


def section_chain(args, device):
    rows, per_t = [], {}
    for T in (100, 1000):
        torch.manual_seed(0)
        layer = ChildSumTreeLSTM(300, 150).to(device)
        lstm = torch.nn.LSTM(300, 150).to(device)
        x = torch.randn(T, 300, device=device, requires_grad=True)
        edge_index = chain(T).to(device)
        sched = build_schedule(edge_index, T)

        def run_lstm():
            x.grad = None
            out, (h_n, c_n) = lstm(x.unsqueeze(1))
            (out.sum() + c_n.sum()).backward()

        t_lstm, t_tgr, t_aten = median_times(
            [run_lstm, bench_fn(layer, x, edge_index, sched),
             aten_path(bench_fn(layer, x, edge_index, sched))], args.repeat,
            device=device)
        per_t[T] = t_tgr
        rows.append((f'chain T={T}, 300->150', 'torch.nn.LSTM', t_lstm,
                     None))
        rows.append(('', 'tgr ChildSum', t_tgr, t_lstm / t_tgr))
        rows.append(('', 'tgr ChildSum, ATen path (no fused kernels)',
                     t_aten, t_lstm / t_aten))
    rows.append(('chain scaling', 'tgr T=1000 / T=100 (linear: 10)',
                 per_t[1000] / per_t[100], 'ratio'))
    return rows


def forest_point(num_nodes, channels, device, repeat):
    # One forest size; returns (seconds, peak bytes) per node.
    torch.manual_seed(0)
    edge_index = random_forest(num_nodes, num_trees=max(1, num_nodes // 40),
                               seed=1).to(device)
    layer = ChildSumTreeLSTM(channels, channels).to(device)
    x = torch.randn(num_nodes, channels, device=device, requires_grad=True)
    sched = build_schedule(edge_index, num_nodes)
    fn = bench_fn(layer, x, edge_index, sched)
    # Warm up thread pools and kernels on a small forest first, so that the
    # peak measured below is the run's own.
    small = random_forest(100, num_trees=3, seed=2).to(device)
    bench_fn(layer, x[:100].detach().requires_grad_(), small)()
    if device.type == 'cuda':
        fn()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        import psutil
        base = psutil.Process().memory_info().rss
        fn()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 \
            - base
    t = median_time(fn, device, repeat, warmup=0)
    return t / num_nodes, max(peak, 0) / num_nodes, sched.num_levels


def section_forest(args, device):
    rows, sizes = [], [10**3, 10**4, 10**5, 10**6]
    if args.quick:
        sizes = sizes[:3]
    results = {}
    for n in sizes:
        if device.type == 'cpu':  # a fresh process, so the peak is its own
            out = subprocess.run(
                [sys.executable, __file__, '--forest-point', str(n),
                 '--threads', str(args.threads), '--repeat',
                 str(max(1, args.repeat // 2 if n >= 10**6 else args.repeat))],
                check=True, capture_output=True, text=True)
            results[n] = json.loads(out.stdout.strip().splitlines()[-1])
        else:
            results[n] = forest_point(n, 32, device, args.repeat)
    t0, m0, _ = results[sizes[0]]
    for n in sizes:
        t, m, levels = results[n]
        rows.append((f'forest {n:,} nodes ({levels} levels), 32->32',
                     f'tgr ChildSum, peak {m:,.0f} B / node',
                     f'{t * 1e6:.2f} us / node',
                     f'time x{t / t0:.2f}, memory x{m / m0:.2f} of the '
                     f'first' if m0 > 0 else f'time x{t / t0:.2f}'))
    return rows


def section_code(args, device):
    import tempfile

    from torch_geometric.data import Batch

    from tgr.datasets import PythonCodeTrees
    root = os.path.join(tempfile.gettempdir(), 'tgr_bench_code')
    dataset = PythonCodeTrees(root, split='train', max_files=120)
    data = Batch.from_data_list([dataset[i] for i in range(128)])
    # The dataset stores AST edges parent -> child, as ogb does; the
    # Child-Sum runs bottom-up, so its dependency edges are child -> parent.
    edge_index = data.edge_index.flip(0)
    n = data.num_nodes
    dep_levels = build_schedule(edge_index, n).num_levels
    torch.manual_seed(0)
    layer = ChildSumTreeLSTM(128, 128).to(device)
    x = torch.randn(n, 128, device=device, requires_grad=True)
    edge_index = edge_index.to(device)
    ref = RecursiveChildSum(layer)
    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))
    sched = build_schedule(edge_index, n)
    t_ref = median_time(bench_fn(ref, x, edge_index), device,
                        max(1, args.repeat // 2))
    t_tgr, t_aten, t_floor = median_times(
        [bench_fn(layer, x, edge_index, sched),
         aten_path(bench_fn(layer, x, edge_index, sched)),
         floor_fn(layer, x, sched)], args.repeat, device=device)
    return [(f'code: 128 ASTs, {n:,} nodes, {dep_levels} levels, 128->128',
             'per-node recursive', t_ref, None),
            ('', 'tgr ChildSum (schedule precomputed)', t_tgr,
             t_ref / t_tgr),
            ('', 'tgr ChildSum, ATen path (no fused kernels)', t_aten,
             t_ref / t_aten),
            ('', 'floor: the same matrix products alone', t_floor,
             f'tgr ChildSum = {t_tgr / t_floor:.2f}x the floor (ATen path '
             f'{t_aten / t_floor:.2f}x)')]


def fmt_time(t):
    if isinstance(t, str):
        return t
    return f'{t * 1e3:.2f} ms' if t >= 1e-3 or t == 0 else \
        f'{t * 1e6:.1f} us'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--only', default='sst,chain,forest,code')
    parser.add_argument('--quick', action='store_true',
                        help='forests up to 10^5 nodes only')
    parser.add_argument('--forest-point', type=int, default=None,
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.forest_point is not None:
        print(json.dumps(forest_point(args.forest_point, 32, device,
                                      args.repeat)))
        return

    try:
        import tgr.utils.dispatch as dispatch
        scatter_state = 'installed' if dispatch._torch_scatter is not None \
            else 'not installed'
    except ImportError:  # pragma: no cover
        scatter_state = '?'
    print(f'torch {torch.__version__}, device {device}'
          f'{" (" + torch.cuda.get_device_name() + ")" if device.type == "cuda" else ""}'  # noqa: E501
          f', {args.threads} threads, torch-scatter {scatter_state}, '
          f'median of {args.repeat}, forward + backward, {fused_label()}')
    rows = []
    sections = {'sst': section_sst, 'chain': section_chain,
                'forest': section_forest, 'code': section_code}
    for name in args.only.split(','):
        rows += sections[name](args, device)

    print()
    print('| case | implementation | time | ratio |')
    print('| --- | --- | ---: | ---: |')
    for case, impl, t, ratio in rows:
        if ratio is None:
            r = '1.00 (baseline)'
        elif ratio == 'ratio':
            r, t = f'{t:.2f}', ''
        elif isinstance(ratio, str):
            r = ratio
        else:
            r = f'{ratio:.2f}x faster' if ratio >= 1 else \
                f'{1 / ratio:.2f}x slower'
        print(f'| {case} | {impl} | {fmt_time(t)} | {r} |')


if __name__ == '__main__':
    main()
