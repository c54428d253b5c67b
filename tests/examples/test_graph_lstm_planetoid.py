r"""The Graph LSTM node-classification example: its synthetic path runs end
to end, and bad arguments are usage errors (in this process: importing the
script defines its parser and functions, it runs nothing)."""
import importlib.util
import os.path as osp

import pytest

SCRIPT = osp.join(osp.dirname(__file__), '..', '..', 'examples',
                  'graph_lstm_planetoid.py')


@pytest.fixture(scope='module')
def example():
    spec = importlib.util.spec_from_file_location('graph_lstm_planetoid',
                                                  SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_path_runs(example, capsys):
    example.main(['--seeds', '2', '--epochs', '3', '--synthetic-nodes',
                  '120', '--hidden', '8'])
    out = capsys.readouterr().out
    assert 'synthetic planted-partition graph (120 nodes; not a real ' \
        'dataset)' in out
    for row in ('| Graph LSTM | confidence |', '| Graph LSTM | random |',
                '| Graph LSTM | bfs |', '| GCN | - |'):
        assert row in out
    assert ' levels / 120 nodes' in out
    assert 'nan' not in out


def test_orders_of_the_ablation(example):
    # The BFS score visits every component from its lowest node, level by
    # level; the random order is a permutation.
    import torch
    ei = torch.tensor([[0, 1, 0, 2, 3, 4], [1, 0, 2, 0, 4, 3]])
    assert example.bfs_score(ei, 6).tolist() == [0., -1., -2., -3., -4.,
                                                 -5.]
    ei = torch.tensor([[2, 0, 2, 1], [0, 2, 1, 2]])
    assert example.bfs_score(ei, 3).tolist() == [0., -2., -1.]


@pytest.mark.parametrize('args,words', [
    (['--order', 'dfs'], "unknown order 'dfs'"),
    (['--seeds', '0'], 'argument --seeds: expected a positive integer'),
    (['--dropout', '1'], 'argument --dropout: expected a value in [0, 1)'),
    (['--synthetic-nodes', '10'], 'expected at least 40'),
    (['--dataset', 'Cora', '--root', osp.dirname(__file__)],
     'expected the Planetoid raw files of Cora'),
])
def test_bad_arguments_are_usage_errors(example, capsys, args, words):
    with pytest.raises(SystemExit) as exc:
        example.main(args)
    assert exc.value.code == 2
    assert words in capsys.readouterr().err


def test_planetoid_from_the_shared_raw_files(example, shared_data):
    root = shared_data / 'planetoid'
    if not (root / 'Cora' / 'raw').is_dir():
        pytest.skip(f'{root}/Cora/raw is absent')
    data = example.planetoid(str(root), 'Cora')
    assert (data.num_nodes, data.num_features, data.num_classes) == \
        (2708, 1433, 7)
    assert [int(m.sum()) for m in (data.train_mask, data.val_mask,
                                   data.test_mask)] == [140, 500, 1000]
    assert not any((root / 'Cora').glob('processed'))  # nothing written
