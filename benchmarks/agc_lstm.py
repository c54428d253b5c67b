r"""AGC-LSTM benchmark: :class:`tgr.nn.AGCLSTM` (input-side graph convolution
hoisted out of the time loop, four gates fused into one convolution per side,
the time loop and its backward written out without autograd) against a
per-step implementation in the style of PyG Temporal's ``GConvLSTM`` (a
separate convolution per gate and side, the input side recomputed at every
step), all in this one process, forward + backward, medians of ``--repeat``
interleaved runs.

    python benchmarks/agc_lstm.py --threads 1
    python benchmarks/agc_lstm.py --threads 1 --keep-memory
    python benchmarks/agc_lstm.py --videos 16 --frames 100 --repeat 5
    python benchmarks/agc_lstm.py --device cuda --videos 64

Input: NTU RGB+D-shaped batches. A video holds two bodies of 25 joints (the
NTU layout of :mod:`tgr.datasets.skeleton`, 24 bones each), kept as one
sample of 50 joints with two centre joints, so that the attention's query
sums over both actors; ``--videos`` videos form one
:class:`~torch_geometric.data.Batch`-like input of ``50 * videos`` joints and
``T = --frames`` frames. Rows: the first AGC-LSTM layer on raw coordinates
(3 channels) and on the wider features of the paper's network.

The yardstick is the loop a user writes over the layer's own cell,
:class:`tgr.nn.AGCLSTMCell` (public calls, plain autograd; same weights).
Two more baselines share the weights of the tgr layer (split into per-gate
blocks); all outputs are checked equal to tgr's before timing:

- *per-step, conv calls*: every convolution is a call of the public
  :class:`tgr.nn.SpatialGraphConv` (``conv(x_t, edge_index, partition)``),
  which checks its input and rebuilds its normalisation at each call, as the
  PyG convolutions inside ``GConvLSTM`` do;
- *per-step, graph cached*: the same eight convolutions per step on a
  normalisation built once, so that only the hoisting, the fusion of the
  gates and the hand-written time loop are measured.

``--keep-memory`` re-runs the script with glibc's ``MALLOC_MMAP_MAX_=0`` and
a high ``MALLOC_TRIM_THRESHOLD_``, so that freed memory is reused instead of
being returned to the kernel: on virtual machines where page faults are
expensive the first touch of fresh memory otherwise costs about as much as
the arithmetic (both implementations benefit; tgr's large hoisted buffers a
little more).
"""
import argparse
import os
import sys

import torch

from _timing import aten_path, fused_label, median_times
from tgr.datasets.skeleton import NTU_LAYOUT
from tgr.nn import AGCLSTM, SpatialGraphConv, skeleton_partition


class PerStepAGCLSTM(torch.nn.Module):
    r"""AGC-LSTM written the way GConvLSTM is: eight convolutions per step
    (input and hidden side of i, f, o, u), nothing hoisted. It copies the
    weights of an :class:`tgr.nn.AGCLSTM` so that the outputs coincide."""
    def __init__(self, layer: AGCLSTM):
        super().__init__()
        cell = layer.cell
        d, c_in = layer.out_channels, layer.in_channels
        self.d = d
        self.conv_x = torch.nn.ModuleList(
            [SpatialGraphConv(c_in, d) for _ in range(4)])
        self.conv_h = torch.nn.ModuleList(
            [SpatialGraphConv(d, d, bias=False) for _ in range(4)])
        with torch.no_grad():
            for k in range(4):
                rows = slice(k * d, (k + 1) * d)
                self.conv_x[k].lin.weight.copy_(cell.conv_x.lin.weight[rows])
                self.conv_x[k].lin.bias.copy_(cell.conv_x.lin.bias[rows])
                self.conv_h[k].lin.weight.copy_(cell.conv_h.lin.weight[rows])
        self.att = cell.att

    def forward(self, x, edge_index, partition, batch, num_graphs,
                graph=None):
        # graph=None: public conv calls; else the cached normalisation.
        def conv(module, inp):
            if graph is None:
                return module(inp, edge_index, partition)
            # W *G x from the cached subset graph: aggregate, then the
            # weights of the three subsets in one product.
            a = module.aggregate_subsets(inp, graph)
            return module.lin(a.view(inp.size(0), 3 * inp.size(1)))

        h = c = None
        outs, alphas = [], []
        for t in range(x.size(1)):
            x_t = x[:, t]
            pre = [conv(module, x_t) for module in self.conv_x]
            if h is not None:
                pre = [p + conv(module, h)
                       for p, module in zip(pre, self.conv_h)]
            i, f, o = (torch.sigmoid(p) for p in pre[:3])
            u = torch.tanh(pre[3])
            c = i * u if c is None else f * c + i * u
            h_hat = o * torch.tanh(c)
            alpha = self.att(h_hat, batch, num_graphs)
            h = h_hat * (1 + alpha).unsqueeze(-1)
            outs.append(h)
            alphas.append(alpha)
        return torch.stack(outs, 1), torch.stack(alphas, 1)


