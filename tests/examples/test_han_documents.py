r"""``examples/han_documents.py`` on its synthetic corpus: it trains, beats
chance by far, and its attention finds the planted words that carry the
class."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / 'examples' / 'han_documents.py'


def test_synthetic_run_finds_the_planted_words(tmp_path):
    pytest.importorskip('sklearn')
    env = dict(os.environ, TQDM_DISABLE='1', OMP_NUM_THREADS='1',
               CUDA_VISIBLE_DEVICES='', PYTHONWARNINGS='ignore',
               PYTHONPATH=str(REPO))
    cmd = [sys.executable, str(SCRIPT), '--synthetic-docs', '400',
           '--epochs', '10', '--runs', '1', '--lr', '1e-2', '--hidden', '16',
           '--embedding-dim', '32', '--att', '16', '--dropout', '0',
           '--device', 'cpu']
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert 'SYNTHETIC corpus' in out and 'SYNTHETIC data' in out, out
    acc = float(re.search(r'HierarchicalAttentionNetwork: ([\d.]+) \+-',
                          out).group(1))
    assert acc >= 85.0, out
    assert re.search(r'TF-IDF \+ logistic regression: [\d.]+ %', out), out
    assert out.count('top words:') == 3, out
    m = re.search(r'planted word in ([\d.]+) % .* would be: ([\d.]+) %', out)
    hit, chance = float(m.group(1)), float(m.group(2))
    assert hit >= 50.0 and hit >= 5 * chance, out


def test_bad_arguments_are_usage_errors():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(SCRIPT), '--epochs', '0'],
                          env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert 'argument --epochs: expected a positive integer' in proc.stderr
