import hashlib
from collections import Counter
from typing import Callable, Dict, List, Optional

import torch

from ..io.bbc import CLASSES, read_bbc
from .base import TGRDataset, check_choice
from .documents import DocumentData

__all__ = ['BBCNews', 'DocumentData', 'bbc_split']

PAD, UNK = '<pad>', '<unk>'

#: The seed of the fixed split (part of every document's hash).
SPLIT_SEED = 0
#: The fractions of each class that go to train and val; test gets the rest.
FRACTIONS = (0.7, 0.1)


def bbc_split(names: List[str], seed: int = SPLIT_SEED) -> Dict[str, str]:
    r"""The fixed, stratified 70 / 10 / 20 split of the articles
    :obj:`names` (:obj:`"category/NNN.txt"`): within each category, articles
    are ordered by the SHA-256 of :obj:`"{seed}/{name}"` and the first
    :math:`\mathrm{round}(0.7 n)` go to :obj:`"train"`, the next
    :math:`\mathrm{round}(0.1 n)` to :obj:`"val"`, the rest to
    :obj:`"test"`. Independent of the order of :obj:`names`, of Python's and
    PyTorch's random number generators and of their versions.

    Returns:
        the split of every name.
    """
    by_class: Dict[str, List[str]] = {}
    for name in names:
        by_class.setdefault(name.split('/')[0], []).append(name)
    out = {}
    for members in by_class.values():
        members = sorted(members, key=lambda n: hashlib.sha256(
            f'{seed}/{n}'.encode()).hexdigest())
        n_train = round(FRACTIONS[0] * len(members))
        n_val = round(FRACTIONS[1] * len(members))
        for i, name in enumerate(members):
            out[name] = ('train' if i < n_train else
                         'val' if i < n_train + n_val else 'test')
    return out


class BBCNews(TGRDataset):
    r"""The BBC News articles from the `"Practical Solutions to the Problem
    of Diagonal Dominance in Kernel Document Clustering"
    <http://mlg.ucd.ie/datasets/bbc.html>`_ paper (Greene & Cunningham,
    ICML 2006): 2,225 news articles of 2004-2005 in five topics
    (business 510, entertainment 386, politics 417, sport 511, tech 401).

    Every article is one :class:`tgr.datasets.DocumentData` with
    :obj:`token`, :obj:`token_sentence`, :obj:`sentence_document` (the input
    of :class:`tgr.nn.models.HierarchicalAttentionNetwork`) and :obj:`y`
    (:obj:`long`, :math:`(1,)`, the topic's index in :obj:`classes`).
    Sentences and tokens follow the rules of :mod:`tgr.io.bbc` (headline
    first, lower-cased tokens, standard library only).

    The split is fixed, seeded and stratified: 70 / 10 / 20 % of every topic
    for train / val / test (1,558 / 223 / 444 articles; see
    :func:`bbc_split`). The vocabulary is built from the training articles:
    :obj:`"<pad>"` (id :obj:`0`, never produced; for padded models),
    :obj:`"<unk>"` (id :obj:`1`, every token seen fewer than
    :obj:`min_count` times in train), then the other tokens by decreasing
    count, ties in code point order. It is :obj:`dataset.vocab`, the same
    for all splits, and :obj:`dataset.names` gives every article's file
    (:obj:`"sport/199.txt"`).

    All three splits are processed together, once, from the raw folder (a
    few seconds) into :obj:`root/processed/`.

    The files cannot be downloaded automatically: get :obj:`bbc-fulltext.zip`
    from http://mlg.ucd.ie/datasets/bbc.html and put (or link) its
    :obj:`bbc/` folder, which holds the five topic folders, as
    :obj:`root/raw/`.

    Args:
        root (str): Root directory; :obj:`root/raw/` holds the topic
            folders.
        split (str, optional): :obj:`"train"`, :obj:`"val"` or
            :obj:`"test"`. (default: :obj:`"train"`)
        min_count (int, optional): Tokens seen fewer times in the training
            articles become :obj:`"<unk>"`. (default: :obj:`2`)
        transform, pre_transform, pre_filter, force_reload, log: As in
            :class:`~torch_geometric.data.InMemoryDataset`.

    **STATS:**

    .. list-table::
        :widths: 10 10 10 10 10 10
        :header-rows: 1

        * - #train
          - #val
          - #test
          - #sentences / article
          - #tokens / sentence
          - #classes
        * - 1,558
          - 223
          - 444
          - 19.7 (median 17, max 246)
          - 19.5 (median 19, max 138)
          - 5
    """
    url = 'http://mlg.ucd.ie/datasets/bbc.html'
    splits = ('train', 'val', 'test')
    classes = CLASSES

    def __init__(self, root: str, split: str = 'train', min_count: int = 2,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None,
                 force_reload: bool = False, log: bool = True) -> None:
        who = self.__class__.__name__
        check_choice(who, 'split', split, self.splits)
        if not isinstance(min_count, int) or min_count < 1:
            raise ValueError(f"'{who}' expects 'min_count' to be a positive "
                             f"integer (got {min_count})")
        self.split = split
        self.min_count = min_count
        super().__init__(root, transform, pre_transform, pre_filter,
                         force_reload=force_reload, log=log)
        extra = self.load(self.processed_paths[self.splits.index(split)])
        self.vocab: List[str] = list(extra['vocab'])
        self.names: List[str] = list(extra['names'][split])

    def how_to_get(self, raw_dir: str) -> str:
        return (f"get bbc-fulltext.zip from {self.url} and put (or link) its "
                f"'bbc' folder, which holds the five topic folders, as "
                f"'{raw_dir}'")

    @property
    def raw_file_names(self) -> List[str]:
        return list(CLASSES)

    @property
    def processed_file_names(self) -> List[str]:
        return [f'{split}_min{self.min_count}.pt' for split in self.splits]

    def process(self) -> None:
        articles = read_bbc(self.raw_dir)
        split_of = bbc_split([name for _, name, _ in articles])
        count = Counter(token for _, name, sentences in articles
                        if split_of[name] == 'train'
                        for sentence in sentences for token in sentence)
        kept = [w for w in count if count[w] >= self.min_count]
        vocab = [PAD, UNK] + sorted(kept, key=lambda w: (-count[w], w))
        word2idx = {w: i for i, w in enumerate(vocab)}
        data_lists = {split: [] for split in self.splits}
        names: Dict[str, List[str]] = {split: [] for split in self.splits}
        for category, name, sentences in articles:
            data = DocumentData.from_sentences(
                [[word2idx.get(t, 1) for t in s] for s in sentences],
                y=torch.tensor([CLASSES.index(category)]))
            data = self.pre_process(data)
            if data is None:
                continue
            data_lists[split_of[name]].append(data)
            names[split_of[name]].append(name)
        # All three files at once (nothing is written if collating fails):
        self.save_many([data_lists[split] for split in self.splits],
                       self.processed_paths, vocab=vocab, names=names)

    def decode(self, data: DocumentData) -> List[List[str]]:
        r"""The tokens of every sentence of :obj:`data` (one article), with
        tokens outside the vocabulary as :obj:`"<unk>"`."""
        out: List[List[str]] = [[] for _ in range(data.num_sentences)]
        for t, s in zip(data.token.tolist(), data.token_sentence.tolist()):
            out[s].append(self.vocab[t])
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({len(self)}, '
                f'split={self.split!r})')
