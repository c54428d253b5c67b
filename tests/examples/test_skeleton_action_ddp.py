r"""``examples/skeleton_action.py`` run data-parallel in two processes
(``torch.distributed.run``, gloo, loopback): both ranks must end with the
same parameters."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'examples' / 'skeleton_action.py'


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _gloo_reason():
    if not dist.is_available():
        return 'torch.distributed is not available in this build'
    if not dist.is_gloo_available():
        return 'the gloo backend is not available in this build'
    return None


@pytest.mark.skipif(_gloo_reason() is not None, reason=str(_gloo_reason()))
@pytest.mark.parametrize('model', ['agclstm', 'plstm'])
def test_two_processes_end_with_identical_parameters(tmp_path, model):
    # PYTHONPATH: the script imports this checkout's tgr, not whichever one
    # is installed.
    env = dict(os.environ, TQDM_DISABLE='1', OMP_NUM_THREADS='1',
               CUDA_VISIBLE_DEVICES='', PYTHONWARNINGS='ignore',
               PYTHONPATH=str(REPO))
    if Path('/sys/class/net/lo').exists():
        env.setdefault('GLOO_SOCKET_IFNAME', 'lo')  # loopback only
    save = tmp_path / 'params_{rank}.pt'
    cmd = [
        sys.executable, '-m', 'torch.distributed.run', '--nnodes=1',
        '--nproc_per_node=2', '--master_addr=127.0.0.1',
        f'--master_port={_free_port()}', str(SCRIPT),
        '--model', model, '--dataset', 'synthetic', '--epochs', '1',
        '--synthetic-samples', '24', '--synthetic-classes', '3',
        '--frames', '8', '--hidden', '8', '--batch-size', '4',
        '--threads', '1', '--seed', '7', '--save', str(save),
    ]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert '2 process(es)' in proc.stdout, out
    assert proc.stdout.count(': test accuracy ') == 1, out  # rank 0 only
    assert proc.stdout.count('test accuracy per class') == 1, out

    states = [torch.load(tmp_path / f'params_{r}.pt') for r in range(2)]
    assert states[0].keys() == states[1].keys() and len(states[0]) > 0
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key
