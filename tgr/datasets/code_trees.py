r"""Abstract syntax trees of Python functions in the form of OGB's
`ogbg-code2 <https://ogb.stanford.edu/docs/graphprop/#ogbg-code2>`_: the
task is to predict a function's name, as a sequence of sub-tokens, from the
tree of its body.

:class:`PythonCodeTrees` builds the dataset from any folder of Python files
(by default the running interpreter's standard library, so it needs no
download); :class:`OGBCode2` brings OGB's own graphs into the same form, so
that one model runs on both.

Every graph holds, as in ``ogbg-code2``:

- :obj:`x`: :math:`(|\mathcal{V}|, 2)` long, the node type id and the node
  attribute id (an identifier or a constant; :obj:`"__NONE__"` for nodes
  without one, :obj:`"__UNK__"` for attributes out of the vocabulary);
- :obj:`edge_index`: the AST edges, **parent to child** (as OGB stores them),
  one per non-root node, grouped by parent;
- :obj:`node_depth`, :obj:`node_is_attributed`, :obj:`node_dfs_order`:
  :math:`(|\mathcal{V}|, 1)` long; nodes are numbered in depth-first
  pre-order, so :obj:`node_dfs_order` is :obj:`0, 1, ...`;
- :obj:`y`: the name's sub-tokens as a list of strings (a
  :class:`~torch_geometric.data.Batch` holds a list of such lists); turn it
  into a fixed-length id tensor with :func:`encode_subtokens`;
- :obj:`level`: the bottom-up topological level of every node (the length
  of the longest path from it down to a leaf), from
  :class:`tgr.transforms.AddLevels` with :obj:`flow="target_to_source"`,
  ready for :obj:`ChildSumTreeLSTM(..., flow="target_to_source")(x,
  edge_index, level=batch.level)`. A top-down pass (every node depending on
  its parent, default :obj:`flow`) runs on :obj:`level=node_depth.view(-1)`.
"""
import hashlib
import os
import os.path as osp
import platform
import re
import sys
import sysconfig
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Data
from tqdm import tqdm

from ..io.python_ast import MASK_TOKEN, read_python_functions  # noqa: F401
from ..transforms.add_levels import union_levels
from .base import TGRDataset, check_choice

__all__ = [
    'PythonCodeTrees',
    'OGBCode2',
    'from_ogb_code2',
    'load_ogb_code2',
    'split_subtokens',
    'module_split',
    'subtoken_vocab',
    'encode_subtokens',
    'decode_subtokens',
]

UNK_TOKEN = '__UNK__'
NONE_TOKEN = '__NONE__'
EOS_TOKEN = '__EOS__'
SPLITS = ('train', 'valid', 'test')

#: Directory names never entered when collecting source files (tests, with
#: lib2to3's deliberately broken test data, IDLE, installed and vendored
#: packages).
EXCLUDED_DIRS = frozenset({
    'test', 'tests', 'idlelib', 'site-packages', 'dist-packages', '_vendor',
    '__pycache__'
})


# Sub-tokens, splits, vocabularies ############################################
_WORD = re.compile(r'[A-Z]+\d*(?![a-z])|[A-Z]?[a-z]+\d*|\d+')


def split_subtokens(name: str) -> List[str]:
    r"""Splits an identifier into lower-cased sub-tokens, at underscores
    (snake_case) and at case changes (camelCase); a run of capitals is one
    token, digits stay with the letters before them.

    .. code-block:: python

        split_subtokens('get_vocab_mapping')  # ['get', 'vocab', 'mapping']
        split_subtokens('getHTTPResponse')    # ['get', 'http', 'response']
        split_subtokens('__init__')           # ['init']
        split_subtokens('md5_hex2Str')        # ['md5', 'hex2', 'str']
    """
    tokens = []
    for piece in re.split(r'[\W_]+', name):
        if not piece:
            continue
        if not piece.isascii():  # no case rules beyond ASCII: keep it whole
            tokens.append(piece.lower())
            continue
        tokens.extend(word.lower() for word in _WORD.findall(piece))
    return tokens


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha1(text.encode('utf-8')).digest()[:8],
                          'big')


def module_split(path: str) -> str:
    r"""The split (:obj:`"train"`, :obj:`"valid"` or :obj:`"test"`, 80 / 10 /
    10) of a source file, from a stable hash of its relative path in POSIX
    form, so that all functions of one module go to one split on every
    machine and Python version."""
    bucket = _stable_int('split:' + path) % 100
    return 'train' if bucket < 80 else 'valid' if bucket < 90 else 'test'


