import gzip
import json
import math
import os
import zlib
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Batch

from tgr.datasets import RedditThreads, SyntheticRedditThreads
from tgr.datasets.comment_threads import (FEATURE_NAMES, LEAKY_FIELDS,
                                          fit_level_edges, score_to_level)

DUMPS = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data' /
         'reddit_pushshift').resolve()

F = 16  # A narrow bag of words for the small hand-written files.

JAN_2006 = 1136073600  # 2006-01-01 00:00:00 UTC


def comment(cid, parent, link, t, score=1, author='a', body='text', **extra):
    out = dict(id=cid, parent_id=parent, link_id=link, created_utc=t,
               score=score, ups=score, controversiality=0, gilded=0,
               author=author, body=body, subreddit='reddit.com')
    out.update(extra)
    return out


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text('\n'.join(lines) + '\n', encoding='utf-8')


# Thread 't3_a': c1 and c5 come at the same second (ordered by id), c4
# replies to a comment absent from the file, c3 is bob replying to himself.
# Thread 't3_b': ids 'z' < '10' as base-36 numbers. Thread 't3_c': a reply
# to another submission (an orphan too).
TINY = [
    comment('c1', 't3_a', 't3_a', 100, 5, 'alice', 'Hello world, hello!'),
    comment('c2', 't1_c1', 't3_a', 160, 2, 'bob', 'hi alice'),
    comment('c3', 't1_c2', 't3_a', 200, 7, 'bob', 'me again'),
    comment('c4', 't1_zz', 't3_a', 150, 0, '[deleted]', '[deleted]'),
    comment('c5', 't3_a', 't3_a', 100, -3, 'carol', 'first'),
    comment('10', 't1_z', 't3_b', 50, 1, 'dave', 'reply'),
    comment('z', 't3_b', 't3_b', 50, 3, 'erin', 'top'),
    comment('c9', 't3_q', 't3_c', 300, 4, 'fred', 'lost'),
]


@pytest.fixture
def tiny(tmp_path):
    write_jsonl(tmp_path / 'raw' / 'tiny.jsonl', TINY)
    return tmp_path


def many_threads(num_threads, seed=0, start=1000):
    # A simple file of `num_threads` threads of 1-4 comments, starting one
    # minute apart, with scores in 0..9.
    gen = torch.Generator().manual_seed(seed)
    rows, cid = [], 100
    for t in range(num_threads):
        link = f't3_t{t}'
        size = int(torch.randint(1, 5, (1,), generator=gen))
        ids = []
        for k in range(size):
            parent = link if k == 0 else f't1_{ids[-1]}'
            ids.append(f'k{cid}')
            cid += 1
            score = int(torch.randint(0, 10, (1,), generator=gen))
            rows.append(comment(ids[-1], parent, link, start + 60 * t + k,
                                score, f'u{k}', f'word{k} thread {t}'))
    return rows


# Real dumps ##################################################################


@pytest.fixture(scope='module')
def real(linked_root):
    pytest.importorskip('zstandard')
    root = linked_root('Pushshift dumps', DUMPS)
    return {split: RedditThreads(str(root), split=split)
            for split in RedditThreads.splits}


def test_reddit_real_counts(real):
    info = real['train'].info
    assert info['per_file'] == {
        'RC_2005-12.zst': dict(lines=1075, comments=1075, threads=396,
                               skipped=0),
        'RC_2006-01.zst': dict(lines=3666, comments=3666, threads=1173,
                               skipped=0),
    }
    # 33 threads of December go on in January: one Data per link_id.
    assert info['comments'] == 4741 and info['threads'] == 1536
    assert info['orphans'] == 49 and info['skipped'] == 0
    assert info['deleted'] == 648  # '[deleted]' / '[removed]' bodies
    assert len(real['train']) + len(real['val']) == 396
    assert (len(real['train']), len(real['val']), len(real['test'])) == \
        (337, 59, 1140)
    assert sum(d.num_nodes - 1 for s in real.values() for d in s) == 4741
    assert len(info['bin_edges']) == 7
    assert str(real['val']) == "RedditThreads(59, split='val')"
    assert real['train'].num_classes == 8
    for split, dataset in real.items():
        assert dataset.info == info  # One processing, every split.
        counts = info['splits'][split]['level_counts']
        assert len(counts) == 8 and min(counts) > 0
        assert info['splits'][split]['comments'] == \
            sum(d.num_nodes - 1 for d in dataset)
        assert sum(counts) == info['splits'][split]['labelled'] == \
            sum(int((d.y >= 0).sum()) for d in dataset)


