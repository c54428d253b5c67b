r"""Checks the engine and the layers on a CUDA device against the CPU, and
that the level loop never synchronises with the host.

    python benchmarks/cuda_check.py

Prints one line per check and exits non-zero if any fails. Timings are in
``benchmarks/tree_lstm.py --device cuda``. The AGC-LSTM checks
(:func:`check_agc`) also run on the CPU against itself
(``python benchmarks/cuda_check.py --agc-on-cpu``) to test the script where
no GPU is at hand.
"""
import sys

import torch
from torch_geometric.data import Batch, Data

from tgr.datasets.skeleton import NTU_LAYOUT
from tgr.nn import AGCLSTM, ChildSumTreeLSTM, NAryTreeLSTM
from tgr.nn.models import AGCLSTMNet
from tgr.schedule import build_schedule, propagate_levels, topological_levels
from tgr.testing import chain, random_dag, random_forest
from tgr.utils import scatter
from tgr.transforms import AddLevels, AddSkeletonPartition

FAILED = []


def check(name, ok, detail=''):
    print(f"{'ok  ' if ok else 'FAIL'} {name} {detail}")
    if not ok:
        FAILED.append(name)


def main():
    assert torch.cuda.is_available(), 'no CUDA device'
    dev = torch.device('cuda')
    print(torch.__version__, torch.cuda.get_device_name())

    # Levels computed on the device equal those on the CPU.
    for seed in range(3):
        ei = random_dag(500, 2000, seed)
        check(f'levels on cuda, dag {seed}',
              torch.equal(topological_levels(ei.to(dev), 500).cpu(),
                          topological_levels(ei, 500)))
    try:
        topological_levels(torch.tensor([[0, 1], [1, 0]], device=dev), 2)
        check('cycle error on cuda', False)
    except ValueError as e:
        check('cycle error on cuda', 'cycle' in str(e), f'({e})')
    try:
        ChildSumTreeLSTM(4, 4).to(dev)(torch.randn(3, 4, device=dev),
                                       torch.tensor([[5], [0]], device=dev))
        check('index error on cuda', False)
    except ValueError as e:
        check('index error on cuda', 'out of range' in str(e), f'({e})')

    # Layers: CUDA float64 equals CPU float64, outputs and gradients.
    cases = {
        'forest': random_forest(3000, num_trees=40, seed=1, max_children=3),
        'chain': chain(300),
        'dag': random_dag(400, 900, seed=2),
    }
    for cls, kw in ((ChildSumTreeLSTM, {}), (NAryTreeLSTM, {
            'num_children': 3})):
        for name, ei in cases.items():
            if cls is NAryTreeLSTM and name == 'dag':
                continue
            n = int(ei.max()) + 1
            torch.manual_seed(0)
            cpu = cls(16, 8, **kw).double()
            gpu = cls(16, 8, **kw).double().to(dev)
            gpu.load_state_dict(cpu.state_dict())
            x = torch.randn(n, 16, dtype=torch.double, requires_grad=True)
            xg = x.detach().to(dev).requires_grad_()
            h, c = cpu(x, ei)
            hg, cg = gpu(xg, ei.to(dev))
            (h.sum() + c.pow(2).sum()).backward()
            (hg.sum() + cg.pow(2).sum()).backward()
            ok = torch.allclose(h, hg.cpu()) and torch.allclose(c, cg.cpu())
            ok = ok and torch.allclose(x.grad, xg.grad.cpu())
            for p, q in zip(cpu.parameters(), gpu.parameters()):
                ok = ok and torch.allclose(p.grad, q.grad.cpu())
            check(f'{cls.__name__} {name} cuda == cpu (values, grads)', ok)

    # A Batch with levels from AddLevels, float32 on the device.
    data = [AddLevels()(Data(x=torch.randn(n, 16),
                             edge_index=random_forest(n, seed=n),
                             num_nodes=n)) for n in (3, 17, 40)]
    batch = Batch.from_data_list(data).to(dev)
    layer = ChildSumTreeLSTM(16, 8).to(dev)
    h, _ = layer(batch.x, batch.edge_index, level=batch.level)
    h2, _ = layer(data[1].x.to(dev), data[1].edge_index.to(dev))
    check('batch on cuda equals graph alone',
          torch.allclose(h[batch.batch == 1], h2, atol=1e-6))

    # No host-device synchronisation inside the level loop (forward and
    # backward) once the schedule exists.
    ei = random_forest(20000, num_trees=100, seed=3).to(dev)
    sched = build_schedule(ei, 20000)
    layer = ChildSumTreeLSTM(32, 32).to(dev)
    x = torch.randn(20000, 32, device=dev, requires_grad=True)
    xw = layer.lin(x)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        # A Child-Sum-like step with public names only (the layer's own
        # forward checks its inputs first, which synchronises on purpose).
        out = propagate_levels(_sum_step, sched, xw, 64,
                               params=(layer.lin_iou.weight,
                                       layer.lin_f.weight))
        out.sum().backward()
        check('no host sync in level loop (fwd + bwd)', True,
              f'({sched.num_levels} levels)')
    except RuntimeError as e:
        check('no host sync in level loop (fwd + bwd)', False, f'({e})')
    finally:
        torch.cuda.set_sync_debug_mode('default')

    check_agc(dev)
    check_fp16_autocast(dev)
    print(f'{len(FAILED)} failed')
    sys.exit(1 if FAILED else 0)


