r"""The reader of Reddit comment dumps: the monthly files of `Pushshift
<https://arxiv.org/abs/2001.08435>`_ (Baumgartner et al., ICWSM 2020) as
published (:obj:`RC_YYYY-MM.zst`: zstd-compressed JSON lines), or JSON lines
as :obj:`.jsonl` / :obj:`.json`, plain or compressed (:obj:`.gz`,
:obj:`.bz2`, :obj:`.xz`, :obj:`.zst`), one comment per line."""
import bz2
import gzip
import json
import lzma
import math
from typing import Any, Dict, Iterator, List, Optional, Tuple

__all__ = ['REQUIRED_FIELDS', 'parse_comment', 'read_pushshift']

#: The fields every comment must have.
REQUIRED_FIELDS = ('id', 'parent_id', 'link_id', 'created_utc', 'score',
                   'author', 'body')

#: Error messages kept in the returned :obj:`"errors"` with
#: :obj:`on_error="skip"`.
MAX_ERRORS = 20


def _open_lines(path: str) -> Iterator[bytes]:
    # The lines of a raw file, as bytes, decompressed in a stream.
    name = path.lower()
    if name.endswith('.zst'):
        try:
            import zstandard
        except ImportError as e:  # pragma: no cover
            raise ImportError(f"Reading '{path}' needs the 'zstandard' "
                              f"package ('pip install zstandard')") from e
        with open(path, 'rb') as fh:
            yield from _split_lines(_zstd_chunks(zstandard, fh))
    elif name.endswith('.gz'):
        with gzip.open(path, 'rb') as f:
            yield from f
    elif name.endswith('.bz2'):
        with bz2.open(path, 'rb') as f:
            yield from f
    elif name.endswith('.xz'):
        with lzma.open(path, 'rb') as f:
            yield from f
    else:
        with open(path, 'rb') as f:
            yield from f


def _zstd_chunks(zstandard, fh) -> Iterator[bytes]:
    # Decompresses a stream of zstd frames. Pushshift compressed its later
    # dumps with --long=31: a window of up to 2^31 bytes, above zstd's
    # default limit. `ZstdDecompressor.stream_reader` ends silently at the
    # end of a truncated file (a common result of an interrupted download of
    # a dump), so the frames are decoded here, and an unfinished last frame
    # raises an error.
    dctx = zstandard.ZstdDecompressor(max_window_size=2**31)
    dobj, pending = dctx.decompressobj(), False
    while True:
        chunk = fh.read(2**18)
        if not chunk:
            break
        while chunk:
            out = dobj.decompress(chunk)
            if out:
                yield out
            if dobj.eof:  # The end of a frame; another one may follow.
                chunk = dobj.unused_data
                dobj, pending = dctx.decompressobj(), False
            else:
                chunk, pending = b'', True
    if pending:
        raise EOFError('the file ends in the middle of a zstd frame (an '
                       'incomplete download?)')


def _split_lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    rest = b''
    for chunk in chunks:
        lines = (rest + chunk).split(b'\n')
        rest = lines.pop()
        for line in lines:
            yield line + b'\n'
    if rest:
        yield rest


def _as_seconds(value: Any) -> int:
    # created_utc: an int, a float (floored) or a numeric string (as in some
    # of the older dumps).
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, str):
        value = float(value) if value.strip() else value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError
        return math.floor(value)
    if isinstance(value, int):
        return value
    raise TypeError


