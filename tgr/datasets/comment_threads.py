r"""Comment threads as graphs, shared by :class:`~tgr.datasets.RedditThreads`
and :class:`~tgr.datasets.SyntheticRedditThreads`: the features of every
comment, the popularity levels (equal-frequency bins of the scores, fitted on
the training threads) and the time-ordered splits."""
import math
import re
import zlib
from collections import Counter
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Data

__all__ = [
    'FEATURE_NAMES',
    'LEAKY_FIELDS',
    'hash_bag_of_words',
    'fit_level_edges',
    'score_to_level',
    'build_thread',
    'label_threads',
    'split_stats',
    'cut',
    'id_key',
    'LevelEdges',
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

#: Fields that are the label or leak it: never read into a feature.
LEAKY_FIELDS = ('score', 'ups', 'downs', 'gilded', 'controversiality')

_TOKEN = re.compile(r'\w+')
_DELETED = frozenset({'[deleted]', '[removed]', ''})
# The body of a comment deleted (or removed by a moderator) after it was
# posted, as the dumps hold it: the text is unknown, and the deletion itself
# comes after the posting and goes with low scores.
_DELETED_BODIES = frozenset({'[deleted]', '[removed]'})


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


def id_key(cid: str) -> Tuple[int, str]:
    r"""The sort key of a Reddit id: ids are base-36 numbers without leading
    zeros, so shorter first, then in code point order, is their numeric
    order."""
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


def build_thread(link_id: str, comments: List[Dict[str, Any]],
                 num_features: int) -> Dict[str, Any]:
    r"""The tensors of one thread (everything but the label, see
    :class:`~tgr.datasets.RedditThreads`) from its comments: dictionaries
    with :obj:`id`, :obj:`parent_id`, :obj:`time`, :obj:`score`,
    :obj:`author` and :obj:`body` (as :func:`tgr.io.pushshift.parse_comment`
    returns them), with :obj:`num_features` bag-of-words columns."""
    comments = sorted(comments, key=lambda c: (c['time'], id_key(c['id'])))
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


def cut(num: int, fracs: Sequence[float]) -> List[int]:
    r"""The boundaries of consecutive parts of :obj:`num` items with the
    fractions :obj:`fracs` (rounded half up), without the last one."""
    out, acc = [], 0.0
    for frac in fracs[:-1]:
        acc += frac
        out.append(int(math.floor(acc * num + 0.5)))
    return out


def label_threads(threads: List[Dict[str, Any]], assign: List[str],
                  num_levels: int, pre_transform: Optional[Callable] = None,
                  ) -> Tuple[Dict[str, List[Data]], List[float]]:
    r"""Fits the level edges on the labelled comments of the threads whose
    :obj:`assign` is :obj:`"train"`, labels every thread (:obj:`-1` at the
    root and at deleted comments), applies :obj:`pre_transform`, and returns
    the :class:`~torch_geometric.data.Data` objects of every split and the
    edges."""
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


def split_stats(threads, assign, data_lists, num_levels) -> Dict[str, Any]:
    r"""Per split: its threads, comments, labelled comments, first and last
    start times and the count of every level."""
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


class LevelEdges:
    r"""The :attr:`bin_edges` of a dataset of labelled threads, kept in its
    :obj:`info`."""
    info: Dict[str, Any]

    @property
    def bin_edges(self) -> List[float]:
        r"""The lower bounds of popularity levels :obj:`1, 2, ...`, fitted on
        the training threads."""
        return list(self.info['bin_edges'])
