import os
from collections import Counter
from pathlib import Path

import pytest
import torch
from torch_geometric.loader import DataLoader

from tgr.datasets import BBCNews, DocumentData
from tgr.datasets.bbc_news import bbc_split
from tgr.io.bbc import CLASSES, read_bbc

BBC = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data' /
       'bbc').resolve()
CLASS_COUNTS = {'business': 510, 'entertainment': 386, 'politics': 417,
                'sport': 511, 'tech': 401}


@pytest.fixture(scope='module')
def bbc(linked_root):
    root = linked_root('bbc', BBC)
    return {split: BBCNews(str(root), split, log=False)
            for split in BBCNews.splits}


def test_real_files_articles_and_class_counts(bbc):
    assert [len(bbc[s]) for s in BBCNews.splits] == [1558, 223, 444]
    total = Counter()
    for split, ds in bbc.items():
        counts = Counter(ds.y.tolist())
        total.update(counts)
        n = {c: CLASS_COUNTS[c] for c in CLASSES}
        for k, c in enumerate(CLASSES):  # stratified: 70 / 10 / 20 %
            share = {'train': 0.7, 'val': 0.1, 'test': 0.2}[split]
            assert abs(counts[k] - share * n[c]) <= 1, (split, c)
    assert sum(total.values()) == 2225
    assert {CLASSES[k]: v for k, v in total.items()} == CLASS_COUNTS
    names = [n for ds in bbc.values() for n in ds.names]
    assert len(set(names)) == 2225
    for ds in bbc.values():  # the label follows the folder
        assert [CLASSES[int(y)] for y in ds.y] == [
            n.split('/')[0] for n in ds.names]


def test_real_latin1_file_is_read(bbc):
    for ds in bbc.values():
        if 'sport/199.txt' in ds.names:
            doc = ds[ds.names.index('sport/199.txt')]
            sentences = ds.decode(doc)
            assert sentences[0] == ['chelsea', 'sack', 'mutu']
            assert '\u00a3' in [w for s in sentences for w in s]
            return
    pytest.fail('sport/199.txt is in no split')


def test_documents_vocabulary_and_split_are_fixed(bbc):
    train = bbc['train']
    doc = train[0]
    assert isinstance(doc, DocumentData)
    assert doc.token.numel() == doc.token_sentence.numel() == doc.num_nodes
    assert doc.sentence_document.tolist() == [0] * doc.num_sentences
    assert bool((doc.token_sentence[1:] >= doc.token_sentence[:-1]).all())
    vocab = train.vocab
    assert vocab[:2] == ['<pad>', '<unk>'] and len(set(vocab)) == len(vocab)
    assert all(ds.vocab == vocab for ds in bbc.values())
    # Every vocabulary word is seen >= 2 times in train, in order of count:
    count = torch.bincount(train.token, minlength=len(vocab))[2:]
    assert bool((count >= 2).all())
    assert bool((count[1:] <= count[:-1]).all())
    # Tokens seen in val/test only are <unk>:
    assert int((bbc['test'].token == 1).sum()) > 0
    assert int((bbc['train'].token == 0).sum()) == 0  # no <pad>
    # The split does not depend on the order of the names:
    names = [n for ds in bbc.values() for n in ds.names]
    split_of = bbc_split(names)
    assert split_of == bbc_split(sorted(names, reverse=True))
    assert all(split_of[n] == s for s, ds in bbc.items() for n in ds.names)


def test_loader_batches_documents(bbc):
    batch = next(iter(DataLoader(bbc['val'], batch_size=4)))
    sizes = [bbc['val'][i].num_sentences for i in range(4)]
    assert batch.num_graphs == 4
    assert batch.sentence_document.tolist() == [
        d for d, n in enumerate(sizes) for _ in range(n)]
    assert int(batch.token_sentence.max()) == sum(sizes) - 1


def test_processed_files_load_without_raw(bbc, tmp_path):
    # The processed files alone suffice (and load under weights_only).
    root = tmp_path / 'copy'
    os.makedirs(root / 'processed')
    src = os.path.join(bbc['val'].root, 'processed')
    for f in os.listdir(src):
        os.link(os.path.join(src, f), root / 'processed' / f)
    ds = BBCNews(str(root), 'val', log=False)
    assert len(ds) == 223 and ds.vocab == bbc['val'].vocab
    assert torch.equal(ds[5].token, bbc['val'][5].token)


def _toy_folder(path):
    for k, c in enumerate(CLASSES):
        for i in range(10):
            text = f'{c} news\n\nThe {c} word{i} here. Shared words.'
            (path / c).mkdir(parents=True, exist_ok=True)
            (path / c / f'{i:03d}.txt').write_bytes(
                text.encode('latin-1' if i == 3 else 'utf-8'))


def test_min_count_and_split_on_a_toy_folder(tmp_path):
    _toy_folder(tmp_path / 'raw')
    ds = BBCNews(str(tmp_path), 'train', min_count=1, log=False)
    assert len(ds) == 5 * 7  # round(0.7 * 10) per class
    assert len(BBCNews(str(tmp_path), 'val', min_count=1, log=False)) == 5
    assert len(BBCNews(str(tmp_path), 'test', min_count=1, log=False)) == 10
    strict = BBCNews(str(tmp_path), 'train', min_count=8, log=False)
    # 'the', 'here', 'shared', 'words', 'news' appear 35 times; a class name
    # 2 x 7 = 14 times; each word{i} at most 5 times:
    assert set(strict.vocab[2:]) == {'the', 'here', 'shared', 'words',
                                     'news'} | set(CLASSES)
    assert all(w in ds.vocab for w in strict.vocab)
    assert str(strict) == "BBCNews(35, split='train')"
    assert len(read_bbc(str(tmp_path / 'raw'))) == 50


def test_bad_arguments_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="'BBCNews' expects 'split'"):
        BBCNews(str(tmp_path), 'dev')
    with pytest.raises(ValueError, match="'BBCNews' expects 'min_count'"):
        BBCNews(str(tmp_path), min_count=0)
    with pytest.raises(FileNotFoundError, match=r"'BBCNews' needs 'business'"
                       r".*mlg.ucd.ie"):
        BBCNews(str(tmp_path), log=False)
