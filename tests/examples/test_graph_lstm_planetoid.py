r"""The Graph LSTM node-classification example: its synthetic path runs end
to end, and bad arguments are usage errors."""
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.join(osp.dirname(__file__), '..', '..')
SCRIPT = osp.join(REPO, 'examples', 'graph_lstm_planetoid.py')


def _run(args):
    env = dict(os.environ, PYTHONPATH=osp.abspath(REPO), TQDM_DISABLE='1')
    return subprocess.run([sys.executable, SCRIPT] + args, env=env,
                          capture_output=True, text=True, timeout=300)


def test_synthetic_path_runs():
    proc = _run(['--seeds', '2', '--epochs', '3', '--synthetic-nodes',
                 '120', '--hidden', '8'])
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert 'synthetic planted-partition graph (120 nodes; not a real ' \
        'dataset)' in out
    for row in ('| Graph LSTM | confidence |', '| Graph LSTM | random |',
                '| Graph LSTM | bfs |', '| GCN | - |'):
        assert row in out
    assert ' levels / 120 nodes' in out


@pytest.mark.parametrize('args,words', [
    (['--order', 'dfs'], "unknown order 'dfs'"),
    (['--seeds', '0'], 'argument --seeds: expected a positive integer'),
    (['--dropout', '1'], 'argument --dropout: expected a value in [0, 1)'),
    (['--dataset', 'Cora', '--root', osp.dirname(__file__)],
     'expected the Planetoid raw files of Cora'),
])
def test_bad_arguments_are_usage_errors(args, words):
    proc = _run(args)
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr
