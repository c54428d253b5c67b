import os
import re
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Batch

from tgr.datasets import SST
from tgr.io.ptb import parse_ptb_tree

TREES = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data' /
         'sst' / 'trees').resolve()

COUNTS = {
    (False, 'train'): 8544,
    (False, 'dev'): 1101,
    (False, 'test'): 2210,
    (True, 'train'): 6920,
    (True, 'dev'): 872,
    (True, 'test'): 1821,
}

FIRST = ("The Rock is destined to be the 21st Century 's new `` Conan '' and "
         "that he 's going to make a splash even greater than Arnold "
         "Schwarzenegger , Jean-Claud Van Damme or Steven Segal .")

NBSP_TOKEN = '8\xa01\\/2'  # train.txt, line 4342: "(2 8 1\/2)" with U+00A0


def leaves_of(line):
    # Independent reference: the leaves of a PTB line are "(label token)".
    return re.findall(r'\([0-4] ([^()]+)\)', line)


@pytest.fixture(scope='module')
def root(linked_root):
    return linked_root('SST trees', TREES)


@pytest.fixture(scope='module')
def sst(root):
    # Every variant, processed once for the whole module.
    return {key: SST(str(root), split=key[1], binary=key[0]) for key in COUNTS}


@pytest.mark.parametrize('binary,split', list(COUNTS))
def test_sst_counts(sst, binary, split):
    dataset = sst[binary, split]
    assert len(dataset) == COUNTS[binary, split]
    assert dataset.num_classes == (2 if binary else 5)
    assert str(dataset) == f"SST({len(dataset)}, split='{split}', " \
                           f"binary={binary})"


def test_sst_processed_files(sst, root):
    files = sorted(os.listdir(root / 'processed'))
    for split in SST.splits:
        assert f'{split}.pt' in files and f'{split}_binary.pt' in files
    assert not [f for f in files if f.endswith('.tmp')]
    # A second construction loads the processed file, no processing:
    path = root / 'processed' / 'dev.pt'
    mtime = path.stat().st_mtime_ns
    assert len(SST(str(root), split='dev')) == 1101
    assert path.stat().st_mtime_ns == mtime


def test_sst_first_sentence(sst):
    dataset = sst[False, 'train']
    data = dataset[0]
    assert data.num_nodes == 71 and data.edge_index.size(1) == 70
    for key in ('x', 'y', 'level', 'edge_index', 'child_pos'):
        assert data[key].dtype == torch.long
    assert data.root_mask.dtype == torch.bool
    assert data.root_mask.tolist() == [True] + [False] * 70
    assert data.y[0] == 3  # "(3 (2 (2 The) (2 Rock)) (4 ...": pre-order
    assert data.y[:5].tolist() == [3, 2, 2, 2, 4]
    assert data.x[:2].tolist() == [0, 0]  # Internal nodes.
    assert dataset.vocab[int(data.x[2])] == 'The'
    assert dataset.vocab[int(data.x[3])] == 'Rock'
    assert dataset.decode(data) == FIRST
    # Leaves at level 0, the root on the top level:
    assert (data.level[data.x != 0] == 0).all()
    assert data.level[0] == data.level.max()

    binary = sst[True, 'train'][0]  # Root 3 is kept, as positive.
    assert binary.y[:5].tolist() == [1, -1, -1, -1, 1]
    assert torch.equal(binary.x, data.x)


def test_sst_vocab(sst):
    train = sst[False, 'train']
    assert train.vocab[:2] == ['<pad>', '<unk>']
    assert len(train.vocab) == len(set(train.vocab)) == 18282
    assert all(train.word2idx[w] == i for i, w in enumerate(train.vocab))
    for dataset in sst.values():  # One vocabulary for all splits.
        assert dataset.vocab == train.vocab
    # Every train token is known; dev has unknown tokens (id 1):
    batch = Batch.from_data_list(sst[False, 'dev'])
    assert int((batch.x == 1).sum()) > 0
    assert int((Batch.from_data_list(train[:500]).x == 1).sum()) == 0