def test_reddit_real_single_file(tmp_path):
    if not DUMPS.is_dir():
        pytest.skip(f'Pushshift dumps folder {DUMPS} is absent')
    pytest.importorskip('zstandard')
    (tmp_path / 'raw').symlink_to(DUMPS, target_is_directory=True)
    dataset = RedditThreads(str(tmp_path), files=['RC_2005-12.zst'],
                            split='test')
    info = dataset.info
    assert (info['comments'], info['threads'], info['orphans']) == \
        (1075, 396, 15)
    assert [info['splits'][s]['threads'] for s in RedditThreads.splits] == \
        [277, 60, 59]  # 70 / 15 / 15 in time order


def test_reddit_real_structure(real):
    for split, dataset in real.items():
        batch = Batch.from_data_list(dataset)
        n = batch.num_nodes
        parent, child = batch.edge_index
        # A tree per thread: every non-root node has one parent, edge e of a
        # thread enters node e + 1; parents come before children here.
        assert torch.equal(torch.bincount(child, minlength=n),
                           (~batch.root_mask).long())
        assert torch.equal(batch.root_mask.nonzero().view(-1),
                           batch.ptr[:-1])
        assert torch.equal(batch.batch[parent], batch.batch[child])
        assert torch.equal(batch.depth[child], batch.depth[parent] + 1)
        assert (batch.depth[batch.root_mask] == 0).all()
        orphan = batch.orphan[child]  # Orphans hang from their root:
        assert torch.equal(parent[orphan],
                           batch.ptr[batch.batch[child]][orphan])
        assert not batch.orphan[batch.root_mask].any()
        # Nodes in time order; the root at its first comment's time:
        same = batch.batch[1:] == batch.batch[:-1]
        assert (batch.time[1:][same] >= batch.time[:-1][same]).all()
        roots = batch.ptr[:-1]
        assert torch.equal(batch.time[roots], batch.time[roots + 1])
        assert (batch.time[child] >= batch.time[parent]).all()
        # Labels, from the stored bin edges; none at deleted comments,
        # whose text is unknown:
        y, deleted = batch.y, batch.deleted
        labelled = ~batch.root_mask & ~deleted
        assert (y[batch.root_mask | deleted] == -1).all()
        assert torch.equal(y[labelled], score_to_level(
            batch.score[labelled], dataset.bin_edges))
        assert deleted.any() and not deleted[batch.root_mask].any()
        assert (batch.x[deleted, :1024] == 0).all()
        assert (batch.x[deleted, -1] == 0).all()  # body length
        assert batch.x.shape == (n, 1024 + 7)
        assert dataset.num_features == 1024 + 7
        assert len(batch.comment_id) == len(dataset)


def test_reddit_real_split_by_time(real):
    starts = {split: torch.stack([d.time[0] for d in dataset])
              for split, dataset in real.items()}
    assert starts['train'].max() <= starts['val'].min()
    assert starts['val'].max() <= starts['test'].min()
    assert starts['val'].max() < JAN_2006 <= starts['test'].min()
    # Bins fitted on the training comments only:
    train = Batch.from_data_list(real['train'])
    scores = train.score[~train.root_mask].tolist()
    assert real['train'].bin_edges == fit_level_edges(scores, 8)
    assert real['train'].bin_edges == [0, 1, 2, 3, 4, 5, 7]


# Hand-written files ##########################################################