def cell_loop(layer, x, edge_index, partition, batch):
    r"""The loop a user writes over the layer's own cell
    (:class:`tgr.nn.AGCLSTMCell`, public calls, plain autograd)."""
    state, outs, alphas = None, [], []
    for t in range(x.size(1)):
        h, c, alpha = layer.cell(x[:, t], edge_index, partition, batch,
                                 state)
        state = (h, c)
        outs.append(h)
        alphas.append(alpha)
    return torch.stack(outs, 1), torch.stack(alphas, 1)


def floor_fn(layer, x, num_graphs):
    r"""The floor: the matrix products of AGC-LSTM's forward + backward
    alone, on random operands of the same shapes (per step: the hidden-side
    gate product and the attention's products; their input gradients in the
    backward; the weight gradients and the hoisted input side once)."""
    n, T, c_in = x.shape
    d = layer.out_channels
    cell = layer.cell
    w_x, w_h = cell.conv_x.lin.weight.detach(), cell.conv_h.lin.weight.detach()
    att = cell.att
    w_query, w_att = att.lin_query.weight.detach(), att.lin_h.weight.detach()
    w_q = att.lin_q.weight.detach()
    r = torch.randn
    a = r(n, 3 * d)
    hh, z, tot = r(n, d), r(n, w_att.size(0)), r(num_graphs, d)
    g = r(n, 4 * d)
    g_z, g_q = r(n, w_att.size(0)), r(num_graphs, w_att.size(0))
    a_x, g_x = r(n * T, 3 * c_in), r(n * T, 4 * d)
    a_all, h_all = r(n * T, 3 * d), r(n * T, d)
    gz_all = r(n * T, w_att.size(0))

    def fn():
        a_x @ w_x.t()                      # hoisted input side
        for _ in range(T):
            a @ w_h.t()                    # hidden side of the gates
            tot @ w_query.t() @ w_q.t()    # attention query
            hh @ w_att.t()                 # attention keys
        for _ in range(T):
            g @ w_h                        # gates -> gathered h
            g_z @ w_att                    # attention -> h_hat
            g_q @ w_q @ w_query            # query -> totals
        g_x.t() @ a_all                    # weight gradients, once each
        gz_all.t() @ h_all
        g_x.t() @ a_x
        g_x @ w_x                          # input side -> x
    return fn


def ntu_batch(videos, frames, channels, seed=0):
    gen = torch.Generator().manual_seed(seed)
    bodies = 2 * videos
    edge_index = NTU_LAYOUT.edge_index(bodies)
    n = bodies * NTU_LAYOUT.num_joints
    joint = torch.arange(n) % NTU_LAYOUT.num_joints
    partition = skeleton_partition(edge_index, joint == NTU_LAYOUT.center)
    batch = torch.arange(n) // (2 * NTU_LAYOUT.num_joints)
    x = torch.randn(n, frames, channels, generator=gen)
    return x, edge_index, partition, batch