@pytest.mark.parametrize('split', SST.splits)
def test_sst_leaves_decode_to_the_sentence(sst, split):
    dataset = sst[False, split]
    lines = (TREES / f'{split}.txt').read_text(encoding='utf-8').split('\n')
    lines = [line for line in lines if line]
    assert len(lines) == len(dataset)
    step = 4 if split == 'train' else 3
    for i in range(0, len(dataset), step):
        words = [w if w in dataset.word2idx else '<unk>'
                 for w in leaves_of(lines[i])]
        assert dataset.decode(dataset[i]).split(' ') == words, i


def test_sst_nbsp_token(sst):
    dataset = sst[False, 'train']
    assert NBSP_TOKEN in dataset.word2idx
    assert '8' not in dataset.word2idx or dataset.word2idx['8'] != \
        dataset.word2idx[NBSP_TOKEN]
    data = dataset[4341]  # train.txt line 4342
    assert dataset.decode(data) == ('A mimetic approximation of better films '
                                    'like Contempt and 8\xa01\\/2 .')
    assert data.x.tolist().count(dataset.word2idx[NBSP_TOKEN]) == 1
    # Also in a parse of the line alone:
    _, _, words = parse_ptb_tree('(2 (2 8\xa01\\/2) (2 .))')
    assert words == [None, NBSP_TOKEN, '.']


@pytest.mark.parametrize('binary,split', [(False, 'train'), (True, 'dev')])
def test_sst_valid_binary_trees(sst, binary, split):
    dataset = sst[binary, split]
    batch = Batch.from_data_list(dataset)
    n, (child, parent) = batch.num_nodes, batch.edge_index
    leaf = batch.x != 0

    # One parent per non-root node, no parent at the roots:
    num_parents = torch.bincount(child, minlength=n)
    assert torch.equal(num_parents, (~batch.root_mask).long())
    assert int(batch.root_mask.sum()) == len(dataset)
    assert torch.equal(batch.root_mask.nonzero().view(-1), batch.ptr[:-1])
    # Internal nodes have two children, at positions 0 and 1; leaves none:
    num_children = torch.bincount(parent, minlength=n)
    assert torch.equal(num_children, torch.where(leaf, 0, 2))
    pos_sum = torch.zeros(n, dtype=torch.long).index_add_(
        0, parent, batch.child_pos)
    assert torch.equal(pos_sum, torch.where(leaf, 0, 1))
    # Pre-order: a left child is the node right after its parent.
    assert torch.equal(batch.child_pos == 0, child == parent + 1)
    # Edges stay within a graph; levels fit the edges (leaves at 0, a parent
    # one above its highest child):
    assert torch.equal(batch.batch[child], batch.batch[parent])
    assert (batch.level[leaf] == 0).all()
    top = torch.zeros(n, dtype=torch.long).scatter_reduce_(
        0, parent, batch.level[child], 'amax')
    assert torch.equal(batch.level[~leaf], top[~leaf] + 1)
    # Labels:
    labels = {-1, 0, 1} if binary else {0, 1, 2, 3, 4}
    assert set(batch.y.unique().tolist()) <= labels
    assert (batch.y[batch.root_mask] >= 0).all()


def test_sst_binary_labels_follow_fine_grained(sst):
    for split in SST.splits:
        fine = [d for d in sst[False, split][:2000] if d.y[0] != 2]
        binary = sst[True, split][:len(fine)]
        assert len(fine) == len(binary)
        y = torch.cat([d.y for d in fine])
        expected = torch.where(y < 2, 0, torch.where(y > 2, 1, -1))
        assert torch.equal(torch.cat([d.y for d in binary]), expected)


def test_sst_batch_keeps_child_pos_and_level(sst):
    dataset = sst[False, 'dev']
    data_list = [dataset[i] for i in range(5)]
    batch = Batch.from_data_list(data_list)
    for key in ('child_pos', 'level', 'x', 'y', 'root_mask'):
        assert torch.equal(batch[key], torch.cat([d[key] for d in data_list]))
    offsets = batch.ptr[:-1].repeat_interleave(
        torch.tensor([d.edge_index.size(1) for d in data_list]))
    assert torch.equal(batch.edge_index,
                       torch.cat([d.edge_index for d in data_list], 1) +
                       offsets)
    assert torch.equal(batch.root_mask.nonzero().view(-1), batch.ptr[:-1])


