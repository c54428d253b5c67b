import os
import shutil
import subprocess
import sys

import pytest
import torch
from torch.utils import cpp_extension

from tgr.nn import ChildSumTreeLSTM
from tgr.nn._fused import fused_cpu, fused_cpu_available, set_fused_cpu
from tgr.schedule import build_schedule
from tgr.testing import chain, random_dag, random_forest

CAN_BUILD = (torch.backends.cpu.get_cpu_capability() in ('AVX2', 'AVX512')
             and shutil.which(os.environ.get('CXX', 'c++')) is not None
             and cpp_extension.is_ninja_available()
             and os.environ.get('TGR_FUSED_CPU', '1') != '0')


def test_kernels_build_where_they_can():
    # Where the CPU has AVX2 and a compiler exists (this machine, CI), the
    # kernels must build: a silent fallback would hide a broken build.
    if not CAN_BUILD:
        pytest.skip('no AVX2, C++ compiler or ninja: the ATen path is used')
    assert fused_cpu_available()
    assert fused_cpu(torch.zeros(1)) is not None
    assert fused_cpu(torch.zeros(1, dtype=torch.float64)) is not None
    assert fused_cpu(torch.zeros(1, dtype=torch.bfloat16)) is None


def test_environment_variable_turns_them_off():
    code = ('from tgr.nn._fused import fused_cpu_available as f; '
            'import torch; from tgr.nn import ChildSumTreeLSTM; '
            'ChildSumTreeLSTM(2, 3)(torch.randn(3, 2), '
            'torch.tensor([[0, 1], [2, 2]])); print(f())')
    env = dict(os.environ, TGR_FUSED_CPU='0')
    out = subprocess.run([sys.executable, '-c', code], env=env, check=True,
                         capture_output=True, text=True)
    assert out.stdout.strip() == 'False'


def _mixed_forest():
    # Random trees (levels of every width and fan-in), two chains side by
    # side (a run of one-to-one levels) and an isolated node.
    parts = [(random_forest(40, num_trees=4, seed=5), 40), (chain(9), 9),
             (chain(9), 9), (torch.empty(2, 0, dtype=torch.long), 1)]
    edges, offset = [], 0
    for e, n in parts:
        edges.append(e + offset)
        offset += n
    return torch.cat(edges, dim=1), offset


def _run(layer, x, edge_index, fused):
    before = set_fused_cpu(fused)
    try:
        x = x.detach().requires_grad_()
        layer.zero_grad(set_to_none=True)
        h, c = layer(x, edge_index)
        w = torch.linspace(-1, 1, h.numel(), dtype=h.dtype).view(h.shape)
        ((h * w).sum() + (c * w.flip(0)).sum()).backward()
        grads = [x.grad] + [p.grad for p in layer.parameters()]
        return [h.detach(), c.detach()] + grads
    finally:
        set_fused_cpu(before)


@pytest.mark.skipif(not CAN_BUILD, reason='fused kernels unavailable here')
@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-12),
                                       (torch.float32, 2e-5)])
@pytest.mark.parametrize('aggr', ['add', 'mean'])
@pytest.mark.parametrize('graph', ['forest', 'dag'])
def test_fused_and_aten_paths_agree(dtype, tol, aggr, graph):
    # The fused kernels and the ATen path compute the same values and
    # gradients (float32 differs only by the kernels' exp, within 20 ulp).
    torch.manual_seed(0)
    if graph == 'forest':
        edge_index, n = _mixed_forest()
    else:
        edge_index, n = random_dag(30, 70, seed=2), 30
    assert graph == 'dag' or build_schedule(edge_index, n).runs()
    layer = ChildSumTreeLSTM(5, 7, aggr=aggr).to(dtype)
    x = torch.randn(n, 5, dtype=dtype)
    fused = _run(layer, x, edge_index, True)
    aten = _run(layer, x, edge_index, False)
    for a, b in zip(fused, aten):
        assert torch.allclose(a, b, atol=tol, rtol=tol), (a - b).abs().max()


