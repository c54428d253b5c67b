import os
from pathlib import Path

import pytest
import torch

from tgr.datasets import ACM3025

RAW = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data' /
       'acm_han').resolve()


@pytest.fixture(scope='module')
def root(linked_root):
    return linked_root('ACM3025', RAW)


def test_real_file(root):
    dataset = ACM3025(str(root), log=False)
    assert len(dataset) == 1 and str(dataset) == (
        "ACM3025(metapaths=['PAP', 'PLP'])")
    data = dataset[0]
    assert data.node_types == ['paper']
    assert data.edge_types == [('paper', 'PAP', 'paper'),
                               ('paper', 'PLP', 'paper')]
    paper = data['paper']
    assert paper.num_nodes == 3025 and paper.x.shape == (3025, 1870)
    assert paper.train_mask.dtype == torch.bool
    assert [int(paper[f'{s}_mask'].sum()) for s in ('train', 'val', 'test')
            ] == [600, 300, 2125]
    assert data['paper', 'PAP', 'paper'].edge_index.size(1) == 29281
    assert os.listdir(root / 'processed').count('data_PAP_PLP.pt') == 1


def test_other_metapaths_and_errors(root, tmp_path):
    data = ACM3025(str(root), metapaths=['PMP'], log=False)[0]
    assert data.edge_types == [('paper', 'PMP', 'paper')]
    assert data['paper', 'PMP', 'paper'].edge_index.size(1) == 2221699
    with pytest.raises(ValueError, match="'ACM3025' expects 'metapaths' to "
                       "be one of"):
        ACM3025(str(root), metapaths=['PAP', 'PVP'])
    with pytest.raises(ValueError, match="distinct 'metapaths'"):
        ACM3025(str(root), metapaths=['PAP', 'PAP'])
    with pytest.raises(FileNotFoundError, match="'ACM3025' needs "
                       "'ACM3025.mat'.*cannot be downloaded.*Jhy1993/HAN"):
        ACM3025(str(tmp_path), log=False)
