r"""Reddit comment threads from the Pushshift dumps, for comment popularity
prediction as in the `"Conversation Modeling on Reddit Using a
Graph-Structured LSTM" <https://arxiv.org/abs/1704.02080>`_ paper (Zayats
and Ostendorf, TACL 2018), and a synthetic generator with the same schema.

:class:`RedditThreads` reads the monthly comment dumps of `Pushshift
<https://arxiv.org/abs/2001.08435>`_ (Baumgartner et al., ICWSM 2020) as
published (:obj:`RC_YYYY-MM.zst`: zstd-compressed JSON lines), or plain or
compressed :obj:`.jsonl` files; :class:`SyntheticRedditThreads` grows threads
by preferential attachment, so that examples run without the dumps.
"""
import bz2
import gzip
import hashlib
import json
import lzma
import math
import os.path as osp
import re
import zlib
from collections import Counter
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple)

import torch
from torch import Tensor
from torch_geometric.data import Data, InMemoryDataset
from torch_geometric.io import fs

from ._io import atomic_torch_save as _atomic_torch_save
from ._io import check_choice, check_raw_link

__all__ = [
    'RedditThreads',
    'SyntheticRedditThreads',
    'fit_level_edges',
    'score_to_level',
    'hash_bag_of_words',
]

#: The structure and timing features, in the order in which they follow the
#: :obj:`num_features` hashed bag-of-words columns of :obj:`x`.
FEATURE_NAMES = (
    'is_root',                   # 1 for the root (the submission), else 0
    'log1p_depth',               # log(1 + depth); top-level comments: depth 1
    'log1p_seconds_since_first',  # since the thread's first comment
    'log1p_seconds_since_parent',  # since the parent (the root: first comment)
    'log1p_earlier_siblings',    # siblings before the comment, in node order
    'self_reply',                # author == parent's author, not [deleted]
    'log1p_body_length',         # in characters
)

#: The fields every comment must have; the label comes from :obj:`score`.
REQUIRED_FIELDS = ('id', 'parent_id', 'link_id', 'created_utc', 'score',
                   'author', 'body')

#: Fields that are the label or leak it: never read into a feature.
LEAKY_FIELDS = ('score', 'ups', 'downs', 'gilded', 'controversiality')

DEFAULT_FILES = ('RC_2005-12.zst', 'RC_2006-01.zst')

_PUSHSHIFT = ("the monthly comment dumps 'RC_YYYY-MM.zst' of the Pushshift "
              "Reddit dataset (Baumgartner et al. 2020; e.g. the Academic "
              "Torrents collection 'reddit/comments', or "
              "https://files.pushshift.io/reddit/comments/)")

_TOKEN = re.compile(r'\w+')
_DELETED = frozenset({'[deleted]', '[removed]', ''})
# The body of a comment deleted (or removed by a moderator) after it was
# posted, as the dumps hold it: the text is unknown, and the deletion itself
# comes after the posting and goes with low scores.
_DELETED_BODIES = frozenset({'[deleted]', '[removed]'})
_MAX_ERRORS = 20  # error messages kept in `info['errors']` with on_error=skip


# Helpers #####################################################################

def hash_bag_of_words(text: str, num_features: int) -> Dict[int, int]:
    r"""The hashed bag of words of :obj:`text`: the lower-cased word tokens
    (runs of :obj:`\w`), each counted in column
    :obj:`zlib.crc32(token.encode('utf-8')) % num_features` (a hash that is
    the same in every process and on every machine, unlike :func:`hash`).

    Returns:
        A dictionary from column to count.
    """
    out: Dict[int, int] = {}
    for tok in _TOKEN.findall(text.lower()):
        col = zlib.crc32(tok.encode('utf-8')) % num_features
        out[col] = out.get(col, 0) + 1
    return out


def fit_level_edges(scores: Sequence[float], num_levels: int = 8,
                    ) -> List[float]:
    r"""Fits the popularity levels: cuts the sorted distinct :obj:`scores`
    into :obj:`min(num_levels, #distinct scores)` contiguous groups holding
    as nearly equal numbers of comments as possible (equal-frequency, that
    is quantile, bins in which equal scores always share a level).

    The groups are chosen from the lowest score up: each takes the distinct
    scores whose cumulative count comes closest to an equal share of the
    comments not yet binned (the smaller group on a tie), leaving at least
    one distinct score to every remaining group. This is deterministic, and
    with the heavily tied scores of Reddit (a third of all comments have a
    score of :obj:`1`) it still gives :obj:`num_levels` non-empty levels
    where plain quantiles would merge several.

    Returns:
        The sorted lower bounds of levels :obj:`1, 2, ...`: a score
        :obj:`s` has the level :obj:`sum(s >= e for e in edges)` (see
        :func:`score_to_level`).
    """
    if num_levels < 1:
        raise ValueError(f"'fit_level_edges' expects 'num_levels' >= 1 "
                         f"(got {num_levels})")
    count = Counter(float(s) for s in scores)
    if not count:
        raise ValueError("'fit_level_edges' expects at least one score")
    values = sorted(count)
    counts = [count[v] for v in values]
    num_values = len(values)
    edges: List[float] = []
    start, remaining = 0, sum(counts)
    for bins in range(min(num_levels, num_values), 1, -1):
        target = remaining / bins
        cum, best_err, best_end, best_cum = 0, math.inf, start, 0
        for end in range(start, num_values - bins + 1):
            cum += counts[end]
            err = abs(cum - target)
            if err < best_err:
                best_err, best_end, best_cum = err, end, cum
            if cum >= target:
                break
        edges.append(values[best_end + 1])
        remaining -= best_cum
        start = best_end + 1
    return edges