def subtoken_vocab(seqs: Sequence[Sequence[str]], num_vocab: int = 5000,
                   ) -> Tuple[Dict[str, int], List[str]]:
    r"""The target vocabulary of OGB's baseline: the :obj:`num_vocab` most
    frequent sub-tokens of :obj:`seqs` (ties in order of first appearance),
    then :obj:`"__UNK__"` and :obj:`"__EOS__"`.

    Returns:
        :obj:`(vocab2idx, idx2vocab)`.
    """
    count: Counter = Counter()
    for seq in seqs:
        count.update(seq)
    # Counter keeps first-appearance order and sorted() is stable:
    idx2vocab = [w for w, _ in sorted(count.items(), key=lambda t: -t[1])]
    idx2vocab = idx2vocab[:num_vocab] + [UNK_TOKEN, EOS_TOKEN]
    return {w: i for i, w in enumerate(idx2vocab)}, idx2vocab


def encode_subtokens(seqs: Sequence[Sequence[str]], vocab2idx: Dict[str, int],
                     max_len: int = 5) -> Tensor:
    r"""Encodes sub-token sequences as a :math:`(B, \textit{max\_len})` long
    tensor: the first :obj:`max_len` tokens (unknown ones as
    :obj:`"__UNK__"`), padded with :obj:`"__EOS__"`, as OGB's
    :obj:`encode_y_to_arr`."""
    unk, eos = vocab2idx[UNK_TOKEN], vocab2idx[EOS_TOKEN]
    rows = [[vocab2idx.get(w, unk) for w in seq[:max_len]] +
            [eos] * max(0, max_len - len(seq)) for seq in seqs]
    return torch.tensor(rows, dtype=torch.long).view(len(rows), max_len)


def decode_subtokens(arr: Tensor, idx2vocab: Sequence[str]) -> List[List[str]]:
    r"""Decodes a :math:`(B, L)` tensor of token ids into sub-token lists,
    each cut at its first :obj:`"__EOS__"` (OGB's :obj:`decode_arr_to_seq`).
    """
    eos = len(idx2vocab) - 1
    if eos < 0 or idx2vocab[eos] != EOS_TOKEN:
        raise ValueError(f"'decode_subtokens' expects '{EOS_TOKEN}' last in "
                         f"'idx2vocab', as 'subtoken_vocab' builds it")
    out = []
    for row in arr.tolist():
        if eos in row:
            row = row[:row.index(eos)]
        out.append([idx2vocab[i] for i in row])
    return out


# From source to graphs #######################################################
def _source_files(source: str) -> List[str]:
    files = []
    for folder, dirs, names in os.walk(source):
        dirs[:] = sorted(d for d in dirs
                         if d not in EXCLUDED_DIRS and not d.startswith('.'))
        rel = osp.relpath(folder, source)
        for name in names:
            if name.endswith('.py'):
                path = name if rel == '.' else osp.join(rel, name)
                files.append(path.replace(os.sep, '/'))
    return files


def _graph(types: List[int], attrs: List[int], depth: List[int],
           parent: List[int], attributed: List[int],
           subtokens: List[str]) -> Data:
    n = len(types)
    child = sorted(range(1, n), key=parent.__getitem__)  # stable: by parent
    edge_index = torch.tensor([[parent[c] for c in child], child],
                              dtype=torch.long).view(2, n - 1)
    return Data(
        x=torch.tensor([types, attrs], dtype=torch.long).t().contiguous(),
        edge_index=edge_index,
        node_depth=torch.tensor(depth, dtype=torch.long).view(n, 1),
        node_is_attributed=torch.tensor(attributed,
                                        dtype=torch.long).view(n, 1),
        node_dfs_order=torch.arange(n).view(n, 1),
        y=list(subtokens),
        num_nodes=n,
    )


def _add_levels(graphs: List[Data]) -> None:
    # The bottom-up levels of every graph, all at once (see union_levels).
    if not graphs:
        return
    counts = [g.num_nodes for g in graphs]
    level = union_levels(torch.cat([g.edge_index for g in graphs], dim=1),
                         counts, [g.edge_index.size(1) for g in graphs],
                         flow='target_to_source')
    for g, lv in zip(graphs, level.split(counts)):
        g.level = lv.clone()


