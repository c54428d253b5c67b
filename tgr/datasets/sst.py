r"""The Stanford Sentiment Treebank (:class:`SST`), read from its PTB trees
with :func:`tgr.io.read_ptb_trees`."""
import os
import os.path as osp
from collections import Counter
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch_geometric.data import Data

from ..io.ptb import parse_ptb_tree, read_ptb_trees
from ..transforms.add_levels import union_levels
from .base import TGRDataset, check_choice

__all__ = ['SST', 'build_vocab']

#: Former names of the readers (now in :mod:`tgr.io.ptb`).
parse_tree = parse_ptb_tree
read_sst_file = read_ptb_trees

PAD, UNK = '<pad>', '<unk>'


def build_vocab(trees) -> List[str]:
    r"""The vocabulary of :obj:`trees`: :obj:`"<pad>"` (id :obj:`0`),
    :obj:`"<unk>"` (id :obj:`1`), then every token by decreasing count, ties
    in code point order."""
    count = Counter(w for _, _, words in trees for w in words if w is not None)
    words = sorted(count, key=lambda w: (-count[w], w))
    return [PAD, UNK] + words


_VOCAB_CACHE: Dict[Tuple[str, int, int], List[str]] = {}


def _train_vocab(path: str, trees=None) -> List[str]:
    # The vocabulary of the training file (parsed unless its `trees` are
    # given), kept for the process's lifetime under the file's identity, so
    # that processing the dev and the test split does not parse train.txt
    # again each time.
    st = os.stat(path)
    key = (osp.realpath(path), st.st_size, st.st_mtime_ns)
    if key not in _VOCAB_CACHE:
        if trees is None:
            trees = read_ptb_trees(path)
        _VOCAB_CACHE.clear()
        _VOCAB_CACHE[key] = build_vocab(trees)
    return _VOCAB_CACHE[key]


