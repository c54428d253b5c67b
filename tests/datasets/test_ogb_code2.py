import csv
import gzip
import os
import os.path as osp

import pytest
import torch

from tgr.datasets import OGBCode2, from_ogb_code2
from tgr.datasets.ogb_code2 import load_ogb_code2


# ogbg-code2 ##################################################################
def _write_ogb_layout(root, graphs, splits, types, attributes):
    # ogbg-code2 on disk: per-graph node ids, one label string per graph.
    folder = osp.join(root, 'ogbg_code2')

    def write(name, rows):
        path = osp.join(folder, name)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with gzip.open(path, 'wt', newline='') as f:
            csv.writer(f).writerows(rows)

    write('raw/edge.csv.gz',
          [e for g in graphs for e in g.edge_index.t().tolist()])
    write('raw/num-node-list.csv.gz', [[g.num_nodes] for g in graphs])
    write('raw/num-edge-list.csv.gz',
          [[g.edge_index.size(1)] for g in graphs])
    write('raw/node-feat.csv.gz', [r for g in graphs for r in g.x.tolist()])
    for key in ('node_is_attributed', 'node_dfs_order', 'node_depth'):
        write(f'raw/{key}.csv.gz',
              [r for g in graphs for r in g[key].tolist()])
    write('raw/graph-label.csv.gz', [[' '.join(g.y)] for g in graphs])
    for split, idx in splits.items():
        write(f'split/project/{split}.csv.gz', [[i] for i in idx])
    write('mapping/typeidx2type.csv.gz',
          [['type idx', 'type']] + list(enumerate(types)))
    write('mapping/attridx2attr.csv.gz',
          [['attr idx', 'attr']] + list(enumerate(attributes)))
    with open(osp.join(folder, 'RELEASE_v1.txt'), 'w') as f:
        f.write('tiny ogbg-code2 written by the tests\n')


@pytest.fixture(scope='module')
def ogb_root(datasets, tmp_path_factory):
    pytest.importorskip('ogb')
    root = str(tmp_path_factory.mktemp('ogb'))
    graphs, splits = [], {}
    for split in ('train', 'valid', 'test'):
        splits[split] = list(range(len(graphs),
                                   len(graphs) + len(datasets[split])))
        graphs += list(datasets[split])
    train = datasets['train']
    _write_ogb_layout(root, graphs, splits, train.node_types,
                      train.node_attributes)
    return root, graphs, splits


def _assert_same(a, b):
    assert a.y == b.y and a.num_nodes == b.num_nodes
    for key in ('x', 'edge_index', 'node_depth', 'node_is_attributed',
                'node_dfs_order', 'level'):
        assert a[key].dtype == b[key].dtype == torch.long, key
        assert torch.equal(a[key], b[key]), key


def test_ogb_loader_and_converter(ogb_root):
    from ogb.graphproppred import PygGraphPropPredDataset
    root, graphs, splits = ogb_root
    ogb_dataset = load_ogb_code2(root)  # OGB's own class, processed offline
    assert isinstance(ogb_dataset, PygGraphPropPredDataset)
    assert len(ogb_dataset) == len(graphs)
    assert {k: v.tolist() for k, v in ogb_dataset.get_idx_split().items()
            } == splits
    for i, g in enumerate(graphs):
        _assert_same(from_ogb_code2(ogb_dataset[i]), g)


def test_ogb_code2_dataset(ogb_root, datasets):
    root, graphs, splits = ogb_root
    for split, idx in splits.items():
        ds = OGBCode2(root, split, log=False)
        assert len(ds) == len(idx)
        for i, g in zip(idx, ds):
            _assert_same(g, graphs[i])
    assert ds.num_node_types == datasets['train'].num_node_types
    assert ds.num_node_attributes == datasets['train'].num_node_attributes
    assert ds.info['num_graphs'] == {s: len(i) for s, i in splits.items()}


def test_ogb_leftover_folder(tmp_path):
    pytest.importorskip('ogb')
    os.makedirs(tmp_path / 'ogbg_code2' / 'raw')  # a failed download
    with pytest.raises(RuntimeError, match=r"without 'RELEASE_v1.txt'.*"
                       r"rm -r"):
        load_ogb_code2(str(tmp_path))


def test_ogb_download_without_terminal(tmp_path, monkeypatch):
    pytest.importorskip('ogb')
    import ogb.graphproppred.dataset_pyg as dataset_pyg

    def ask(url):  # OGB asks before downloading more than 1 GB
        raise EOFError('EOF when reading a line')

    monkeypatch.setattr(dataset_pyg, 'decide_download', ask)
    with pytest.raises(RuntimeError, match='no terminal.*code2.zip'):
        load_ogb_code2(str(tmp_path))
    assert not osp.exists(tmp_path / 'ogbg_code2')  # nothing left behind


def test_ogb_code2_survives_batch(ogb_root, survives_batch):
    survives_batch(list(OGBCode2(ogb_root[0], 'train', log=False)))