# Datasets ####################################################################
class _CodeTrees(TGRDataset):
    # One processed file per split, each with the metadata; `split` picks
    # the graphs to load.
    def __init__(self, root: str, split: str = 'train', transform=None,
                 pre_transform=None, force_reload: bool = False,
                 log: bool = True):
        check_choice(self.__class__.__name__, 'split', split, SPLITS)
        self.split = split
        super().__init__(root, transform, pre_transform,
                         force_reload=force_reload, log=log)
        extra = self.load(self.processed_paths[SPLITS.index(split)])
        self.meta: Dict[str, Any] = extra['meta']

    @property
    def raw_file_names(self) -> List[str]:
        return []  # Read (or, for OGB, downloaded) in process().

    def _key(self) -> str:
        raise NotImplementedError

    @property
    def processed_file_names(self) -> List[str]:
        key = self._key()
        return [f'{s}_{key}.pt' for s in SPLITS]

    def _write(self, graphs: Dict[str, List[Data]], meta: dict) -> None:
        data_lists = []
        for split in SPLITS:
            _add_levels(graphs[split])
            data_list = graphs[split]
            if self.pre_transform is not None:
                data_list = [self.pre_transform(d) for d in data_list]
            data_lists.append(data_list)
        self.save_many(data_lists, self.processed_paths, meta=meta)

    @property
    def num_node_types(self) -> int:
        r"""The number of node type ids (the size of the type embedding)."""
        return self.meta['num_node_types']

    @property
    def num_node_attributes(self) -> int:
        r"""The number of node attribute ids."""
        return self.meta['num_node_attributes']

    @property
    def info(self) -> dict:
        r"""The processed metadata, without the vocabularies."""
        return {k: v for k, v in self.meta.items()
                if k not in ('node_types', 'node_attributes',
                             'target_subtokens', 'failed_files')}

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}({len(self)}, split={self.split})'