class SST(TGRDataset):
    r"""The Stanford Sentiment Treebank from the `"Recursive Deep Models for
    Semantic Compositionality Over a Sentiment Treebank"
    <https://aclanthology.org/D13-1170/>`_ paper (Socher et al., EMNLP
    2013): binary constituency trees of movie review sentences with a
    sentiment label from :obj:`0` (very negative) to :obj:`4` (very
    positive) on every phrase.

    Every sentence is one :class:`~torch_geometric.data.Data` object with

    - :obj:`x` (:obj:`long`, :math:`(|\mathcal{V}|,)`): the token id of
      every leaf, :obj:`0` (:obj:`"<pad>"`) for internal nodes and :obj:`1`
      (:obj:`"<unk>"`) for tokens not in the training split; decode with
      :obj:`dataset.vocab[id]`;
    - :obj:`edge_index` (:math:`(2, |\mathcal{V}| - 1)`): child to parent,
      as :class:`tgr.nn.ChildSumTreeLSTM` and :class:`tgr.nn.NAryTreeLSTM`
      expect; edge :math:`e` leaves node :math:`e + 1`;
    - :obj:`child_pos` (:obj:`long`, :math:`(|\mathcal{E}|,)`): :obj:`0` if
      the edge's child is its parent's left child, :obj:`1` if it is the
      right one (pass it as :obj:`child_index` to
      :class:`tgr.nn.NAryTreeLSTM`; it is not named ``*index*`` because a
      :class:`~torch_geometric.data.Batch` would shift it);
    - :obj:`y` (:obj:`long`, :math:`(|\mathcal{V}|,)`): the label of every
      node (phrase);
    - :obj:`root_mask` (:obj:`bool`, :math:`(|\mathcal{V}|,)`): :obj:`True`
      for the root only;
    - :obj:`level` (:obj:`long`, :math:`(|\mathcal{V}|,)`): the topological
      level from :class:`tgr.transforms.AddLevels` (leaves at :obj:`0`),
      stored at processing time so layers get :obj:`level=batch.level`.

    Nodes are numbered in pre-order: the root is node :obj:`0`, then the
    left subtree, then the right subtree, so the leaves appear in sentence
    order. In a :class:`~torch_geometric.data.Batch` the roots are
    :obj:`batch.root_mask` (or :obj:`batch.ptr[:-1]`).

    With :obj:`binary=True`, sentences whose root is neutral (:obj:`2`) are
    dropped, labels :obj:`0, 1` become :obj:`0` (negative), :obj:`3, 4`
    become :obj:`1` (positive), and neutral phrases get the label
    :obj:`-1`: use :obj:`ignore_index=-1` in
    :func:`~torch.nn.functional.cross_entropy`.

    The vocabulary is built from the training split (for every split, with
    the same ids) and stored in the processed files; it is
    :obj:`dataset.vocab` (a list of tokens) and :obj:`dataset.word2idx`.
    Tokens are kept as in the files (PTB escapes such as :obj:`"-LRB-"` and
    :obj:`"\\/"`, case, and U+00A0 inside tokens such as
    :obj:`"8\xa01\\/2"`).

    The files cannot be downloaded automatically: get
    `trainDevTestTrees_PTB.zip
    <https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip>`_ and put
    :obj:`train.txt`, :obj:`dev.txt` and :obj:`test.txt` from its
    :obj:`trees/` folder into :obj:`root/raw/`.

    Args:
        root (str): Root directory where the dataset should be saved.
        split (str, optional): :obj:`"train"`, :obj:`"dev"` or
            :obj:`"test"`. (default: :obj:`"train"`)
        binary (bool, optional): If set to :obj:`True`, the binary task
            (see above). (default: :obj:`False`)
        transform (callable, optional): Applied to every sample on access.
            (default: :obj:`None`)
        pre_transform (callable, optional): A function/transform that takes
            in a :class:`~torch_geometric.data.Data` object and returns a
            transformed version, applied once before saving to disk (after
            :class:`~tgr.transforms.AddLevels`). (default: :obj:`None`)
        pre_filter (callable, optional): Keeps the samples for which it
            returns :obj:`True`. (default: :obj:`None`)
        force_reload (bool, optional): Re-process the raw files.
            (default: :obj:`False`)

    **STATS:**

    .. list-table::
        :widths: 20 10 10 10 10 10
        :header-rows: 1

        * - Task
          - #train
          - #dev
          - #test
          - #nodes (train)
          - #classes
        * - fine-grained
          - 8,544
          - 1,101
          - 2,210
          - 318,582
          - 5
        * - binary
          - 6,920
          - 872
          - 1,821
          - 260,184
          - 2
    """
    splits = ('train', 'dev', 'test')
    url = 'https://nlp.stanford.edu/sentiment/trainDevTestTrees_PTB.zip'

    def __init__(self, root: str, split: str = 'train', binary: bool = False,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None,
                 force_reload: bool = False) -> None:
        check_choice(self.__class__.__name__, 'split', split, self.splits)
        self.split = split
        self.binary = bool(binary)
        super().__init__(root, transform, pre_transform, pre_filter,
                         force_reload=force_reload)
        vocab = self.load(self.processed_paths[0])['vocab']
        self.vocab: List[str] = list(vocab)
        self.word2idx: Dict[str, int] = {w: i for i, w in enumerate(vocab)}

    @property
    def raw_file_names(self) -> List[str]:
        return [f'{split}.txt' for split in self.splits]

    @property
    def processed_file_names(self) -> List[str]:
        return [f'{self.split}{"_binary" if self.binary else ""}.pt']

    def how_to_get(self, raw_dir: str) -> str:
        return (f"get {self.url}, unzip it and put the files of its 'trees/' "
                f"folder into '{raw_dir}' (or link that folder as "
                f"'{raw_dir}')")

    def process(self) -> None:
        train_path = osp.join(self.raw_dir, 'train.txt')
        if self.split == 'train':
            trees = read_ptb_trees(train_path)
            vocab = _train_vocab(train_path, trees)
        else:
            vocab = _train_vocab(train_path)
            trees = read_ptb_trees(osp.join(self.raw_dir,
                                            f'{self.split}.txt'))
        word2idx = {w: i for i, w in enumerate(vocab)}
        if self.binary:
            trees = [tree for tree in trees if tree[1][0] != 2]

        # All trees at once, as the disjoint union of the trees (node ids
        # offset by the trees' sizes), then cut back into one Data per tree:
        size = torch.tensor([len(parent) for parent, _, _ in trees],
                            dtype=torch.long)
        ptr = torch.zeros(size.numel() + 1, dtype=torch.long)
        torch.cumsum(size, 0, out=ptr[1:])
        num_nodes = int(ptr[-1])
        x = torch.tensor([
            0 if w is None else word2idx.get(w, 1)
            for _, _, words in trees for w in words
        ], dtype=torch.long)
        y = torch.tensor([l for _, labels, _ in trees for l in labels],
                         dtype=torch.long)
        if self.binary:
            y = torch.where(y < 2, 0, torch.where(y > 2, 1, -1))
        parent = torch.tensor([p for par, _, _ in trees for p in par],
                              dtype=torch.long)  # local ids, -1 at roots
        root_mask = parent < 0
        local = torch.arange(num_nodes) - ptr[:-1].repeat_interleave(size)
        child, parent = local[~root_mask], parent[~root_mask]
        # In pre-order, a left child is the node right after its parent:
        child_pos = (child != parent + 1).long()
        edge_index = torch.stack([child, parent])
        # Levels are per tree: all at once on their union.
        level = union_levels(edge_index, size, size - 1)

        if self.pre_filter is None and self.pre_transform is None:
            # Fast path: the collated form that InMemoryDataset.collate gives
            # for the list of trees (checked by the tests), without building
            # one Data object with six sliced tensors per tree: collate()
            # runs on the trees' numbers of nodes alone, and the tensors of
            # all trees are set on its result.
            data, _ = self.collate([Data(num_nodes=n) for n in size.tolist()])
            eptr = ptr - torch.arange(ptr.numel())  # n - 1 edges per tree
            data.x, data.edge_index, data.y = x, edge_index, y
            data.child_pos, data.root_mask, data.level = (child_pos,
                                                          root_mask, level)
            slices = dict(x=ptr, edge_index=eptr, y=ptr, child_pos=eptr,
                          root_mask=ptr, level=ptr)
            self.save_collated(data, slices, self.processed_paths[0],
                               vocab=vocab)
            return

        data_list = []
        for i, (a, b) in enumerate(zip(ptr[:-1].tolist(), ptr[1:].tolist())):
            ea, eb = a - i, b - i - 1  # A tree of n nodes has n - 1 edges.
            data = Data(x=x[a:b], edge_index=edge_index[:, ea:eb],
                        y=y[a:b], child_pos=child_pos[ea:eb],
                        root_mask=root_mask[a:b], level=level[a:b],
                        num_nodes=b - a)
            data = self.pre_process(data)
            if data is None:
                continue
            data_list.append(data)
        self.save(data_list, self.processed_paths[0], vocab=vocab)

    def decode(self, data: Data) -> str:
        r"""Returns the sentence of :obj:`data`: its leaf tokens, in order,
        joined by spaces (tokens missing from the vocabulary read as
        :obj:`"<unk>"`)."""
        ids = data.x[data.x != 0].tolist()
        return ' '.join(self.vocab[i] for i in ids)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({len(self)}, split={self.split!r}'
                f', binary={self.binary})')