def test_reddit_tiny_threads(tiny):
    dataset = RedditThreads(str(tiny), files=['tiny.jsonl'],
                            num_features=F)
    info = dataset.info
    assert (info['comments'], info['threads'], info['orphans']) == (8, 3, 2)
    assert len(dataset) == 2  # 't3_b' (t = 50), 't3_a' (t = 100)
    b, a = dataset[0], dataset[1]

    assert b.link_id == 't3_b' and b.comment_id == ['t3_b', 'z', '10']
    assert b.edge_index.tolist() == [[0, 1], [1, 2]]

    assert a.link_id == 't3_a'
    assert a.comment_id == ['t3_a', 'c1', 'c5', 'c4', 'c2', 'c3']
    assert a.edge_index.tolist() == [[0, 0, 0, 1, 4], [1, 2, 3, 4, 5]]
    assert a.orphan.tolist() == [False, False, False, True, False, False]
    assert a.root_mask.tolist() == [True] + [False] * 5
    assert a.time.tolist() == [100, 100, 100, 150, 160, 200]
    assert a.depth.tolist() == [0, 1, 1, 1, 2, 3]
    assert a.score.tolist() == [0, 5, -3, 0, 2, 7]
    assert a.deleted.tolist() == [False, False, False, True, False, False]
    assert a.y[0] == a.y[3] == -1  # the root, the deleted comment
    assert (a.y[[1, 2, 4, 5]] >= 0).all()

    s = a.x[:, F:]
    assert s.size(1) == len(FEATURE_NAMES) == 7
    assert s[0].tolist() == [1, 0, 0, 0, 0, 0, 0]
    assert s[:, 0].tolist() == [1, 0, 0, 0, 0, 0]
    assert torch.allclose(s[:, 1], torch.tensor([0, 1, 1, 1, 2, 3.]).log1p())
    assert torch.allclose(s[:, 2],  # since the first comment
                          torch.tensor([0, 0, 0, 50, 60, 100.]).log1p())
    assert torch.allclose(s[:, 3],  # since the parent
                          torch.tensor([0, 0, 0, 50, 60, 40.]).log1p())
    assert torch.allclose(s[:, 4],  # earlier siblings
                          torch.tensor([0, 0, 1, 2, 0, 0.]).log1p())
    assert s[:, 5].tolist() == [0, 0, 0, 0, 0, 1]  # bob replies to bob
    lengths = [0] + [len(c['body']) for c in (TINY[0], TINY[4], TINY[3],
                                              TINY[1], TINY[2])]
    lengths[3] = 0  # '[deleted]': the text is unknown
    assert torch.allclose(s[:, 6], torch.tensor(lengths).float().log1p())
    # 'Hello world, hello!': hello twice, world once
    bow = a.x[1, :F]
    hello = zlib.crc32(b'hello') % F
    world = zlib.crc32(b'world') % F
    assert bow[hello] == pytest.approx(math.log1p(2 if hello != world else 3))
    assert int((bow > 0).sum()) == (1 if hello == world else 2)
    assert (a.x[0, :F] == 0).all() and (a.x[3, :F] == 0).all()

    # 3 threads: 2 / 1 / 0 (70 / 15 / 15, rounded).
    val = RedditThreads(str(tiny), split='val', files=['tiny.jsonl'],
                        num_features=F)
    (c,) = val
    assert c.link_id == 't3_c' and c.orphan.tolist() == [False, True]
    assert c.edge_index.tolist() == [[0], [1]]
    with pytest.raises(ValueError, match="no threads in split 'test'"):
        RedditThreads(str(tiny), split='test', files=['tiny.jsonl'],
                      num_features=F)


def test_reddit_reply_cycle(tmp_path):
    # No real dump has one; d replies to itself.
    rows = [comment('a', 't1_b', 't3_x', 10), comment('b', 't1_a', 't3_x', 20),
            comment('c', 't1_b', 't3_x', 30), comment('d', 't1_d', 't3_x', 40)]
    write_jsonl(tmp_path / 'raw' / 'f.jsonl', rows)
    train = RedditThreads(str(tmp_path), files=['f.jsonl'], num_features=F)
    (data,) = train
    assert data.comment_id == ['t3_x', 'a', 'b', 'c', 'd']
    # The cycle a <-> b is cut at a; c still replies to b:
    assert data.edge_index.tolist() == [[0, 1, 2, 0], [1, 2, 3, 4]]
    assert data.orphan.tolist() == [False, True, False, False, True]
    assert data.depth.tolist() == [0, 1, 2, 3, 1]