class PythonCodeTrees(_CodeTrees):
    r"""One abstract syntax tree per Python function or method of a folder of
    source files (by default the standard library of the running
    interpreter), built as OGB's `ogbg-code2
    <https://ogb.stanford.edu/docs/graphprop/#ogbg-code2>`_: predict the
    sub-tokens of a function's name from its tree. See
    :mod:`tgr.datasets.code_trees` for the attributes of every graph.

    Every :obj:`FunctionDef` and :obj:`AsyncFunctionDef` (nested ones too,
    which also stay inside their enclosing function's tree) is parsed with
    :mod:`ast` and walked depth-first under a :obj:`Module` root, as OGB
    walks :obj:`ast.parse` of the function's source; every AST node is a
    graph node (contexts and operators included). A node's attribute is its
    :obj:`name`, :obj:`arg`, :obj:`id` or :obj:`attr`, or the :obj:`str` of
    a non-:obj:`None` constant. The target is :func:`split_subtokens` of the
    name; functions whose name has no sub-token (:obj:`_`) are left out.
    Every attribute equal to the function's name becomes :obj:`"_mask_"`:
    its definition as in OGB, and, stricter than OGB, recursive calls and
    :obj:`self.name` references too, so the name is nowhere in its tree.

    Whole files go to one split, 80 / 10 / 10, by :func:`module_split`.
    The vocabularies are built on the training split: node types (with
    :obj:`"__UNK__"` first), the :obj:`max_attributes` most frequent
    attributes (after :obj:`"__NONE__"` and :obj:`"__UNK__"`), and the
    target sub-tokens by frequency (:attr:`target_subtokens`). Files that
    fail to parse are counted in :attr:`info` and skipped. The files under
    :obj:`source` are read once, by the first instance; pass
    :obj:`force_reload=True` after changing them.

    Args:
        root (str): Root directory; the processed files go to
            :obj:`root/processed`, named after a hash of :obj:`source`, the
            Python version, :obj:`max_attributes`, and :obj:`max_files`.
        split (str, optional): :obj:`"train"`, :obj:`"valid"` or
            :obj:`"test"`. (default: :obj:`"train"`)
        source (str, optional): The folder of Python files, walked
            recursively without the directories in :obj:`EXCLUDED_DIRS`
            (tests, :obj:`idlelib`, installed and vendored packages).
            (default: :obj:`sysconfig.get_paths()["stdlib"]`)
        max_files (int, optional): Use only this many files, the first in an
            order given by a stable hash of their paths (a sample of the
            whole folder, not its first directories). (default: all)
        max_attributes (int, optional): The size of the attribute vocabulary
            without its two special tokens. (default: :obj:`10000`)
        transform (callable, optional): Applied to every graph on access.
        pre_transform (callable, optional): Applied to every graph before
            saving.
        force_reload (bool, optional): Re-process the source.
            (default: :obj:`False`)
        log (bool, optional): Show progress. (default: :obj:`True`)
    """
    def __init__(self, root: str, split: str = 'train',
                 source: Optional[str] = None,
                 max_files: Optional[int] = None,
                 max_attributes: int = 10000, transform=None,
                 pre_transform=None, force_reload: bool = False,
                 log: bool = True):
        source = sysconfig.get_paths()['stdlib'] if source is None \
            else source
        self.source = osp.abspath(osp.expanduser(source))
        if not osp.isdir(self.source):
            raise ValueError(f"'{self.__class__.__name__}' expects 'source' "
                             f"to be a folder of Python files (got "
                             f"'{source}')")
        if max_files is not None and (not isinstance(max_files, int)
                                      or max_files < 1):
            raise ValueError(f"'{self.__class__.__name__}' expects "
                             f"'max_files' to be a positive integer (got "
                             f"{max_files})")
        self.max_files = max_files
        self.max_attributes = max_attributes
        super().__init__(root, split, transform, pre_transform,
                         force_reload=force_reload, log=log)

    @property
    def raw_dir(self) -> str:
        return self.source

    def _key(self) -> str:
        version = '{}.{}'.format(*sys.version_info[:2])
        digest = hashlib.sha1(
            f'{self.source}|{version}|{self.max_attributes}'.encode(
                'utf-8')).hexdigest()[:12]
        return f'{digest}_{self.max_files or "all"}'

    @property
    def node_types(self) -> List[str]:
        r"""Node type names, indexed by type id."""
        return self.meta['node_types']

    @property
    def node_attributes(self) -> List[str]:
        r"""Node attributes, indexed by attribute id."""
        return self.meta['node_attributes']

    @property
    def target_subtokens(self) -> List[str]:
        r"""The sub-tokens of the training names, most frequent first."""
        return self.meta['target_subtokens']

    def process(self):
        files = sorted(_source_files(self.source),
                       key=lambda p: (_stable_int('order:' + p), p))
        if self.max_files is not None:
            files = files[:self.max_files]
        files.sort()

        raw: Dict[str, list] = {s: [] for s in SPLITS}
        failed, num_unnamed = [], 0
        split_files = Counter()
        for path in tqdm(files, desc='Parsing', disable=not self.log):
            try:
                funcs = read_python_functions(osp.join(self.source, path),
                                              filename=path)
            except (SyntaxError, ValueError, UnicodeDecodeError,
                    RecursionError, MemoryError) as e:
                failed.append(f'{path}: {type(e).__name__}')
                continue
            split = module_split(path)
            split_files[split] += 1
            for name, nodes in funcs:
                subtokens = split_subtokens(name)
                if not subtokens:
                    num_unnamed += 1
                    continue
                raw[split].append((nodes, subtokens))

        # Vocabularies of the training split:
        type_count, attr_count, target_count = Counter(), Counter(), \
            Counter()
        for (types, attrs, _, _), subtokens in raw['train']:
            type_count.update(types)
            attr_count.update(a for a in attrs if a is not None)
            target_count.update(subtokens)

        def by_count(c):
            return sorted(c, key=lambda k: (-c[k], k))

        node_types = [UNK_TOKEN] + by_count(type_count)
        node_attributes = [NONE_TOKEN, UNK_TOKEN] + \
            by_count(attr_count)[:self.max_attributes]
        type_id = {t: i for i, t in enumerate(node_types)}
        attr_id = {a: i for i, a in enumerate(node_attributes)}

        graphs: Dict[str, List[Data]] = {}
        for split in SPLITS:
            graphs[split] = []
            for (types, attrs, depth, parent), subtokens in raw[split]:
                graphs[split].append(_graph(
                    [type_id.get(t, 0) for t in types],
                    [0 if a is None else attr_id.get(a, 1) for a in attrs],
                    depth, parent, [int(a is not None) for a in attrs],
                    subtokens))

        meta = {
            'source': self.source,
            'python_version': platform.python_version(),
            'max_files': self.max_files,
            'max_attributes': self.max_attributes,
            'num_files': len(files),
            'num_parsed': len(files) - len(failed),
            'num_failed': len(failed),
            'num_files_per_split': {s: split_files[s] for s in SPLITS},
            'num_graphs': {s: len(graphs[s]) for s in SPLITS},
            'num_unnamed': num_unnamed,
            'num_node_types': len(node_types),
            'num_node_attributes': len(node_attributes),
            'failed_files': failed,
            'node_types': node_types,
            'node_attributes': node_attributes,
            'target_subtokens': by_count(target_count),
        }
        self._write(graphs, meta)


def __getattr__(name: str) -> Any:
    # OGB's ogbg-code2 lives in its own module (tgr.datasets.ogb_code2),
    # which builds on this one; its names stay importable from here.
    if name in ('OGBCode2', 'from_ogb_code2', 'load_ogb_code2'):
        from . import ogb_code2
        return getattr(ogb_code2, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