@pytest.mark.skipif(not CAN_BUILD, reason='fused kernels unavailable here')
def test_fused_kernels_with_a_width_off_the_vector_size():
    # d = 13 exercises the vector loop and the scalar tail of every kernel
    # (chains: the run kernels; a tree: the level kernels).
    torch.manual_seed(1)
    edge_index, n = _mixed_forest()
    layer = ChildSumTreeLSTM(3, 13).double()
    x = torch.randn(n, 3, dtype=torch.double)
    for a, b in zip(_run(layer, x, edge_index, True),
                    _run(layer, x, edge_index, False)):
        assert torch.allclose(a, b, atol=1e-12)


@pytest.mark.skipif(not CAN_BUILD, reason='fused kernels unavailable here')
def test_fused_kernels_check_their_arguments():
    kernels = fused_cpu(torch.zeros(1))
    x = torch.zeros(4, 3)
    with pytest.raises(RuntimeError, match="'c' must be"):
        kernels.cell_forward(x, x, x, None, None, None, x, torch.zeros(3, 3),
                             None)
    with pytest.raises(RuntimeError, match='wrong dtype'):
        kernels.forget_forward(x, x.double(), x)


def _agc_run(layer, x, args, state, fused):
    before = set_fused_cpu(fused)
    try:
        x = x.detach().requires_grad_()
        state = None if state is None else \
            tuple(s.detach().requires_grad_() for s in state)
        out, alpha, (h, c) = layer(x, *args, state=state)
        torch.manual_seed(3)
        loss = sum((t * torch.randn_like(t)).sum() for t in (out, alpha, h, c))
        inputs = [x] + (list(state) if state else []) + \
            list(layer.parameters())
        return [out, alpha, h, c] + list(torch.autograd.grad(loss, inputs))
    finally:
        set_fused_cpu(before)


@pytest.mark.skipif(not CAN_BUILD, reason='fused kernels unavailable here')
@pytest.mark.parametrize('with_state', [False, True])
def test_agc_lstm_fused_and_aten_paths_agree(with_state):
    from tgr.nn import AGCLSTM, skeleton_partition
    from tgr.testing import random_skeleton
    data = random_skeleton(14, T=5, C=3, seed=4)
    part = skeleton_partition(data.edge_index, data.center)
    torch.manual_seed(0)
    layer = AGCLSTM(3, 11, att_channels=5).double()
    state = (torch.randn(14, 11, dtype=torch.double),
             torch.randn(14, 11, dtype=torch.double)) if with_state else None
    args = (data.edge_index, part, None)
    for a, b in zip(_agc_run(layer, data.x, args, state, True),
                    _agc_run(layer, data.x, args, state, False)):
        assert torch.allclose(a, b, atol=1e-12), (a - b).abs().max()


@pytest.mark.skipif(not CAN_BUILD, reason='fused kernels unavailable here')
def test_graph_structured_lstm_fused_and_aten_paths_agree():
    from tgr.nn import GraphStructuredLSTM
    torch.manual_seed(0)
    edge_index, n = _mixed_forest()
    edge_index = edge_index.flip(0)  # reply edges: parent -> child
    time = torch.randperm(n).double()
    layer = GraphStructuredLSTM(4, 9).double()
    with torch.no_grad():  # learned initial states, not zeros
        layer.init_state.normal_()
    x = torch.randn(n, 4, dtype=torch.double)
    results = []
    for fused in (True, False):
        before = set_fused_cpu(fused)
        try:
            xg = x.clone().requires_grad_()
            h, c = layer(xg, edge_index, time=time, return_cell=True)
            loss = (h * torch.linspace(-1, 1, h.numel()).view(h.shape)).sum() \
                + c.square().sum()
            results.append([h, c] + list(torch.autograd.grad(
                loss, [xg] + list(layer.parameters()))))
        finally:
            set_fused_cpu(before)
    for a, b in zip(*results):
        assert torch.allclose(a, b, atol=1e-12), (a - b).abs().max()