def test_reddit_batch(tiny):
    dataset = RedditThreads(str(tiny), files=['tiny.jsonl'], num_features=F)
    batch = Batch.from_data_list([dataset[0], dataset[1]])
    assert batch.edge_index.tolist() == [[0, 1, 3, 3, 3, 4, 7],
                                         [1, 2, 4, 5, 6, 7, 8]]
    assert batch.link_id == ['t3_b', 't3_a']
    assert batch.comment_id[1][1] == 'c1'
    assert batch.root_mask.nonzero().view(-1).tolist() == [0, 3]


def test_reddit_leak_free_features(tmp_path):
    rows = many_threads(30)
    altered = []
    for i, row in enumerate(rows):
        row = dict(row)
        row.update(score=100 - 7 * i, ups=3 * i, downs=i % 5, gilded=i % 2,
                   controversiality=1 - i % 2)
        assert set(LEAKY_FIELDS) <= set(row)
        altered.append(row)
    write_jsonl(tmp_path / 'a' / 'raw' / 'c.jsonl', rows)
    write_jsonl(tmp_path / 'b' / 'raw' / 'c.jsonl', altered)
    for split in RedditThreads.splits:
        a = RedditThreads(str(tmp_path / 'a'), split, files=['c.jsonl'],
                          num_features=F)
        b = RedditThreads(str(tmp_path / 'b'), split, files=['c.jsonl'],
                          num_features=F)
        assert len(a) == len(b) > 0
        for da, db in zip(a, b):
            for key in ('x', 'edge_index', 'time', 'orphan', 'depth'):
                assert torch.equal(da[key], db[key]), key
        assert not torch.equal(Batch.from_data_list(a).y,
                               Batch.from_data_list(b).y)


def test_reddit_bins_fitted_on_train_only(tmp_path):
    rows = many_threads(40)
    write_jsonl(tmp_path / 'a' / 'raw' / 'c.jsonl', rows)
    a = {s: RedditThreads(str(tmp_path / 'a'), s, files=['c.jsonl'],
                          num_features=F) for s in RedditThreads.splits}
    train_ids = {cid for d in a['train'] for cid in d.comment_id[1:]}
    train_scores = [r['score'] for r in rows if r['id'] in train_ids]
    assert a['train'].bin_edges == fit_level_edges(train_scores, 8)
    assert a['test'].bin_edges == a['train'].bin_edges

    # Other scores outside train: the same edges, other labels there.
    changed = [dict(r, score=r['score'] + 1000) if r['id'] not in train_ids
               else r for r in rows]
    write_jsonl(tmp_path / 'b' / 'raw' / 'c.jsonl', changed)
    b = {s: RedditThreads(str(tmp_path / 'b'), s, files=['c.jsonl'],
                          num_features=F) for s in RedditThreads.splits}
    assert b['train'].bin_edges == a['train'].bin_edges
    assert torch.equal(Batch.from_data_list(b['train']).y,
                       Batch.from_data_list(a['train']).y)
    top = len(a['train'].bin_edges)
    for s in ('val', 'test'):
        y = Batch.from_data_list(b[s]).y
        assert set(y.tolist()) == {-1, top}
    # ... while other training scores move the edges:
    changed = [dict(r, score=r['score'] * 10) if r['id'] in train_ids
               else r for r in rows]
    write_jsonl(tmp_path / 'c' / 'raw' / 'c.jsonl', changed)
    c = RedditThreads(str(tmp_path / 'c'), files=['c.jsonl'], num_features=F)
    assert c.bin_edges == [10 * e for e in a['train'].bin_edges]


