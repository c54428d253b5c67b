import pytest
import torch
from torch_geometric.data import Batch

from tgr.datasets import SyntheticRedditThreads
from tgr.datasets.comment_threads import score_to_level


def test_synthetic_splits_and_structure():
    data = {s: SyntheticRedditThreads(num_threads=60, split=s, seed=1)
            for s in SyntheticRedditThreads.splits}
    assert [len(data[s]) for s in data] == [42, 9, 9]
    links = [set(d.link_id for d in data[s]) for s in data]
    assert not (links[0] & links[1] or links[0] & links[2] or
                links[1] & links[2])
    starts = {s: [int(d.time[0]) for d in data[s]] for s in data}
    assert max(starts['train']) < min(starts['val'])
    assert max(starts['val']) < min(starts['test'])
    edges = data['train'].bin_edges
    assert len(edges) == 7 and data['test'].bin_edges == edges

    batch = Batch.from_data_list(list(data['train']) + list(data['test']))
    parent, child = batch.edge_index
    n = batch.num_nodes
    assert torch.equal(torch.bincount(child, minlength=n),
                       (~batch.root_mask).long())
    assert (parent < child).all() and (batch.time[child] >=
                                       batch.time[parent]).all()
    assert not batch.orphan.any()
    assert (batch.y[batch.root_mask] == -1).all()
    assert torch.equal(batch.y[~batch.root_mask], score_to_level(
        batch.score[~batch.root_mask], edges))
    assert batch.x.size(1) == 1024 + 7
    # Popularity follows the tree: comments with many descendants score
    # higher (which a model that sees the tree can use).
    desc = torch.zeros(n)
    for p, c in zip(parent.flip(0).tolist(), child.flip(0).tolist()):
        desc[p] += desc[c] + 1
    m = ~batch.root_mask
    assert batch.score[m][desc[m] >= 3].float().mean() > \
        batch.score[m][desc[m] == 0].float().mean() + 3


def test_synthetic_bad_arguments():
    with pytest.raises(ValueError, match="'SyntheticRedditThreads' expects "
                       "'split'"):
        SyntheticRedditThreads(split='dev')
    with pytest.raises(ValueError, match="'num_threads' >= 3"):
        SyntheticRedditThreads(num_threads=2)


def test_synthetic_survives_batch(survives_batch):
    data = SyntheticRedditThreads(num_threads=20, num_features=8, seed=2)
    survives_batch([data[i] for i in range(5)])