GOOD = '(3 (2 (2 The) (2 Rock)) (4 (2 rocks) (2 .)))'


def test_sst_malformed_file(tmp_path):
    raw = tmp_path / 'raw'
    raw.mkdir()
    (raw / 'train.txt').write_text(f'{GOOD}\n(3 (2 The) (2 Rock)\n{GOOD}\n')
    (raw / 'dev.txt').write_text(GOOD + '\n')
    (raw / 'test.txt').write_text(GOOD + '\n')
    for split in ('train', 'dev'):  # dev needs the vocabulary of train.txt
        with pytest.raises(ValueError, match=r"train\.txt', line 2: 1 "
                           r"unclosed"):
            SST(str(tmp_path), split=split)
    processed = tmp_path / 'processed'
    assert not processed.exists() or os.listdir(processed) == []

    # Fixed, it processes; an error in the dev file names the dev file:
    (raw / 'train.txt').write_text(f'{GOOD}\n{GOOD}\n')
    (raw / 'dev.txt').write_text(f'{GOOD}\n\n(3 (2 a) (9 b))\n')
    assert len(SST(str(tmp_path), split='train')) == 2
    with pytest.raises(ValueError, match=r"dev\.txt', line 3: expected a "
                       r"label"):
        SST(str(tmp_path), split='dev')
    assert sorted(os.listdir(processed)) == ['pre_filter.pt',
                                             'pre_transform.pt', 'train.pt']


def test_sst_missing_raw_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='trainDevTestTrees_PTB.zip'):
        SST(str(tmp_path / 'a'))
    (tmp_path / 'b').mkdir()
    (tmp_path / 'b' / 'raw').symlink_to(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='raw'):
        SST(str(tmp_path / 'b'))


def test_sst_bad_split(tmp_path):
    with pytest.raises(ValueError, match="'SST' expects 'split'"):
        SST(str(tmp_path), split='valid')


def test_sst_pre_filter_and_pre_transform(tmp_path):
    lines = [GOOD, '(1 (0 Bad) (2 .))', '(2 (2 So) (2 so))', GOOD]
    for name in ('a', 'b'):
        (tmp_path / name / 'raw').mkdir(parents=True)
        for split in SST.splits:
            (tmp_path / name / 'raw' / f'{split}.txt').write_text(
                '\n'.join(lines) + '\n')

    def keep(data):
        return int(data.y[0]) != 1

    def mark(data):
        data.mark = data.num_nodes
        return data

    fast = SST(str(tmp_path / 'a'), split='test')  # collates by itself
    slow = SST(str(tmp_path / 'b'), split='test', pre_filter=keep,
               pre_transform=mark)  # one Data per tree, then collate
    assert len(fast) == 4 and len(slow) == 3
    for i, j in [(0, 0), (2, 1), (3, 2)]:
        a, b = fast[i], slow[j]
        assert b.mark == a.num_nodes == b.num_nodes
        assert set(b.keys()) == set(a.keys()) | {'mark'}
        for key, value in a:
            if key != 'num_nodes':
                assert torch.equal(value, b[key]), key
    assert fast.decode(fast[1]) == 'Bad .'
    assert fast.vocab == slow.vocab == ['<pad>', '<unk>', '.', 'Rock',
                                        'The', 'rocks', 'Bad', 'So', 'so']


def test_readers_stay_importable_from_the_dataset_module():
    import tgr.datasets.sst as sst_module
    from tgr.io.ptb import read_ptb_trees
    assert sst_module.parse_tree is parse_ptb_tree
    assert sst_module.read_sst_file is read_ptb_trees


def test_sst_survives_batch(sst, survives_batch):
    survives_batch([sst[False, 'dev'][i] for i in range(4)])
    survives_batch([sst[True, 'test'][i] for i in (0, 5, 7)])
