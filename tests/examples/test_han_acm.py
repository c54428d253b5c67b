r"""``examples/han_acm.py`` on its synthetic graph, both models, briefly."""
import importlib.util
from pathlib import Path

import pytest

pytest.importorskip('sklearn')
SCRIPT = Path(__file__).resolve().parents[2] / 'examples' / 'han_acm.py'


def test_synthetic_run_prints_both_models(capsys):
    spec = importlib.util.spec_from_file_location('han_acm_example', SCRIPT)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    results = example.main(['--runs', '2', '--epochs', '4', '--patience',
                            '2', '--synthetic-papers', '90',
                            '--knn-repeats', '2', '--threads', '1'])
    out = capsys.readouterr().out
    assert out.startswith('synthetic (synthetic): 90 paper nodes, 3 '
                          'classes, split 18/9/63')
    assert 'tgr.nn.HAN   |' in out and 'PyG HANConv  |' in out
    assert 'KNN (k = 5)' in out
    for kind in ('tgr', 'pyg'):
        assert len(results[kind]) == 2
        for r in results[kind]:
            assert 1 <= r['epoch'] <= r['epochs'] <= 4
            assert 0 <= r['test_macro'] <= 100
            assert abs(float(r['beta'].sum()) - 1) < 1e-5
            assert set(r['knn']) == {0.2, 0.4, 0.6, 0.8}