def test_reddit_time_split_other_files(tmp_path):
    rows = many_threads(40)
    rows.reverse()  # File order does not matter.
    write_jsonl(tmp_path / 'raw' / 'c.jsonl', rows)
    data = {s: RedditThreads(str(tmp_path), s, files=['c.jsonl'],
                             num_features=F) for s in RedditThreads.splits}
    assert [len(data[s]) for s in RedditThreads.splits] == [28, 6, 6]
    starts = {s: [int(d.time[0]) for d in data[s]] for s in data}
    assert max(starts['train']) < min(starts['val'])
    assert max(starts['val']) < min(starts['test'])
    assert starts['train'] == sorted(starts['train'])
    links = [set(d.link_id for d in data[s]) for s in data]
    assert not (links[0] & links[1] or links[0] & links[2] or
                links[1] & links[2])


@pytest.mark.parametrize('suffix', ['.jsonl.gz', '.jsonl.zst', '.json'])
def test_reddit_compressed_files(tiny, suffix):
    text = (tiny / 'raw' / 'tiny.jsonl').read_bytes()
    path = tiny / 'raw' / f'tiny{suffix}'
    if suffix.endswith('.gz'):
        path.write_bytes(gzip.compress(text))
    elif suffix.endswith('.zst'):
        zstandard = pytest.importorskip('zstandard')
        path.write_bytes(zstandard.ZstdCompressor().compress(text))
    else:
        path.write_bytes(text)
    a = RedditThreads(str(tiny), files=['tiny.jsonl'], num_features=F)
    b = RedditThreads(str(tiny), files=[path.name], num_features=F)
    assert len(a) == len(b) == 2
    for da, db in zip(a, b):
        for key in ('x', 'edge_index', 'y', 'time', 'orphan'):
            assert torch.equal(da[key], db[key])


# Errors ######################################################################


BAD = [
    json.dumps(comment('c1', 't3_a', 't3_a', 100)),
    json.dumps(comment('c2', 't1_c1', 't3_a', 110)),
    '{"id": "c3", "parent_id": "t1_c1", ',  # line 3: truncated JSON
    '',                                       # blank lines are ignored
    json.dumps({k: v for k, v in comment('c4', 't3_a', 't3_a', 120).items()
                if k != 'score'}),           # line 5: no score
    json.dumps(comment('c5', 't3_b', 't3_b', 130)),
]


def processed_files(root):
    path = root / 'processed'
    return sorted(os.listdir(path)) if path.exists() else []


def test_reddit_malformed_lines(tmp_path):
    write_jsonl(tmp_path / 'raw' / 'bad.jsonl', BAD)
    with pytest.raises(ValueError, match=r"bad\.jsonl', line 3: invalid "
                       r"JSON"):
        RedditThreads(str(tmp_path), files=['bad.jsonl'], num_features=F)
    assert processed_files(tmp_path) == []

    rows = list(BAD)
    rows[2] = json.dumps(comment('c3', 't1_c1', 't3_a', 115))
    write_jsonl(tmp_path / 'raw' / 'bad2.jsonl', rows)
    with pytest.raises(ValueError, match=r"bad2\.jsonl', line 5: missing "
                       r"field\(s\) 'score'"):
        RedditThreads(str(tmp_path), files=['bad2.jsonl'], num_features=F)
    assert processed_files(tmp_path) == []

    dataset = RedditThreads(str(tmp_path), files=['bad.jsonl'],
                            on_error='skip', num_features=F)
    info = dataset.info
    assert info['skipped'] == 2 and info['comments'] == 3
    assert info['per_file']['bad.jsonl'] == dict(lines=6, comments=3,
                                                 threads=2, skipped=2)
    assert 'line 3' in info['errors'][0] and 'line 5' in info['errors'][1]
    assert not [f for f in processed_files(tmp_path) if f.endswith('.tmp')]


@pytest.mark.parametrize('row,match', [
    ('[1, 2]', 'expected a JSON object'),
    (comment('c9', 't3_a', 't3_a', 'soon'), "'created_utc' must be"),
    (comment('c9', 't3_a', 't3_a', 1, score=1.5), "'score' must be"),
    (comment('c9', 'x_1', 't3_a', 1), "'parent_id' must be"),
    (comment('c9', 't3_a', 'a', 1), "'link_id' must be"),
    (comment(9, 't3_a', 't3_a', 1), "'id' must be a string"),
    (comment('c1', 't3_a', 't3_a', 1), "duplicate comment id 'c1' "
     r"\(first in 'f.jsonl', line 1\)"),
])
def test_reddit_bad_fields(tmp_path, row, match):
    write_jsonl(tmp_path / 'raw' / 'f.jsonl',
                [comment('c1', 't3_a', 't3_a', 100), row])
    with pytest.raises(ValueError, match=r"f\.jsonl', line 2: .*" + match):
        RedditThreads(str(tmp_path), files=['f.jsonl'], num_features=F)