def score_to_level(score: Tensor, edges: Sequence[float]) -> Tensor:
    r"""The popularity level of every entry of :obj:`score`: the number of
    :obj:`edges` (from :func:`fit_level_edges`) that are :math:`\le` it."""
    bounds = torch.tensor(list(edges), dtype=torch.float64)
    return torch.bucketize(score.to(torch.float64), bounds, right=True)


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


def _parse_comment(line: bytes) -> Dict[str, Any]:
    # One comment, with the fields the loader uses, or a ValueError with the
    # reason (without the file and line, which the caller adds).
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


def _id_key(cid: str) -> Tuple[int, str]:
    # Reddit ids are base-36 numbers without leading zeros: shorter first,
    # then in code point order, is their numeric order.
    return len(cid), cid


def _depths(parent: List[int]) -> List[int]:
    # The depth of every node below node 0, -1 where it is not reached.
    n = len(parent)
    children: List[List[int]] = [[] for _ in range(n)]
    for i in range(1, n):
        children[parent[i]].append(i)
    depth = [-1] * n
    depth[0], stack = 0, [0]
    while stack:
        u = stack.pop()
        for v in children[u]:
            depth[v] = depth[u] + 1
            stack.append(v)
    return depth


def _build_thread(link_id: str, comments: List[Dict[str, Any]],
                  num_features: int) -> Dict[str, Any]:
    # The tensors of one thread (everything but the label), from its
    # comments (dicts with id, parent_id, time, score, author, body).
    comments = sorted(comments, key=lambda c: (c['time'], _id_key(c['id'])))
    n = len(comments) + 1  # Node 0 is the root.
    index = {c['id']: i + 1 for i, c in enumerate(comments)}
    parent = [-1] + [0] * len(comments)
    orphan = [False] * n
    for i, c in enumerate(comments, start=1):
        pid = c['parent_id']
        if pid.startswith('t1_'):
            j = index.get(pid[3:])
            if j is None or j == i:
                orphan[i] = True  # Absent from the dump (or a self-loop).
            else:
                parent[i] = j
        elif pid != link_id:
            orphan[i] = True  # A submission other than the thread's.

    # Depths from the root. A reply cycle (which no real dump has) is never
    # reached from the root: it is cut at its earliest comment, which hangs
    # from the root as an orphan.
    while True:
        depth = _depths(parent)
        cut = next((i for i in range(1, n) if depth[i] < 0), None)
        if cut is None:
            break
        parent[cut], orphan[cut] = 0, True

    time = [comments[0]['time']] + [c['time'] for c in comments]
    first = time[0]
    author = [''] + [c['author'] for c in comments]
    deleted = [False] + [c['body'].strip() in _DELETED_BODIES
                         for c in comments]
    body = [''] + ['' if d else c['body']
                   for d, c in zip(deleted[1:], comments)]
    earlier = [0] * n
    seen: Counter = Counter()
    for i in range(1, n):  # Node order is time order.
        earlier[i] = seen[parent[i]]
        seen[parent[i]] += 1

    x = torch.zeros(n, num_features + len(FEATURE_NAMES))
    rows, cols, vals = [], [], []
    for i in range(1, n):
        for col, cnt in hash_bag_of_words(body[i], num_features).items():
            rows.append(i)
            cols.append(col)
            vals.append(cnt)
    if rows:
        x[rows, cols] = torch.tensor(vals, dtype=torch.float).log1p()
    rows = [[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]
    for i in range(1, n):
        p = parent[i]
        rows.append([
            0.0,
            math.log1p(depth[i]),
            math.log1p(max(time[i] - first, 0)),
            math.log1p(max(time[i] - time[p], 0)),
            math.log1p(earlier[i]),
            float(p > 0 and author[i] == author[p] and
                  author[i] not in _DELETED),
            math.log1p(len(body[i])),
        ])
    x[:, num_features:] = torch.tensor(rows)

    child = torch.arange(1, n)
    return dict(
        link_id=link_id,
        x=x,
        edge_index=torch.stack([torch.tensor(parent[1:], dtype=torch.long),
                                child]),
        time=torch.tensor(time, dtype=torch.long),
        score=torch.tensor([0] + [c['score'] for c in comments],
                           dtype=torch.long),
        orphan=torch.tensor(orphan, dtype=torch.bool),
        deleted=torch.tensor(deleted, dtype=torch.bool),
        depth=torch.tensor(depth, dtype=torch.long),
        comment_id=[link_id] + [c['id'] for c in comments],
        start=first,
    )


def _cut(num: int, fracs: Sequence[float]) -> List[int]:
    # Boundaries of consecutive parts of `num` items with these fractions.
    out, acc = [], 0.0
    for frac in fracs[:-1]:
        acc += frac
        out.append(int(math.floor(acc * num + 0.5)))
    return out


def _assemble(threads: List[Dict[str, Any]], assign: List[str],
              num_levels: int, pre_transform: Optional[Callable] = None,
              ) -> Tuple[Dict[str, List[Data]], List[float]]:
    # Fits the level edges on the training threads' comments, labels every
    # thread and returns the Data objects of every split.
    train_scores = [s for t, a in zip(threads, assign) if a == 'train'
                    for s in t['score'][1:][~t['deleted'][1:]].tolist()]
    if not train_scores:
        raise ValueError('the training split has no comments, so no level '
                         'edges can be fitted')
    edges = fit_level_edges(train_scores, num_levels)
    out: Dict[str, List[Data]] = {s: [] for s in ('train', 'val', 'test')}
    for t, split in zip(threads, assign):
        y = score_to_level(t['score'], edges)
        y[0] = -1
        y[t['deleted']] = -1
        data = Data(x=t['x'], edge_index=t['edge_index'], y=y,
                    time=t['time'], score=t['score'], orphan=t['orphan'],
                    deleted=t['deleted'],
                    root_mask=torch.arange(t['x'].size(0)) == 0,
                    depth=t['depth'], link_id=t['link_id'],
                    comment_id=t['comment_id'])
        if pre_transform is not None:
            data = pre_transform(data)
        out[split].append(data)
    return out, edges


def _split_info(threads, assign, data_lists, num_levels) -> Dict[str, Any]:
    info = {}
    for split, data_list in data_lists.items():
        starts = [t['start'] for t, a in zip(threads, assign) if a == split]
        y = [int(v) for d in data_list for v in d.y.tolist() if v >= 0]
        num = sum(d.num_nodes - 1 for d in data_list)
        hist = Counter(y)
        info[split] = dict(
            threads=len(data_list), comments=num, labelled=len(y),
            first_start=min(starts) if starts else None,
            last_start=max(starts) if starts else None,
            level_counts=[hist.get(k, 0) for k in range(num_levels)])
    return info


class RedditThreads(InMemoryDataset):
    r"""Reddit comment threads from the Pushshift comment dumps (`Baumgartner
    et al., ICWSM 2020 <https://arxiv.org/abs/2001.08435>`_), for the
    comment popularity prediction of the `"Conversation Modeling on Reddit
    Using a Graph-Structured LSTM" <https://arxiv.org/abs/1704.02080>`_
    paper (Zayats and Ostendorf, TACL 2018): predict the popularity level of
    every comment of a thread from its text and the discussion's structure.

    Every thread (all comments of one :obj:`link_id`) is one
    :class:`~torch_geometric.data.Data` object with :math:`|\mathcal{V}|`
    nodes: node :obj:`0` stands for the submission (the root, which the
    comment dumps do not hold), then one node per comment, ordered by
    :obj:`created_utc`, ties by comment id (as a base-36 number). It holds

    - :obj:`x` (:obj:`float`, :math:`(|\mathcal{V}|, F + 7)`): features a
      reader could know when the comment is posted. Columns :obj:`0` to
      :obj:`F - 1` (:obj:`F = num_features`) are the hashed bag of words of
      the body (see :func:`hash_bag_of_words`), as :math:`\log(1 +
      \textrm{count})`; the last seven are, in the order of
      :obj:`FEATURE_NAMES`: the root flag, :math:`\log(1 + \textrm{depth})`
      (top-level comments have depth :obj:`1`), :math:`\log(1 +
      \textrm{seconds})` since the thread's first comment and since the
      parent (clamped at :obj:`0`), :math:`\log(1 + \textrm{number of
      earlier siblings})`, the author replying to themselves (the parent is
      a comment by the same author, not :obj:`"[deleted]"`), and
      :math:`\log(1 + \textrm{body length in characters})`. The root's row
      is zero but for the root flag. An orphan's structure features are
      those of a top-level comment. :obj:`score`, :obj:`ups`,
      :obj:`downs`, :obj:`gilded` and :obj:`controversiality` are never
      read into a feature: they are the label or leak it. Nor is the body
      of a deleted comment (:obj:`"[deleted]"` or :obj:`"[removed]"` in the
      dump): the deletion came after the posting, and such comments score
      far lower (a mean score of 0.08 and -0.82 against 1.8 in the two
      real months), so their bag of words and length are zero;
    - :obj:`edge_index` (:obj:`long`, :math:`(2, |\mathcal{V}| - 1)`):
      reply edges, parent to child (:obj:`parent_id` :obj:`"t1_X"` is
      comment :obj:`X`, :obj:`"t3_..."` the root); edge :math:`e` enters
      node :math:`e + 1`. A comment whose parent is absent from the data
      (or in another thread, or itself) hangs from the root and is flagged
      in :obj:`orphan`; so does the earliest comment of a reply cycle
      (which no real dump has), which cuts the cycle;
    - :obj:`time` (:obj:`long`, :math:`(|\mathcal{V}|,)`):
      :obj:`created_utc` in seconds (floored if fractional); the root's is
      the time of the thread's first comment (submissions are not in the
      comment dumps);
    - :obj:`y` (:obj:`long`, :math:`(|\mathcal{V}|,)`): the popularity level
      of every comment in :math:`\{0, \dots, L - 1\}`, :obj:`-1` at the root
      and at deleted comments, which stay in the tree but are not labelled
      (use :obj:`ignore_index=-1` in
      :func:`~torch.nn.functional.cross_entropy`);
    - :obj:`score` (:obj:`long`, :math:`(|\mathcal{V}|,)`): the raw score
      the label comes from (:obj:`0` at the root); never a feature;
    - :obj:`orphan`, :obj:`deleted`, :obj:`root_mask` (:obj:`bool`,
      :math:`(|\mathcal{V}|,)`), :obj:`depth` (:obj:`long`,
      :math:`(|\mathcal{V}|,)`, :obj:`0` at the root);
    - :obj:`link_id` (:obj:`str`) and :obj:`comment_id` (a list of
      :math:`|\mathcal{V}|` strings, the root's is the :obj:`link_id`).

    **Labels.** The paper quantises karma into 8 levels. Here the levels
    are equal-frequency bins fitted on the labelled comments of the
    training threads only (:func:`fit_level_edges`: quantile bins in which
    tied scores share a level), then applied unchanged to the validation and
    test threads; the edges are :obj:`dataset.bin_edges` (a score :obj:`s`
    has the level :obj:`sum(s >= e for e in bin_edges)`). With fewer
    distinct training scores than :obj:`num_levels`, there are fewer
    levels.

    **Splits, by time.** Threads are ordered by the time of their first
    comment (ties by :obj:`link_id`) and every thread goes whole into one
    split. With the default files, the threads that start in
    :obj:`RC_2005-12.zst` are split 85 / 15 into :obj:`"train"` (earlier)
    and :obj:`"val"` (later), and the threads that start in
    :obj:`RC_2006-01.zst` are :obj:`"test"`. With other :obj:`files`, all
    threads are split 70 / 15 / 15 in time order. Comments of one
    :obj:`link_id` from several files form one thread (33 threads of
    December 2005 go on in January 2006: their 79 January comments are in
    the train and val splits, with the threads they belong to).

    **Raw files.** :obj:`root/raw/` must hold the :obj:`files`: Pushshift
    dumps :obj:`RC_YYYY-MM.zst` (zstd-compressed JSON lines, decompressed in
    a stream with a window of up to :math:`2^{31}` bytes; needs the
    :obj:`zstandard` package), or JSON lines as :obj:`.jsonl` / :obj:`.json`
    / :obj:`.jsonl.gz` / :obj:`.jsonl.zst` (also :obj:`.bz2`, :obj:`.xz`).
    They are not downloaded (get them, e.g., from the Academic Torrents
    collection :obj:`reddit/comments`). Every comment needs the fields of
    :obj:`REQUIRED_FIELDS`; blank lines are ignored. A malformed line (not
    JSON, not an object, a missing or mistyped field, an id seen before)
    raises a :class:`ValueError` naming the file and the line (from 1);
    with :obj:`on_error="skip"` it is skipped and counted in
    :obj:`dataset.info`. Processing writes every split at once, each file
    atomically (a temporary file renamed into place), so an error or an
    interruption leaves nothing half-written in :obj:`root/processed/`.

    :obj:`dataset.info` is a dictionary: :obj:`"files"`, and per file
    (:obj:`"per_file"`) its :obj:`"lines"`, :obj:`"comments"`,
    :obj:`"threads"` and :obj:`"skipped"` lines; in all :obj:`"comments"`,
    :obj:`"threads"`, :obj:`"orphans"`, :obj:`"deleted"`, :obj:`"skipped"`
    and the first :obj:`"errors"`; :obj:`"bin_edges"`, :obj:`"num_levels"`,
    :obj:`"split_rule"`, and per split (:obj:`"splits"`) its
    :obj:`"threads"`, :obj:`"comments"`, :obj:`"labelled"` comments, first
    and last start times and the count of every level.

    Args:
        root (str): Root directory; the raw files are in :obj:`root/raw/`.
        split (str, optional): :obj:`"train"`, :obj:`"val"` or
            :obj:`"test"`. (default: :obj:`"train"`)
        files (List[str], optional): The raw files, relative to
            :obj:`root/raw/`. (default: :obj:`["RC_2005-12.zst",
            "RC_2006-01.zst"]`)
        num_levels (int, optional): The number of popularity levels :obj:`L`.
            (default: :obj:`8`)
        on_error (str, optional): :obj:`"raise"` or :obj:`"skip"`, what to
            do with a malformed line. (default: :obj:`"raise"`)
        num_features (int, optional): The width :obj:`F` of the hashed bag of
            words, kept as :obj:`dataset.num_bow_features`
            (:obj:`dataset.num_features`, the width of :obj:`x`, is
            :obj:`F + 7`). (default: :obj:`1024`)
        transform (callable, optional): A function/transform that takes in a
            :class:`~torch_geometric.data.Data` object and returns a
            transformed version. The data object will be transformed before
            every access. (default: :obj:`None`)
        pre_transform (callable, optional): A function/transform that takes
            in a :class:`~torch_geometric.data.Data` object and returns a
            transformed version, applied once before saving to disk.
            (default: :obj:`None`)
        force_reload (bool, optional): Whether to re-process the dataset.
            (default: :obj:`False`)

    **STATS** (default files):

    .. list-table::
        :widths: 20 10 10 10
        :header-rows: 1

        * - File
          - #comments
          - #threads
          - #orphans (in the file alone)
        * - RC_2005-12.zst
          - 1,075
          - 396
          - 15
        * - RC_2006-01.zst
          - 3,666
          - 1,173
          - 58

    .. list-table::
        :widths: 10 10 10 10
        :header-rows: 1

        * - Split
          - #threads
          - #comments
          - #labelled
        * - train
          - 337
          - 1,014
          - 903
        * - val
          - 59
          - 140
          - 122
        * - test
          - 1,140
          - 3,587
          - 3,068

    With the default files the level edges are :obj:`[0, 1, 2, 3, 4, 5, 7]`:
    the levels are the scores :math:`< 0`, :obj:`0`, :obj:`1`, :obj:`2`,
    :obj:`3`, :obj:`4`, :obj:`5-6` and :math:`\ge 7`.
    """
    splits = ('train', 'val', 'test')
    feature_names = FEATURE_NAMES

    def __init__(self, root: str, split: str = 'train',
                 files: Optional[Sequence[str]] = None, num_levels: int = 8,
                 on_error: str = 'raise', num_features: int = 2**10,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 force_reload: bool = False) -> None:
        name = self.__class__.__name__
        check_choice(name, 'split', split, self.splits)
        if on_error not in ('raise', 'skip'):
            raise ValueError(f"'{name}' expects 'on_error' to be 'raise' or "
                             f"'skip' (got '{on_error}')")
        if int(num_levels) < 1 or int(num_features) < 1:
            raise ValueError(f"'{name}' expects 'num_levels' and "
                             f"'num_features' to be positive (got "
                             f"{num_levels} and {num_features})")
        if isinstance(files, str):
            files = [files]
        files = list(DEFAULT_FILES if files is None else files)
        if not files or len(set(files)) != len(files):
            raise ValueError(f"'{name}' expects 'files' to be a non-empty "
                             f"list of distinct files (got {files})")
        self.split = split
        self.files = files
        self.num_levels = int(num_levels)
        self.on_error = on_error
        self.num_bow_features = int(num_features)
        check_raw_link(root, lambda raw: self._missing_message(raw, files))
        super().__init__(root, transform, pre_transform,
                         force_reload=force_reload)
        self.load(self.processed_paths[self.splits.index(split)])

    @property
    def raw_file_names(self) -> List[str]:
        return list(self.files)

    @property
    def _tag(self) -> str:
        # The processed files depend on these settings, and not on `split`:
        # every split is processed at once, for each setting apart.
        key = json.dumps([1, self.files, self.num_levels,
                          self.num_bow_features,
                          self.on_error])
        return hashlib.sha1(key.encode('utf-8')).hexdigest()[:10]

    @property
    def processed_file_names(self) -> List[str]:
        return [f'{split}_{self._tag}.pt' for split in self.splits]

    def _missing_message(self, raw_dir: str, missing: Sequence[str]) -> str:
        return (f"'{self.__class__.__name__}' needs the file(s) "
                f"{', '.join(missing)} in '{raw_dir}', which are not "
                f"downloaded automatically: get {_PUSHSHIFT} and put them "
                f"into '{raw_dir}' (or link a folder holding them as "
                f"'{raw_dir}')")

    def download(self) -> None:
        if not self.force_reload and all(
                fs.exists(path) for path in self.processed_paths):
            return  # Processed already; the raw files are not needed.
        missing = [f for f, path in zip(self.raw_file_names, self.raw_paths)
                   if not osp.exists(path)]
        raise FileNotFoundError(self._missing_message(self.raw_dir, missing))

    # Processing ##############################################################

    def _read(self) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
        # Every comment of every file, with the file it comes from.
        name = self.__class__.__name__
        comments: List[Dict[str, Any]] = []
        seen: Dict[str, Tuple[str, int]] = {}
        per_file: Dict[str, Dict[str, int]] = {}
        errors: List[str] = []
        for fid, (file, path) in enumerate(zip(self.files, self.raw_paths)):
            lines = num = skipped = 0
            links = set()
            lineno = 0
            stream = _open_lines(path)
            try:
                for lineno, line in enumerate(stream, start=1):
                    lines = lineno
                    if not line.strip():
                        continue
                    try:
                        c = _parse_comment(line)
                        if c['id'] in seen:
                            f0, l0 = seen[c['id']]
                            raise ValueError(f"duplicate comment id "
                                             f"'{c['id']}' (first in '{f0}'"
                                             f", line {l0})")
                    except ValueError as e:
                        msg = (f"'{name}' cannot read '{path}', line "
                               f"{lineno}: {e}")
                        if self.on_error == 'raise':
                            raise ValueError(msg) from None
                        skipped += 1
                        if len(errors) < _MAX_ERRORS:
                            errors.append(msg)
                        continue
                    seen[c['id']] = (file, lineno)
                    c['file'] = fid
                    comments.append(c)
                    links.add(c['link_id'])
                    num += 1
            except ValueError:
                raise
            except Exception as e:  # A corrupt or truncated compressed file.
                raise ValueError(f"'{name}' cannot read '{path}' after line "
                                 f"{lineno}: {type(e).__name__}: {e}") from e
            finally:
                stream.close()
            per_file[file] = dict(lines=lines, comments=num,
                                  threads=len(links), skipped=skipped)
        return comments, dict(per_file=per_file, errors=errors)

    def process(self) -> None:
        name = self.__class__.__name__
        comments, info = self._read()
        if not comments:
            raise ValueError(f"'{name}' found no comments in "
                             f"{', '.join(self.raw_paths)}")
        by_link: Dict[str, List[Dict[str, Any]]] = {}
        for c in comments:
            by_link.setdefault(c['link_id'], []).append(c)
        threads = []
        for link, cs in by_link.items():
            t = _build_thread(link, cs, self.num_bow_features)
            first = min(cs, key=lambda c: (c['time'], _id_key(c['id'])))
            t['file'] = first['file']
            threads.append(t)
        threads.sort(key=lambda t: (t['start'], _id_key(t['link_id'])))

        num = len(threads)
        default = sorted(osp.basename(f) for f in self.files) == \
            sorted(DEFAULT_FILES)
        if default:
            test_file = [osp.basename(f) for f in self.files].index(
                DEFAULT_FILES[1])
            early = [t for t in threads if t['file'] != test_file]
            (b1,) = _cut(len(early), (0.85, 0.15))
            assign = ['train'] * b1 + ['val'] * (len(early) - b1)
            late = [t for t in threads if t['file'] == test_file]
            threads = early + late  # Each part in start order.
            assign += ['test'] * len(late)
            rule = ('default files: threads starting in RC_2005-12 -> train '
                    '(earlier 85 %) / val (later 15 %), starting in '
                    'RC_2006-01 -> test')
        else:
            b1, b2 = _cut(num, (0.70, 0.15, 0.15))
            assign = ['train'] * b1 + ['val'] * (b2 - b1) + \
                ['test'] * (num - b2)
            rule = 'time order of the thread starts: 70 % / 15 % / 15 %'

        data_lists, edges = _assemble(threads, assign, self.num_levels,
                                      self.pre_transform)
        info.update(
            files=list(self.files),
            comments=len(comments),
            threads=num,
            orphans=sum(int(t['orphan'].sum()) for t in threads),
            deleted=sum(int(t['deleted'].sum()) for t in threads),
            skipped=sum(f['skipped'] for f in info['per_file'].values()),
            bin_edges=edges,
            num_levels=self.num_levels,
            num_features=self.num_bow_features,
            feature_names=list(FEATURE_NAMES),
            split_rule=rule,
            splits=_split_info(threads, assign, data_lists, self.num_levels),
        )
        _save_splits(data_lists, info, self.processed_paths, self.splits)

    def load(self, path: str, data_cls=Data) -> None:
        r"""Loads one split and the dataset's :obj:`info` from :obj:`path`."""
        _load_split(self, path)

    @property
    def bin_edges(self) -> List[float]:
        r"""The lower bounds of popularity levels :obj:`1, 2, ...`, fitted on
        the training threads."""
        return list(self.info['bin_edges'])

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({len(self)}, split={self.split!r})'


def _save_splits(data_lists: Dict[str, List[Data]], info: Dict[str, Any],
                 paths: Sequence[str], splits: Sequence[str]) -> None:
    # Collates every split, then writes them all; each file is written
    # atomically, and nothing is written before everything is collated.
    blobs = []
    for split in splits:
        data_list = data_lists[split]
        if data_list:
            data, slices = InMemoryDataset.collate(data_list)
            blobs.append((data.to_dict(), slices, data.__class__, info))
        else:
            blobs.append((None, None, Data, info))
    for blob, path in zip(blobs, paths):
        _atomic_torch_save(blob, path)


def _load_split(dataset: InMemoryDataset, path: str) -> None:
    name = dataset.__class__.__name__
    out = fs.torch_load(path)
    if not (isinstance(out, tuple) and len(out) == 4):
        raise ValueError(f"'{name}' cannot read '{path}' (written by another "
                         f"version?); pass 'force_reload=True' to process the "
                         f"raw files again")
    data, slices, data_cls, info = out
    dataset.info = info
    if data is None:
        sizes = {k: v['threads'] for k, v in info['splits'].items()}
        raise ValueError(f"'{name}' has no threads in split "
                         f"'{dataset.split}' ({info['threads']} threads in "
                         f"all, per split: {sizes})")
    dataset.data = data_cls.from_dict(data)
    dataset.slices = slices


# Synthetic threads ###########################################################

_WORDS = ('the a and of to is it that this you i in for not on with but '
          'what lol agree wrong source link great why no yes funny really '
          'think people good bad vote reddit site news article read thanks '
          'interesting point true false exactly').split()


class SyntheticRedditThreads(InMemoryDataset):
    r"""Synthetic comment threads with the schema of :class:`RedditThreads`
    (same attributes, same feature layout for the same :obj:`num_features`),
    so that the popularity task of the `"Conversation Modeling on Reddit
    Using a Graph-Structured LSTM" <https://arxiv.org/abs/1704.02080>`_
    paper runs without the Pushshift dumps.

    Threads start one after another (exponential gaps of about ten
    minutes) and grow by preferential attachment: the :math:`k`-th comment
    replies to the root with a weight of :math:`4 + r_0`, or to an earlier
    comment :math:`j` with a weight of :math:`1 + r_j`, where :math:`r` is
    the number of replies so far. Comments come at increasing times (gaps
    that grow along the thread), from 60 authors (5 % :obj:`"[deleted]"`),
    with a few words from a 45-word vocabulary. The score is driven by the
    position in time and in the tree, plus noise:

    .. math::
        \textrm{score} = \mathrm{round}\left(3 \left(1.2 \log(1 + D) +
        2 e^{-k / 4} - 0.3 (\textrm{depth} - 1) +
        \epsilon\right)\right), \quad \epsilon \sim \mathcal{N}(0, 0.5^2),

    with :math:`D` the number of descendants of the comment in the final
    thread (replies that come later, which only a model that sees the tree
    can count) and :math:`k` its rank in the thread (:obj:`0` for the
    first comment). Everything is drawn
    from :obj:`numpy.random.default_rng(seed)`: equal arguments give equal
    threads.

    The threads are split 70 / 15 / 15 in time order into :obj:`"train"`,
    :obj:`"val"` and :obj:`"test"`, and labelled as in
    :class:`RedditThreads` (levels fitted on the training threads).
    Nothing is written to disk. Every thread is a
    :class:`~torch_geometric.data.Data` object with the attributes of
    :class:`RedditThreads` (:obj:`orphan` is all :obj:`False`), and
    :obj:`dataset.info` has the same keys (plus :obj:`"seed"`).

    Args:
        root (str, optional): Ignored (accepted so that the class can stand
            in for :class:`RedditThreads`). (default: :obj:`None`)
        num_threads (int, optional): The number of threads of all splits
            together. (default: :obj:`1000`)
        seed (int, optional): The random seed. (default: :obj:`0`)
        split (str, optional): :obj:`"train"`, :obj:`"val"` or
            :obj:`"test"`. (default: :obj:`"train"`)
        num_levels (int, optional): The number of popularity levels.
            (default: :obj:`8`)
        num_features (int, optional): The width :obj:`F` of the hashed bag of
            words, kept as :obj:`dataset.num_bow_features`
            (:obj:`dataset.num_features`, the width of :obj:`x`, is
            :obj:`F + 7`). (default: :obj:`1024`)
        max_comments (int, optional): The largest number of comments in a
            thread. (default: :obj:`300`)
        transform (callable, optional): A function/transform applied to
            every :class:`~torch_geometric.data.Data` object on access.
            (default: :obj:`None`)
        pre_transform (callable, optional): A function/transform applied
            once to every :class:`~torch_geometric.data.Data` object.
            (default: :obj:`None`)
    """
    splits = ('train', 'val', 'test')
    feature_names = FEATURE_NAMES

    def __init__(self, root: Optional[str] = None, num_threads: int = 1000,
                 seed: int = 0, split: str = 'train', num_levels: int = 8,
                 num_features: int = 2**10, max_comments: int = 300,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None) -> None:
        name = self.__class__.__name__
        check_choice(name, 'split', split, self.splits)
        if int(num_threads) < 3:
            raise ValueError(f"'{name}' expects 'num_threads' >= 3 (one per "
                             f"split; got {num_threads})")
        super().__init__(None, transform)
        self.split = split
        self.num_threads = int(num_threads)
        self.seed = int(seed)
        self.num_levels = int(num_levels)
        self.num_bow_features = int(num_features)
        self.max_comments = int(max_comments)

        threads = [
            _build_thread(link, cs, self.num_bow_features)
            for link, cs in self._generate()
        ]
        b1, b2 = _cut(len(threads), (0.70, 0.15, 0.15))
        b1, b2 = max(b1, 1), min(max(b2, b1 + 1), len(threads) - 1)
        assign = ['train'] * b1 + ['val'] * (b2 - b1) + \
            ['test'] * (len(threads) - b2)
        data_lists, edges = _assemble(threads, assign, self.num_levels,
                                      pre_transform)
        self.info = dict(
            files=[], per_file={}, errors=[],
            comments=sum(t['x'].size(0) - 1 for t in threads),
            threads=len(threads), orphans=0, deleted=0, skipped=0,
            bin_edges=edges,
            num_levels=self.num_levels, num_features=self.num_bow_features,
            feature_names=list(FEATURE_NAMES),
            split_rule='time order of the thread starts: 70 % / 15 % / 15 %',
            splits=_split_info(threads, assign, data_lists, self.num_levels),
            seed=self.seed)
        self.data, self.slices = self.collate(data_lists[split])

    def _generate(self) -> Iterator[Tuple[str, List[Dict[str, Any]]]]:
        import numpy as np
        rng = np.random.default_rng(self.seed)
        authors = [f'user{i}' for i in range(60)]
        word_p = 1.0 / np.arange(1, len(_WORDS) + 1)  # Zipf-like
        word_p /= word_p.sum()
        start = 1_500_000_000
        cid = 36**3  # Base-36 ids of four digits and more.
        for t in range(self.num_threads):
            start += 1 + int(rng.exponential(600))
            link = f't3_s{np.base_repr(t, 36).lower()}'
            n = int(min(self.max_comments,
                        1 + np.floor(rng.lognormal(1.2, 1.1))))
            parent = [-1] * (n + 1)
            replies = [0] * (n + 1)
            time = [start] * (n + 1)
            # Preferential attachment: the total weight of the k nodes
            # 0, ..., k - 1 is 4 + (k - 1) + (number of replies so far).
            for k in range(1, n + 1):
                u = rng.random() * (4.0 + 2 * (k - 1))
                p, acc = 0, 4.0 + replies[0]
                while acc <= u and p < k - 1:
                    p += 1
                    acc += 1.0 + replies[p]
                parent[k] = p
                replies[p] += 1
                gap = rng.exponential(60.0 * (1 + 0.5 * k))
                time[k] = time[k - 1] + (0 if k == 1 else 1 + int(gap))
            depth = [0] * (n + 1)
            for k in range(1, n + 1):
                depth[k] = depth[parent[k]] + 1
            desc = [0] * (n + 1)
            for k in range(n, 0, -1):  # Children come after their parent.
                desc[parent[k]] += desc[k] + 1
            ids = [link[3:]]
            comments = []
            for k in range(1, n + 1):
                ids.append(np.base_repr(cid, 36).lower())
                cid += 1
                latent = (1.2 * math.log1p(desc[k]) +
                          2.0 * math.exp(-(k - 1) / 4.0) -
                          0.3 * (depth[k] - 1) + rng.normal(0.0, 0.5))
                a = int(rng.integers(len(authors)))
                author = '[deleted]' if rng.random() < 0.05 else authors[a]
                words = rng.choice(len(_WORDS), size=1 + int(
                    rng.poisson(6)), p=word_p)
                comments.append(dict(
                    id=ids[k],
                    parent_id=(link if parent[k] == 0 else
                               f't1_{ids[parent[k]]}'),
                    time=time[k], score=int(round(3 * latent)),
                    author=author,
                    body=' '.join(_WORDS[int(i)] for i in words)))
            yield link, comments

    @property
    def bin_edges(self) -> List[float]:
        r"""The lower bounds of popularity levels :obj:`1, 2, ...`, fitted on
        the training threads."""
        return list(self.info['bin_edges'])

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({len(self)}, split={self.split!r}'
                f', seed={self.seed})')