def _sum_step(xw, src_state, dst_local, edge_in, aux, params):
    # h_v = tanh(W x_v + U sum_u h_u): the shape of the Child-Sum step.
    w_iou, _ = params
    d = w_iou.size(1)
    h_sum = scatter(src_state[:, :d], dst_local, xw.size(0))
    return torch.tanh(xw[:, :2 * d] + h_sum @ w_iou[:2 * d].t())


def check_fp16_autocast(dev):
    # CUDA float16 autocast: forward and backward run, finite, and close to
    # float32 (the recurrences run in float32 with autocast off).
    forest = random_forest(2000, num_trees=30, seed=4, max_children=3)
    skel = ntu_skeletons(4, 20, 3)
    for name, make, args in (
            ('ChildSumTreeLSTM', lambda: ChildSumTreeLSTM(16, 32),
             (torch.randn(2000, 16), forest)),
            ('NAryTreeLSTM', lambda: NAryTreeLSTM(16, 32, num_children=3),
             (torch.randn(2000, 16), forest)),
            ('AGCLSTM', lambda: AGCLSTM(3, 32),
             (skel.x.float(), skel.edge_index, skel.partition,
              skel.batch))):
        torch.manual_seed(0)
        module = make().to(dev)
        args = tuple(a.to(dev) for a in args)
        ref = module(*args)[0]
        with torch.autocast('cuda', dtype=torch.float16):
            out = module(*args)[0]
        out.float().pow(2).sum().backward()
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        ok = all(bool(torch.isfinite(g).all()) for g in grads) and \
            float((out.float() - ref).abs().max()) < 0.05
        check(f'{name} fp16 autocast on {dev.type} (fwd + bwd)', ok,
              f'(max diff {float((out.float() - ref).abs().max()):.1e})')


def ntu_skeletons(num_videos, T, C, seed=0):
    # Videos of two NTU bodies each, as one Batch with partition labels.
    gen = torch.Generator().manual_seed(seed)
    J = NTU_LAYOUT.num_joints
    transform = AddSkeletonPartition(NTU_LAYOUT.center, num_joints=J)
    data = [transform(Data(x=torch.randn(2 * J, T, C, generator=gen,
                                         dtype=torch.double),
                           edge_index=NTU_LAYOUT.edge_index(2),
                           y=torch.tensor([i % 3])))
            for i in range(num_videos)]
    return Batch.from_data_list(data)


def check_agc(dev, sync_check=True):
    # AGC-LSTM and AGCLSTMNet: float64 on 'dev' equals the CPU, outputs and
    # gradients; the recurrence's loop runs without host synchronisation.
    batch = ntu_skeletons(3, 12, 5)
    for name, make in (('AGCLSTM', lambda: AGCLSTM(5, 8)),
                       ('AGCLSTMNet', lambda: AGCLSTMNet(
                           5, 3, hidden_channels=8, pool_size=2))):
        torch.manual_seed(0)
        cpu = make().double()
        gpu = make().double().to(dev)
        gpu.load_state_dict(cpu.state_dict())
        outs = []
        for module, b in ((cpu, batch), (gpu, batch.to(dev))):
            x = b.x.clone().requires_grad_()
            out = module(x, b.edge_index, b.partition, b.batch)
            if name == 'AGCLSTMNet':
                loss = module.loss(out[0], out[1], b.y, b.batch)
                first = out[0]
            else:
                loss = out[0].pow(2).sum() + out[1].sum()
                first = out[0]
            loss.backward()
            outs.append((first.detach().cpu(), x.grad.cpu(),
                         [p.grad.cpu() for p in module.parameters()],
                         [t.cpu() for t in module.buffers()]))
        (a, ga, pa, ba), (b_, gb, pb, bb) = outs
        ok = torch.allclose(a, b_) and torch.allclose(ga, gb)
        ok = ok and all(torch.allclose(p, q) for p, q in zip(pa, pb))
        ok = ok and all(torch.allclose(p.double(), q.double())
                        for p, q in zip(ba, bb))
        check(f'{name} {dev.type} == cpu (values, grads, buffers)', ok)
    if not sync_check:
        return
    # The time loop alone (its inputs prepared as AGCLSTM.forward does).
    big = ntu_skeletons(16, 100, 3)
    layer = AGCLSTM(3, 64).to(dev)
    x = big.x.float().to(dev)
    ei, part, bvec = (big.edge_index.to(dev), big.partition.to(dev),
                      big.batch.to(dev))
    cell = layer.cell
    graph = cell.conv_x.subset_graph(ei, part, x.size(0), x.dtype)
    a = cell.conv_x.aggregate_subsets(x, graph)
    T, n = x.size(1), x.size(0)
    a = a.permute(2, 0, 1, 3).reshape(T, n, -1)
    xg = cell.conv_x.lin(a).requires_grad_()
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        out, alpha, _ = layer.recurrence(xg, graph, bvec, 16)
        (out.sum() + alpha.sum()).backward()
        check('no host sync in the AGC-LSTM time loop (fwd + bwd)', True,
              f'(T = {T}, {n} joints)')
    except RuntimeError as e:
        check('no host sync in the AGC-LSTM time loop (fwd + bwd)', False,
              f'({e})')
    finally:
        torch.cuda.set_sync_debug_mode('default')


if __name__ == '__main__':
    if '--agc-on-cpu' in sys.argv:
        check_agc(torch.device('cpu'), sync_check=False)
        print(f'{len(FAILED)} failed')
        sys.exit(1 if FAILED else 0)
    main()