def test_reddit_invalid_utf8_and_numeric_strings(tmp_path):
    rows = [comment('c1', 't3_a', 't3_a', '100.7', score='3')]
    write_jsonl(tmp_path / 'raw' / 'f.jsonl', rows)
    data = RedditThreads(str(tmp_path), files=['f.jsonl'], num_features=F)[0]
    assert data.time.tolist() == [100, 100] and data.score.tolist() == [0, 3]

    path = tmp_path / 'raw' / 'g.jsonl'
    path.write_bytes(json.dumps(rows[0]).encode() + b'\n\xff\xfe\n')
    with pytest.raises(ValueError, match=r"g\.jsonl', line 2: invalid "
                       r"UTF-8"):
        RedditThreads(str(tmp_path), files=['g.jsonl'], num_features=F)


def test_reddit_truncated_zst(tmp_path):
    zstandard = pytest.importorskip('zstandard')
    text = '\n'.join(json.dumps(r) for r in many_threads(50)).encode()
    blob = zstandard.ZstdCompressor().compress(text)
    write = tmp_path / 'raw' / 'cut.jsonl.zst'
    write.parent.mkdir()
    write.write_bytes(blob[:len(blob) // 2])
    with pytest.raises(ValueError, match=r"cut\.jsonl\.zst' after line"):
        RedditThreads(str(tmp_path), files=['cut.jsonl.zst'],
                      num_features=F)
    assert processed_files(tmp_path) == []


def test_reddit_interrupted_write(tiny, monkeypatch):
    save = torch.save
    calls = []

    def broken_save(obj, f):
        calls.append(1)
        if len(calls) == 2:  # The second split's file, half-written:
            f.write(b'partial')
            raise KeyboardInterrupt
        save(obj, f)

    monkeypatch.setattr(torch, 'save', broken_save)
    with pytest.raises(KeyboardInterrupt):
        RedditThreads(str(tiny), files=['tiny.jsonl'], num_features=F)
    files = processed_files(tiny)
    assert len(files) == 1 and files[0].startswith('train_')  # complete
    monkeypatch.setattr(torch, 'save', save)
    # The set of files is incomplete, so it is processed again:
    dataset = RedditThreads(str(tiny), files=['tiny.jsonl'], num_features=F)
    assert len(dataset) == 2
    assert not [f for f in processed_files(tiny) if f.endswith('.tmp')]


def test_reddit_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"RC_2005-12\.zst, "
                       r"RC_2006-01\.zst .*Pushshift"):
        RedditThreads(str(tmp_path / 'a'))
    write_jsonl(tmp_path / 'b' / 'raw' / 'x.jsonl', TINY)
    with pytest.raises(FileNotFoundError, match=r"file\(s\) y\.jsonl in"):
        RedditThreads(str(tmp_path / 'b'), files=['x.jsonl', 'y.jsonl'])
    (tmp_path / 'c').mkdir()
    (tmp_path / 'c' / 'raw').symlink_to(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='Pushshift'):
        RedditThreads(str(tmp_path / 'c'))


def test_reddit_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="'RedditThreads' expects 'split'"):
        RedditThreads(str(tmp_path), split='valid')
    with pytest.raises(ValueError, match="expects 'on_error'"):
        RedditThreads(str(tmp_path), on_error='ignore')
    with pytest.raises(ValueError, match="expects 'files'"):
        RedditThreads(str(tmp_path), files=[])