@pytest.mark.parametrize('fused', [True, False])
def test_non_finite_inputs_propagate(fused):
    # A NaN feature reaches its node and every ancestor, on both paths (the
    # kernels' exponential must not turn it into a saturated gate); an
    # infinite pre-activation saturates the gates as torch.sigmoid does.
    if fused and not CAN_BUILD:
        pytest.skip('fused kernels unavailable here')
    edge_index = torch.tensor([[1, 2, 3], [0, 0, 1]])  # 3 -> 1 -> 0 <- 2
    layer = ChildSumTreeLSTM(2, 20)  # 20: vector loop and scalar tail
    x = torch.randn(4, 2)
    x[3, 0] = float('nan')
    before = set_fused_cpu(fused)
    try:
        h, c = layer(x, edge_index)
        x[3, 0] = float('inf')
        h_inf, _ = layer(x, edge_index)
    finally:
        set_fused_cpu(before)
    assert h[[0, 1, 3]].isnan().all() and c[[0, 1, 3]].isnan().all()
    assert not h[2].isnan().any()
    assert not h_inf[2].isnan().any()


@pytest.mark.skipif(not CAN_BUILD, reason='fused kernels unavailable here')
def test_fused_kernels_with_several_threads():
    # Levels and runs of more than one block of rows (64) are split over
    # threads by the kernels: the same values as the ATen path.
    torch.manual_seed(2)
    parts = [(random_forest(600, num_trees=5, seed=3), 600)] + \
        [(chain(30), 30)] * 100
    edges, offset = [], 0
    for e, n in parts:
        edges.append(e + offset)
        offset += n
    edge_index = torch.cat(edges, dim=1)
    layer = ChildSumTreeLSTM(4, 9).double()
    x = torch.randn(offset, 4, dtype=torch.double)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        fused = _run(layer, x, edge_index, True)
        aten = _run(layer, x, edge_index, False)
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(fused, aten):
        assert torch.allclose(a, b, atol=1e-12)


@pytest.mark.skipif(not CAN_BUILD, reason='fused kernels unavailable here')
def test_graph_lstm_fused_and_aten_paths_agree():
    from torch_geometric.utils import to_undirected

    from tgr.nn import GraphLSTM
    torch.manual_seed(0)
    n = 40
    edge_index = to_undirected(random_dag(n, 90, seed=5), num_nodes=n)
    confidence = torch.rand(n, dtype=torch.double)
    layer = GraphLSTM(3, 13).double()  # 13: vector loop and scalar tail
    x = torch.randn(n, 3, dtype=torch.double)
    state = (torch.randn(n, 13, dtype=torch.double),
             torch.randn(n, 13, dtype=torch.double))
    results = []
    for fused in (True, False):
        before = set_fused_cpu(fused)
        try:
            xs = [x.clone().requires_grad_()] + \
                [s.clone().requires_grad_() for s in state]
            h, m = layer(xs[0], edge_index, confidence, tuple(xs[1:]))
            loss = (h * torch.linspace(-1, 1, h.numel(), dtype=h.dtype)
                    .view(h.shape)).sum() + m.square().sum()
            results.append([h, m] + list(torch.autograd.grad(
                loss, xs + list(layer.parameters()))))
        finally:
            set_fused_cpu(before)
    for a, b in zip(*results):
        assert torch.allclose(a, b, atol=1e-12), (a - b).abs().max()


def test_a_failed_build_falls_back(monkeypatch, tmp_path):
    # No compiler, no ninja, a broken build: no exception reaches the layer,
    # the reason is kept, and a stale lock of a killed build is removed.
    from tgr.nn import _fused
    monkeypatch.setenv('TGR_FUSED_CPU', '1')
    monkeypatch.setattr(torch.backends.cpu, 'get_cpu_capability',
                        lambda: 'AVX2')
    monkeypatch.setattr(cpp_extension, '_get_build_directory',
                        lambda name, verbose: str(tmp_path))
    lock = tmp_path / 'lock'
    lock.write_text('')
    os.utime(lock, (0, 0))  # older than any build

    def broken(**kwargs):
        raise RuntimeError('Ninja is required to load C++ extensions')
    monkeypatch.setattr(cpp_extension, 'load', broken)
    module, why = _fused._build()
    assert module is None and not lock.exists()
    assert why == ('the build failed: RuntimeError: Ninja is required to '
                   'load C++ extensions')
    monkeypatch.setattr(cpp_extension, '_get_build_directory', None)
    assert _fused._build()[0] is None  # the private helper gone: no crash
    monkeypatch.setattr(torch.backends.cpu, 'get_cpu_capability',
                        lambda: 'DEFAULT')
    assert _fused._build() == (None, 'CPU capability DEFAULT (needs AVX2 or '
                               'AVX512)')
