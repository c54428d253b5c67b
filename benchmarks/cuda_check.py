r"""Checks the engine and the layers on a CUDA device against the CPU, and
that the level loop never synchronises with the host.

    python benchmarks/cuda_check.py

Prints one line per check and exits non-zero if any fails. Timings are in
``benchmarks/tree_lstm.py --device cuda``.
"""
import sys

import torch
from torch_geometric.data import Batch, Data

from tgr.nn import ChildSumTreeLSTM, NAryTreeLSTM
from tgr.schedule import build_schedule, propagate_levels, topological_levels
from tgr.testing import chain, random_dag, random_forest
from tgr.transforms import AddLevels

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
    from tgr.nn.tree_lstm import _child_sum_step
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        out = propagate_levels(_child_sum_step, sched, xw, 64,
                               params=(layer.lin_iou.weight,
                                       layer.lin_f.weight))
        out.sum().backward()
        check('no host sync in level loop (fwd + bwd)', True,
              f'({sched.num_levels} levels)')
    except RuntimeError as e:
        check('no host sync in level loop (fwd + bwd)', False, f'({e})')
    finally:
        torch.cuda.set_sync_debug_mode('default')

    print(f'{len(FAILED)} failed')
    sys.exit(1 if FAILED else 0)


if __name__ == '__main__':
    main()