# Synthetic threads: the schema of RedditThreads ##############################
def test_synthetic_deterministic_and_schema(tiny):
    a = SyntheticRedditThreads(num_threads=40, seed=3, split='train',
                               num_features=F)
    b = SyntheticRedditThreads(num_threads=40, seed=3, split='train',
                               num_features=F)
    c = SyntheticRedditThreads(num_threads=40, seed=4, split='train',
                               num_features=F)
    assert len(a) == len(b) == len(c) == 28
    assert str(a) == "SyntheticRedditThreads(28, split='train', seed=3)"
    for key in ('x', 'edge_index', 'y', 'time', 'score'):
        assert torch.equal(a._data[key], b._data[key])
    assert a.info == b.info
    assert not torch.equal(a._data.time, c._data.time)

    real = RedditThreads(str(tiny), files=['tiny.jsonl'], num_features=F)
    ra, rr = a[0], real[0]
    assert set(ra.keys()) == set(rr.keys())
    for key in ra.keys():
        if isinstance(rr[key], torch.Tensor):
            assert ra[key].dtype == rr[key].dtype, key
            assert ra[key].dim() == rr[key].dim(), key
    assert a.num_features == real.num_features == F + 7
    assert set(a.info) == set(real.info) | {'seed'}


def test_moved_names_stay_importable():
    import tgr.datasets.comment_threads as threads_module
    import tgr.datasets.reddit as reddit_module
    for name in ('fit_level_edges', 'score_to_level', 'hash_bag_of_words',
                 'FEATURE_NAMES', 'LEAKY_FIELDS'):
        assert getattr(reddit_module, name) is getattr(threads_module, name)
    assert reddit_module.SyntheticRedditThreads is SyntheticRedditThreads


def test_reddit_cache_follows_files_and_pre_transform(tiny):
    path = tiny / 'raw' / 'tiny.jsonl'
    first = RedditThreads(str(tiny), files=['tiny.jsonl'], num_features=F)
    assert first.info['comments'] == len(TINY)
    # Another comment in the file (its size and modification time change):
    write_jsonl(path, TINY + [comment('c6', 't1_c1', 't3_a', 400)])
    again = RedditThreads(str(tiny), files=['tiny.jsonl'], num_features=F)
    assert again.info['comments'] == len(TINY) + 1

    # Another pre_transform gives other processed files, the same one the
    # same files:
    def mark(data):
        data.mark = torch.tensor([7])
        return data

    marked = RedditThreads(str(tiny), files=['tiny.jsonl'], num_features=F,
                           pre_transform=mark)
    assert all(int(d.mark) == 7 for d in marked)
    files = processed_files(tiny)
    assert len(RedditThreads(str(tiny), files=['tiny.jsonl'], num_features=F,
                             pre_transform=mark)) == len(marked)
    plain = RedditThreads(str(tiny), files=['tiny.jsonl'], num_features=F)
    assert 'mark' not in plain[0]
    assert processed_files(tiny) == files


def test_reddit_empty_dump_is_named(tmp_path):
    zstandard = pytest.importorskip('zstandard')
    raw = tmp_path / 'raw'
    raw.mkdir()
    (raw / 'RC_2005-12.zst').write_bytes(b'')  # an empty download
    text = '\n'.join(json.dumps(r) for r in many_threads(10)).encode()
    (raw / 'RC_2006-01.zst').write_bytes(
        zstandard.ZstdCompressor().compress(text))
    with pytest.raises(ValueError, match=r"'RedditThreads' found no "
                       r"comments in '.*RC_2005-12\.zst' \(0 bytes"):
        RedditThreads(str(tmp_path))
    assert processed_files(tmp_path) == []
    # Every line skipped counts as empty too:
    write_jsonl(raw / 'bad.jsonl', ['[1]', '{"id": '])
    with pytest.raises(ValueError, match=r"bad\.jsonl' \(.* 2 lines, 2 "
                       r"skipped"):
        RedditThreads(str(tmp_path), files=['bad.jsonl', 'RC_2006-01.zst'],
                      on_error='skip')


def test_reddit_survives_batch(tiny, real, survives_batch):
    survives_batch(list(RedditThreads(str(tiny), files=['tiny.jsonl'],
                                      num_features=F)))
    survives_batch([real['test'][i] for i in range(6)])
