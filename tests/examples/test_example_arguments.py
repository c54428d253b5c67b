r"""The examples refuse bad arguments before any work, with argparse's usage
error (exit status 2) naming the argument, and never relabel a model."""
import os
import os.path as osp
import subprocess
import sys

import pytest

EXAMPLES = osp.join(osp.dirname(__file__), '..', '..', 'examples')
# The scripts import this checkout's tgr, not whichever one is installed.
ENV = dict(os.environ,
           PYTHONPATH=osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))


@pytest.mark.parametrize('script,args,words', [
    ('tree_lstm_code.py', ['--models', 'TreeLSTM'], "unknown model 'TreeLSTM'"),
    ('tree_lstm_code.py', ['--epochs', '0'], 'argument --epochs: expected a '
     'positive integer'),
    ('skeleton_action.py', ['--dataset', 'synthetic', '--epochs', '0'],
     'argument --epochs: expected a positive integer'),
    ('skeleton_action.py', ['--dataset', 'synthetic', '--hidden', '1'],
     '--hidden must be at least 2'),
    ('skeleton_action.py', ['--root', __file__], 'is a file; expected the '
     'dataset folder'),
    ('skeleton_action.py', ['--dataset', 'ntu', '--protocol', 'as123'],
     '--protocol as123 is the MSR Action3D protocol'),
    ('skeleton_action.py', ['--dataset', 'synthetic', '--subject-splits',
                            '3'], '--subject-splits needs --dataset msr'),
])
def test_bad_arguments_are_usage_errors(script, args, words):
    proc = subprocess.run([sys.executable, osp.join(EXAMPLES, script)] + args,
                          capture_output=True, text=True, timeout=120,
                          env=ENV)
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr
