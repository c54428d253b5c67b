r"""Graph-Structured LSTM benchmark: the level-wise engine against a
one-comment-per-step scan like the authors' Theano code, in one process
(forward + backward of both directions, medians).

    python benchmarks/graph_structured_lstm.py
    python benchmarks/graph_structured_lstm.py --threads-per-batch 20 --device cuda

The batch holds 100 threads of 300 comments shaped like real ones: about a
third of the comments answer the post directly (long sibling chains), the
rest answer a recent comment (long reply chains). The table reports the
number of levels against the number of comments.
"""
import argparse
import random

import torch
from torch_geometric.data import Batch, Data

from _timing import median_time

from tgr.nn import GraphStructuredLSTM
from tgr.transforms import AddSiblingOrder


def make_thread(num_comments, rng):
    src, dst, times = [], [], [0.0]
    for v in range(1, num_comments + 1):
        if v == 1 or rng.random() < 0.35:
            p = 0
        else:  # a recent comment: reply chains
            p = rng.randrange(max(1, v - 8), v)
        src.append(p)
        dst.append(v)
        times.append(float(v))
    return torch.tensor([src, dst]), torch.tensor(times)


class ScanGSLSTM(torch.nn.Module):
    r"""One comment per step, in a precomputed order, like a scan; shares
    the weights of a :class:`tgr.nn.GraphStructuredLSTM`."""
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def direction(self, k, x, order, hier, temp):
        L, d = self.layer, self.layer.out_channels
        h0 = L.init_state[k]
        h, c = {}, {}
        for t in order:
            a, s = hier.get(t), temp.get(t)
            h_pi, c_pi = (h[a], c[a]) if a is not None else (h0[0, :d],
                                                             h0[0, d:])
            h_p, c_p = (h[s], c[s]) if s is not None else (h0[1, :d],
                                                          h0[1, d:])
            pre = L.lin[k](x[t]) + L.lin_rec[k](torch.cat([h_pi, h_p]))
            i, f, g, o = torch.sigmoid(pre[:4 * d]).split(d)
            c[t] = f * c_p + g * c_pi + i * torch.tanh(pre[4 * d:])
            h[t] = o * torch.tanh(c[t])
        return torch.stack([h[t] for t in range(x.size(0))])

    def forward(self, x, edge_index, sibling_index, level, rev_level):
        parent = dict(zip(edge_index[1].tolist(), edge_index[0].tolist()))
        prev = dict(zip(sibling_index[1].tolist(),
                        sibling_index[0].tolist()))
        nxt = {u: v for v, u in prev.items()}
        has_prev = set(prev)
        first = {u: v for v, u in parent.items() if v not in has_prev}
        fwd = sorted(range(x.size(0)), key=lambda t: int(level[t]))
        bwd = sorted(range(x.size(0)), key=lambda t: int(rev_level[t]))
        return torch.cat([self.direction(0, x, fwd, parent, prev),
                          self.direction(1, x, bwd, first, nxt)], dim=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads-per-batch', type=int, default=100)
    parser.add_argument('--comments', type=int, default=300)
    parser.add_argument('--channels', type=int, default=64)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--scan-repeat', type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rng = random.Random(0)
    data_list = []
    for _ in range(args.threads_per_batch):
        ei, t = make_thread(args.comments, rng)
        data_list.append(AddSiblingOrder()(Data(edge_index=ei, time=t,
                                                num_nodes=t.numel())))
    batch = Batch.from_data_list(data_list).to(device)
    n = batch.num_nodes
    torch.manual_seed(0)
    d = args.channels
    layer = GraphStructuredLSTM(d, d).to(device)
    x = torch.randn(n, d, device=device, requires_grad=True)
    scan = ScanGSLSTM(layer)
    kwargs = dict(sibling_index=batch.sibling_index, level=batch.level,
                  rev_level=batch.rev_level)

    with torch.no_grad():
        ok = torch.allclose(layer(x, batch.edge_index, **kwargs),
                            scan(x, batch.edge_index, **kwargs), atol=1e-5)

    def run(module):
        def fn():
            x.grad = None
            layer.zero_grad(set_to_none=True)
            module(x, batch.edge_index, **kwargs).sum().backward()
        return fn

    t_scan = median_time(run(scan), device, args.scan_repeat)
    t_tgr = median_time(run(layer), device, args.repeat)
    levels = (int(batch.level.max()) + 1, int(batch.rev_level.max()) + 1)
    print(f'torch {torch.__version__}, {device}, {args.threads} threads, '
          f'forward + backward, both directions, {d} -> {d}')
    print(f'outputs equal to the scan: {ok}')
    print()
    print('| batch | comments | levels (fwd / bwd) | scan, one comment per '
          'step | tgr GraphStructuredLSTM | speed-up |')
    print('| --- | ---: | ---: | ---: | ---: | ---: |')
    print(f'| {args.threads_per_batch} threads x {args.comments} comments | '
          f'{n:,} | {levels[0]} / {levels[1]} | {t_scan * 1e3:.0f} ms | '
          f'{t_tgr * 1e3:.1f} ms | {t_scan / t_tgr:.1f}x |')


if __name__ == '__main__':
    main()
