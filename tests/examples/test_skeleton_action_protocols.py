r"""``examples/skeleton_action.py``'s protocols: ``--protocol as123`` (three
8-action subsets, each trained and tested, then averaged) on synthetic data
with the two-stream AGC-LSTM, and ``--subject-splits`` with validation by
held-out training subjects on the real MSR Action3D files."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'examples' / 'skeleton_action.py'
MSR = (REPO / '..' / 'shared' / 'data' / 'msr_action3d' /
       'real_world_coordinates').resolve()


def run(args, cwd):
    env = dict(os.environ, TQDM_DISABLE='1', OMP_NUM_THREADS='1',
               CUDA_VISIBLE_DEVICES='', PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(SCRIPT), '--threads', '1'] +
                          args, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_as123_on_synthetic_data(tmp_path):
    out = run(['--dataset', 'synthetic', '--protocol', 'as123', '--model',
               'agclstm-jp', '--synthetic-samples', '100', '--frames', '4',
               '--hidden', '4', '--epochs', '1', '--batch-size', '20'],
              tmp_path)
    # Each subset keeps its 8 of the 20 generated classes (5 training
    # samples each) and is trained on its own:
    for subset in ('AS1', 'AS2', 'AS3'):
        assert re.search(rf'^synthetic {subset} \(SYNTHETIC\): 40 train / '
                         rf'8 val .* / 8 test samples, 8 classes', out,
                         re.M), out
    # Three scores per subset (joint+part, joint, part), then the summary
    # with each subset's accuracy and their average:
    for head in ('joint+part', 'joint', 'part'):
        assert len(re.findall(rf'^synthetic AS\d agclstm-jp \[{re.escape(head)}'
                              rf'\] \(seed 12345\): test accuracy', out,
                              re.M)) == 3
        m = re.search(rf'^synthetic as123 agclstm-jp \[{re.escape(head)}\]: '
                      r'AS1 ([\d.]+), AS2 ([\d.]+), AS3 ([\d.]+); average '
                      r'([\d.]+)$', out, re.M)
        assert m, out
        a, b, c, avg = map(float, m.groups())
        assert abs((a + b + c) / 3 - avg) < 1e-4


def test_subject_splits_and_validation_subjects_on_msr(tmp_path):
    if not MSR.is_dir():
        pytest.skip(f'MSR Action3D folder {MSR} is absent')
    root = tmp_path / 'msr'
    root.mkdir()
    (root / 'raw').symlink_to(MSR, target_is_directory=True)
    out = run(['--dataset', 'msr', '--root', str(root), '--subject-splits',
               '2', '--model', 'agclstm', '--frames', '4', '--hidden', '2',
               '--epochs', '1', '--batch-size', '64'], tmp_path)
    heads = re.findall(r'^msr all20 \(train subjects ([\d,]+)\): (\d+) train '
                       r'/ (\d+) val \(subject (\d+)\) / (\d+) test samples, '
                       r'20 classes', out, re.M)
    assert len(heads) == 2, out
    splits = set()
    for subjects, n_train, n_val, held, n_test in heads:
        subjects = tuple(map(int, subjects.split(',')))
        assert len(subjects) == 5 and int(held) in subjects
        assert int(n_train) + int(n_val) + int(n_test) == 557
        splits.add(subjects)
    assert len(splits) == 2  # distinct combinations
    assert re.search(r'^Summary, msr all20, 2 subject splits', out, re.M)
    assert re.search(r'^msr all20 agclstm: all20 [\d.]+ \+- [\d.]+; '
                     r'average [\d.]+$', out, re.M), out