def run(videos, frames, c_in, hidden, repeat, device=torch.device('cpu')):
    torch.manual_seed(0)
    x, edge_index, partition, batch = (
        t.to(device) for t in ntu_batch(videos, frames, c_in))
    layer = AGCLSTM(c_in, hidden).to(device)
    base = PerStepAGCLSTM(layer).to(device)
    graph = layer.cell.conv_x.subset_graph(edge_index, partition, x.size(0))
    x.requires_grad_()

    out, alpha, _ = layer(x, edge_index, partition, batch)
    out_c, alpha_c = cell_loop(layer, x, edge_index, partition, batch)
    assert torch.allclose(out, out_c, atol=1e-5)
    assert torch.allclose(alpha, alpha_c, atol=1e-5)
    for g in (None, graph):
        out_b, alpha_b = base(x, edge_index, partition, batch, videos, g)
        assert torch.allclose(out, out_b, atol=1e-5), \
            float((out - out_b).abs().max())
        assert torch.allclose(alpha, alpha_b, atol=1e-5)

    def tgr_step():
        out, alpha, _ = layer(x, edge_index, partition, batch)
        (out.sum() + alpha.sum()).backward()

    def cell_step():
        out, alpha = cell_loop(layer, x, edge_index, partition, batch)
        (out.sum() + alpha.sum()).backward()

    def base_step(g):
        out, alpha = base(x, edge_index, partition, batch, videos, g)
        (out.sum() + alpha.sum()).backward()

    return median_times([tgr_step, cell_step, lambda: base_step(None),
                         lambda: base_step(graph),
                         floor_fn(layer, x.detach(), videos),
                         aten_path(tgr_step)], repeat, device=device)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--videos', type=int, default=8)
    parser.add_argument('--frames', type=int, default=100)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--configs', default='3:64,64:64,128:128',
                        help='comma-separated in:hidden channel pairs')
    parser.add_argument('--device', default='cpu',
                        help='cpu or cuda (timed with synchronisation)')
    parser.add_argument('--keep-memory', action='store_true',
                        help='re-run with glibc keeping freed memory')
    args = parser.parse_args()
    if args.keep_memory and os.environ.get('MALLOC_MMAP_MAX_') != '0':
        env = dict(os.environ, MALLOC_MMAP_MAX_='0',
                   MALLOC_TRIM_THRESHOLD_=str(1 << 40))
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    device = torch.device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == 'cuda' \
        else 'CPU'
    n = 2 * NTU_LAYOUT.num_joints * args.videos
    print(f'AGC-LSTM forward + backward, {args.videos} NTU videos x 2 bodies '
          f'x 25 joints = {n} joints, T = {args.frames}, {where}, '
          f'{torch.get_num_threads()} thread(s), torch {torch.__version__}, '
          f'median of {args.repeat}, {fused_label()}'
          f'{", glibc keeping freed memory" if args.keep_memory else ""}\n')
    print('| in -> hidden | tgr AGCLSTM (ms) | loop over AGCLSTMCell (ms) | '
          'speed-up | eight conv calls per step (ms) | speed-up | eight '
          'convs, graph cached (ms) | speed-up | floor: products alone (ms) '
          '| tgr / floor | tgr, ATen path (ms) | speed-up over the cell '
          'loop |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for pair in args.configs.split(','):
        c_in, hidden = (int(v) for v in pair.split(':'))
        t_tgr, t_cell, t_calls, t_cached, t_floor, t_aten = run(
            args.videos, args.frames, c_in, hidden, args.repeat, device)
        print(f'| {c_in} -> {hidden} | {1e3 * t_tgr:.0f} | '
              f'{1e3 * t_cell:.0f} | {t_cell / t_tgr:.2f}x | '
              f'{1e3 * t_calls:.0f} | {t_calls / t_tgr:.2f}x | '
              f'{1e3 * t_cached:.0f} | {t_cached / t_tgr:.2f}x | '
              f'{1e3 * t_floor:.0f} | {t_tgr / t_floor:.2f} | '
              f'{1e3 * t_aten:.0f} | {t_cell / t_aten:.2f}x |', flush=True)


if __name__ == '__main__':
    main()
