r"""Synthetic comment threads with the schema of
:class:`~tgr.datasets.RedditThreads` (:class:`SyntheticRedditThreads`), so
that the popularity task runs without the Pushshift dumps."""
import math
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from .base import TGRDataset, check_choice
from .comment_threads import (FEATURE_NAMES, LevelEdges, build_thread, cut,
                              label_threads, split_stats)

__all__ = ['SyntheticRedditThreads']

_WORDS = ('the a and of to is it that this you i in for not on with but '
          'what lol agree wrong source link great why no yes funny really '
          'think people good bad vote reddit site news article read thanks '
          'interesting point true false exactly').split()


class SyntheticRedditThreads(TGRDataset, LevelEdges):
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
            build_thread(link, cs, self.num_bow_features)
            for link, cs in self._generate()
        ]
        b1, b2 = cut(len(threads), (0.70, 0.15, 0.15))
        b1, b2 = max(b1, 1), min(max(b2, b1 + 1), len(threads) - 1)
        assign = ['train'] * b1 + ['val'] * (b2 - b1) + \
            ['test'] * (len(threads) - b2)
        data_lists, edges = label_threads(threads, assign, self.num_levels,
                                          pre_transform)
        self.info = dict(
            files=[], per_file={}, errors=[],
            comments=sum(t['x'].size(0) - 1 for t in threads),
            threads=len(threads), orphans=0, deleted=0, skipped=0,
            bin_edges=edges,
            num_levels=self.num_levels, num_features=self.num_bow_features,
            feature_names=list(FEATURE_NAMES),
            split_rule='time order of the thread starts: 70 % / 15 % / 15 %',
            splits=split_stats(threads, assign, data_lists, self.num_levels),
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

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({len(self)}, split={self.split!r}'
                f', seed={self.seed})')
