r"""Scatter kernels: native PyTorch against torch-scatter, in one process, to
justify the choices made in :mod:`tgr.utils.dispatch`.

    python benchmarks/scatter.py                 # 1M x 64 rows into 100k
    python benchmarks/scatter.py --rows 200000 --device cuda

Forward + backward, medians. Needs torch-scatter for the comparison
(``pip install wheel && pip install --no-build-isolation torch-scatter``).
"""
import argparse

import torch

from _timing import median_time

import tgr.utils.dispatch as dispatch
from tgr.utils import scatter, segment, use_torch_scatter


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--rows', type=int, default=1_000_000)
    parser.add_argument('--channels', type=int, default=64)
    parser.add_argument('--segments', type=int, default=100_000)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeat', type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    have = dispatch._torch_scatter is not None
    print(f'torch {torch.__version__}, {device}, {args.threads} threads, '
          f'{args.rows:,} x {args.channels} rows into {args.segments:,}, '
          f'torch-scatter {"installed" if have else "NOT installed"}')
    g = torch.Generator().manual_seed(0)
    index = torch.randint(args.segments, (args.rows, ), generator=g)
    index = index.sort().values.to(device)
    ptr = torch.zeros(args.segments + 1, dtype=torch.long, device=device)
    ptr[1:] = torch.bincount(index, minlength=args.segments).cumsum(0)
    src = torch.randn(args.rows, args.channels, device=device,
                      requires_grad=True)

    def run(kind, reduce):
        def fn():
            src.grad = None
            if kind == 'scatter':
                out = scatter(src, index, args.segments, reduce)
            else:
                out = segment(src, ptr, reduce)
            out.sum().backward()
        return fn

    print('\n| op | reduce | native | torch-scatter | ratio |')
    print('| --- | --- | ---: | ---: | ---: |')
    for kind in ('scatter', 'segment'):
        for reduce in ('sum', 'mean', 'max'):
            with use_torch_scatter(False):
                t_native = median_time(run(kind, reduce), device, args.repeat)
            if have:
                with use_torch_scatter(True):
                    t_ts = median_time(run(kind, reduce), device, args.repeat)
                ratio = f'{t_native / t_ts:.2f}x'
                ts = f'{t_ts * 1e3:.1f} ms'
            else:
                ratio, ts = '-', '-'
            print(f'| {kind} | {reduce} | {t_native * 1e3:.1f} ms | {ts} | '
                  f'{ratio} |')
    print('\n(ratio > 1: torch-scatter is faster; scatter-sum always takes '
          'index_add_, so its two columns run the same kernel)')


if __name__ == '__main__':
    main()