def _as_score(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, str):
        value = float(value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError
        return int(value)
    if isinstance(value, int):
        return value
    raise TypeError


def parse_comment(line: bytes) -> Dict[str, Any]:
    r"""Parses one line of a dump (UTF-8 JSON bytes) into a comment: a
    dictionary with :obj:`id`, :obj:`parent_id`, :obj:`link_id`,
    :obj:`time` (:obj:`created_utc` in whole seconds, floored), :obj:`score`,
    :obj:`author` and :obj:`body`; every other field is dropped.

    Raises:
        ValueError: with the reason (invalid UTF-8 or JSON, not an object, a
            missing or mistyped field), without the file and line, which
            :func:`read_pushshift` adds.
    """
    try:
        text = line.decode('utf-8')
    except UnicodeDecodeError as e:
        raise ValueError(f'invalid UTF-8 ({e.reason} at byte {e.start})')
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f'invalid JSON ({e.msg} at column {e.colno})')
    if not isinstance(obj, dict):
        raise ValueError(f'expected a JSON object (got '
                         f'{type(obj).__name__})')
    missing = [key for key in REQUIRED_FIELDS if key not in obj]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(map(repr, missing))}")
    for key in ('id', 'parent_id', 'link_id', 'author', 'body'):
        if not isinstance(obj[key], str):
            raise ValueError(f"field '{key}' must be a string (got "
                             f"{obj[key]!r})")
    cid, parent, link = obj['id'], obj['parent_id'], obj['link_id']
    if cid == '':
        raise ValueError("field 'id' is empty")
    if not link.startswith('t3_') or len(link) == 3:
        raise ValueError(f"field 'link_id' must be 't3_<submission>' (got "
                         f"{link!r})")
    if not parent.startswith(('t1_', 't3_')) or len(parent) == 3:
        raise ValueError(f"field 'parent_id' must be 't1_<comment>' or "
                         f"'t3_<submission>' (got {parent!r})")
    try:
        time = _as_seconds(obj['created_utc'])
    except (TypeError, ValueError):
        raise ValueError(f"field 'created_utc' must be a number of seconds "
                         f"(got {obj['created_utc']!r})")
    try:
        score = _as_score(obj['score'])
    except (TypeError, ValueError):
        raise ValueError(f"field 'score' must be an integer (got "
                         f"{obj['score']!r})")
    return dict(id=cid, parent_id=parent, link_id=link, time=time,
                score=score, author=obj['author'], body=obj['body'])


def read_pushshift(path: str, on_error: str = 'raise',
                   seen: Optional[Dict[str, Tuple[str, int]]] = None,
                   name: Optional[str] = None, who: str = 'read_pushshift',
                   ) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
    r"""Reads every comment of one dump, decompressed in a stream (a
    :obj:`.zst` file with a window of up to :math:`2^{31}` bytes, as
    Pushshift's later dumps need; reading one needs the :obj:`zstandard`
    package). Blank lines are ignored.

    Args:
        path (str): The file.
        on_error (str, optional): :obj:`"raise"` or :obj:`"skip"`, what to
            do with a malformed line (not JSON, not an object, a missing or
            mistyped field, an id seen before). (default: :obj:`"raise"`)
        seen (dict, optional): The ids read so far, to find duplicates
            across files: every comment read is added as :obj:`id: (name,
            line)`. (default: :obj:`None`, a new dictionary)
        name (str, optional): The file's name in messages about duplicates.
            (default: :obj:`path`)
        who (str, optional): Who reads, at the start of error messages.
            (default: :obj:`"read_pushshift"`)

    Returns:
        :obj:`(comments, stats)`: the comments (see :func:`parse_comment`),
        in file order, and a dictionary
        with the file's :obj:`"lines"`, :obj:`"comments"`, :obj:`"threads"`
        (distinct :obj:`link_id`), :obj:`"skipped"` lines and the first
        :obj:`MAX_ERRORS` :obj:`"errors"`.

    Raises:
        ValueError: for a malformed line (with :obj:`on_error="raise"`) or a
            corrupt or truncated compressed file; the message names the file
            and the line (from 1).
    """
    if on_error not in ('raise', 'skip'):
        raise ValueError(f"'read_pushshift' expects 'on_error' to be 'raise' "
                         f"or 'skip' (got '{on_error}')")
    seen = {} if seen is None else seen
    name = path if name is None else name
    comments: List[Dict[str, Any]] = []
    errors: List[str] = []
    links = set()
    lines = skipped = lineno = 0
    stream = _open_lines(path)
    try:
        for lineno, line in enumerate(stream, start=1):
            lines = lineno
            if not line.strip():
                continue
            try:
                c = parse_comment(line)
                if c['id'] in seen:
                    f0, l0 = seen[c['id']]
                    raise ValueError(f"duplicate comment id '{c['id']}' "
                                     f"(first in '{f0}', line {l0})")
            except ValueError as e:
                msg = f"'{who}' cannot read '{path}', line {lineno}: {e}"
                if on_error == 'raise':
                    raise ValueError(msg) from None
                skipped += 1
                if len(errors) < MAX_ERRORS:
                    errors.append(msg)
                continue
            seen[c['id']] = (name, lineno)
            comments.append(c)
            links.add(c['link_id'])
    except ValueError:
        raise
    except Exception as e:  # A corrupt or truncated compressed file.
        raise ValueError(f"'{who}' cannot read '{path}' after line "
                         f"{lineno}: {type(e).__name__}: {e}") from e
    finally:
        stream.close()
    return comments, dict(lines=lines, comments=len(comments),
                          threads=len(links), skipped=skipped, errors=errors)
