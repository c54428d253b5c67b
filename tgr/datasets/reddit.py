r"""Reddit comment threads from the Pushshift dumps (:class:`RedditThreads`),
read with :func:`tgr.io.read_pushshift`, for comment popularity prediction as
in the `"Conversation Modeling on Reddit Using a Graph-Structured LSTM"
<https://arxiv.org/abs/1704.02080>`_ paper (Zayats and Ostendorf, TACL 2018).
The features and labels of a thread are built in
:mod:`tgr.datasets.comment_threads`; a synthetic generator with the same
schema is :class:`~tgr.datasets.SyntheticRedditThreads`.
"""
import hashlib
import json
import os
import os.path as osp
import re
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..io.pushshift import REQUIRED_FIELDS  # noqa: F401 (documented here)
from ..io.pushshift import MAX_ERRORS, read_pushshift
from .base import TGRDataset, check_choice
from .comment_threads import LEAKY_FIELDS  # noqa: F401 (documented here)
from .comment_threads import (FEATURE_NAMES, LevelEdges, build_thread, cut,
                              fit_level_edges, hash_bag_of_words, id_key,
                              label_threads, score_to_level, split_stats)
from .synthetic_reddit import SyntheticRedditThreads

__all__ = [
    'RedditThreads',
    'SyntheticRedditThreads',
    'fit_level_edges',
    'score_to_level',
    'hash_bag_of_words',
]

DEFAULT_FILES = ('RC_2005-12.zst', 'RC_2006-01.zst')


class RedditThreads(TGRDataset, LevelEdges):
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
    The processed files are named after the settings, the raw files' names,
    sizes and modification times and the :obj:`repr` of
    :obj:`pre_transform`: a changed dump or another :obj:`pre_transform`
    is processed anew (and the raw files must stay in :obj:`root/raw/`).
    A file without any comment (e.g. an empty download) is an error that
    names it.

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
        transform (callable, optional): Applied to every sample on access.
            (default: :obj:`None`)
        pre_transform (callable, optional): Applied once to every sample
            before saving. (default: :obj:`None`)
        force_reload (bool, optional): Re-process the raw files.
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
    url = 'https://files.pushshift.io/reddit/comments/'

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
        with warnings.catch_warnings():
            # PyG warns when the pre_transform differs from the one of the
            # last processing; here it has processed files of its own.
            warnings.filterwarnings('ignore', message='The `pre_transform` '
                                    'argument differs')
            super().__init__(root, transform, pre_transform,
                             force_reload=force_reload)
        path = self.processed_paths[self.splits.index(split)]
        self.info: Dict[str, Any] = self.load(path)['info']
        if len(self) == 0:
            sizes = {k: v['threads'] for k, v in self.info['splits'].items()}
            raise ValueError(f"'{name}' has no threads in split '{split}' "
                             f"({self.info['threads']} threads in all, per "
                             f"split: {sizes})")

    @property
    def raw_file_names(self) -> List[str]:
        return list(self.files)

    @property
    def _tag(self) -> str:
        # The processed files depend on these settings, on the raw files
        # (names, sizes, modification times: a file changed or replaced gets
        # new processed files) and on the pre_transform's repr, and not on
        # `split`: every split is processed at once.
        raw = []
        for path in self.raw_paths:
            try:
                st = os.stat(path)
                raw.append([st.st_size, st.st_mtime_ns])
            except OSError:
                raw.append(None)  # Missing: no processed file matches.
        transform = re.sub(r' at 0x[0-9a-fA-F]+', '',
                           repr(self.pre_transform))
        key = json.dumps([2, self.files, raw, self.num_levels,
                          self.num_bow_features, self.on_error, transform])
        return hashlib.sha1(key.encode('utf-8')).hexdigest()[:10]

    @property
    def processed_file_names(self) -> List[str]:
        return [f'{split}_{self._tag}.pt' for split in self.splits]

    def describe_raw_files(self, missing: Sequence[str]) -> str:
        return f"the file(s) {', '.join(missing)}"

    def how_to_get(self, raw_dir: str) -> str:
        return (f"get the monthly comment dumps 'RC_YYYY-MM.zst' of the "
                f"Pushshift Reddit dataset (Baumgartner et al. 2020; e.g. the "
                f"Academic Torrents collection 'reddit/comments', or "
                f"{self.url}) and put them into '{raw_dir}' (or link a "
                f"folder holding them as '{raw_dir}')")

    # Processing ##############################################################

    def _read(self) -> Tuple[List[Dict[str, Any]], Dict[str, Any]]:
        # Every comment of every file, with the file it comes from.
        comments: List[Dict[str, Any]] = []
        seen: Dict[str, Tuple[str, int]] = {}
        per_file: Dict[str, Dict[str, int]] = {}
        errors: List[str] = []
        for fid, (file, path) in enumerate(zip(self.files, self.raw_paths)):
            cs, stats = read_pushshift(path, self.on_error, seen, name=file,
                                       who=self.__class__.__name__)
            if not cs:  # e.g. an empty or failed download
                raise ValueError(
                    f"'{self.__class__.__name__}' found no comments in "
                    f"'{path}' ({os.path.getsize(path)} bytes, "
                    f"{stats['lines']} lines, {stats['skipped']} skipped)")
            for c in cs:
                c['file'] = fid
            comments += cs
            errors += stats.pop('errors')[:MAX_ERRORS - len(errors)]
            per_file[file] = stats
        return comments, dict(per_file=per_file, errors=errors)

    def process(self) -> None:
        comments, info = self._read()  # Every file holds comments.
        by_link: Dict[str, List[Dict[str, Any]]] = {}
        for c in comments:
            by_link.setdefault(c['link_id'], []).append(c)
        threads = []
        for link, cs in by_link.items():
            t = build_thread(link, cs, self.num_bow_features)
            first = min(cs, key=lambda c: (c['time'], id_key(c['id'])))
            t['file'] = first['file']
            threads.append(t)
        threads.sort(key=lambda t: (t['start'], id_key(t['link_id'])))

        num = len(threads)
        default = sorted(osp.basename(f) for f in self.files) == \
            sorted(DEFAULT_FILES)
        if default:
            test_file = [osp.basename(f) for f in self.files].index(
                DEFAULT_FILES[1])
            early = [t for t in threads if t['file'] != test_file]
            (b1,) = cut(len(early), (0.85, 0.15))
            assign = ['train'] * b1 + ['val'] * (len(early) - b1)
            late = [t for t in threads if t['file'] == test_file]
            threads = early + late  # Each part in start order.
            assign += ['test'] * len(late)
            rule = ('default files: threads starting in RC_2005-12 -> train '
                    '(earlier 85 %) / val (later 15 %), starting in '
                    'RC_2006-01 -> test')
        else:
            b1, b2 = cut(num, (0.70, 0.15, 0.15))
            assign = ['train'] * b1 + ['val'] * (b2 - b1) + \
                ['test'] * (num - b2)
            rule = 'time order of the thread starts: 70 % / 15 % / 15 %'

        data_lists, edges = label_threads(threads, assign, self.num_levels,
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
            splits=split_stats(threads, assign, data_lists, self.num_levels),
        )
        self.save_many([data_lists[split] for split in self.splits],
                       self.processed_paths, info=info)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({len(self)}, split={self.split!r})'
