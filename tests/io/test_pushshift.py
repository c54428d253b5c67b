import bz2
import gzip
import json
import lzma

import pytest

from tgr.io.pushshift import parse_comment, read_pushshift


def row(cid, parent='t3_a', link='t3_a', t=100, **extra):
    out = dict(id=cid, parent_id=parent, link_id=link, created_utc=t,
               score=1, author='a', body='text', subreddit='reddit.com')
    out.update(extra)
    return json.dumps(out)


def test_parse_comment():
    c = parse_comment(row('c1', 't1_c0', t='12.9',
                          score='-3', ups=7).encode())
    assert c == dict(id='c1', parent_id='t1_c0', link_id='t3_a', time=12,
                     score=-3, author='a', body='text')
    for line, match in [(b'\xff', 'invalid UTF-8'),
                        (b'{"id": ', 'invalid JSON'),
                        (b'[1]', 'expected a JSON object'),
                        (row('c1', score=1.5).encode(), "'score' must be"),
                        (row('').encode(), "'id' is empty")]:
        with pytest.raises(ValueError, match=match):
            parse_comment(line)


@pytest.mark.parametrize('suffix,compress', [
    ('.jsonl', lambda b: b), ('.jsonl.gz', gzip.compress),
    ('.jsonl.bz2', bz2.compress), ('.jsonl.xz', lzma.compress),
    ('.jsonl.zst', None)])
def test_read_pushshift_formats(tmp_path, suffix, compress):
    text = '\n'.join([row('c1'), '', row('c2', 't1_c1'),
                      row('c3', link='t3_b')]).encode()
    if compress is None:
        zstandard = pytest.importorskip('zstandard')
        compress = zstandard.ZstdCompressor().compress
    path = tmp_path / f'f{suffix}'
    path.write_bytes(compress(text))
    comments, stats = read_pushshift(str(path))
    assert [c['id'] for c in comments] == ['c1', 'c2', 'c3']
    assert comments[1]['parent_id'] == 't1_c1'
    assert stats == dict(lines=4, comments=3, threads=2, skipped=0,
                         errors=[])


def test_read_pushshift_errors_and_skip(tmp_path):
    a, b = tmp_path / 'a.jsonl', tmp_path / 'b.jsonl'
    a.write_text(row('c1') + '\n')
    b.write_text('\n'.join([row('c2'), '{"id": ', row('c1'), row('c3')]))
    seen = {}
    read_pushshift(str(a), seen=seen, name='a.jsonl')
    with pytest.raises(ValueError, match=r"'read_pushshift' cannot read "
                       r"'.*b\.jsonl', line 2: invalid JSON"):
        read_pushshift(str(b), seen=dict(seen))
    comments, stats = read_pushshift(str(b), 'skip', seen=seen, who='me')
    assert [c['id'] for c in comments] == ['c2', 'c3']
    assert stats['skipped'] == 2 and stats['lines'] == 4
    assert stats['errors'][0].startswith("'me' cannot read '")
    assert "line 3: duplicate comment id 'c1' (first in 'a.jsonl', line 1)" \
        in stats['errors'][1]
    with pytest.raises(ValueError, match="'on_error'"):
        read_pushshift(str(a), 'ignore')


def test_read_pushshift_truncated_zst(tmp_path):
    zstandard = pytest.importorskip('zstandard')
    text = '\n'.join(row(f'c{i}', body='word ' * 50) for i in range(200))
    blob = zstandard.ZstdCompressor().compress(text.encode())
    path = tmp_path / 'cut.zst'
    path.write_bytes(blob[:len(blob) // 2])
    with pytest.raises(ValueError, match=r"cut\.zst' after line \d+: "
                       r"EOFError: the file ends in the middle"):
        read_pushshift(str(path))
