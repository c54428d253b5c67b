r"""Reader of HAN's own ACM release, :obj:`ACM3025.mat`."""
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

__all__ = ['read_acm3025', 'ACM3025_METAPATHS', 'ACM3025_SPLIT_SIZES']

#: The meta-path adjacencies in the file: paper-author-paper,
#: paper-subject-paper (the two HAN uses), paper-?-paper and paper-term-paper.
ACM3025_METAPATHS = ('PAP', 'PLP', 'PMP', 'PTP')
#: The published split: 600 training, 300 validation, 2,125 test papers.
ACM3025_SPLIT_SIZES = (600, 300, 2125)
_SPLITS = ('train', 'val', 'test')


def read_acm3025(path: str, metapaths: Sequence[str] = ('PAP', 'PLP'),
                 split_sizes: Optional[Tuple[int, int, int]] =
                 ACM3025_SPLIT_SIZES) -> Dict[str, Any]:
    r"""Reads :obj:`ACM3025.mat` as released with the `"Heterogeneous Graph
    Attention Network" <https://arxiv.org/abs/1903.07293>`_ paper: dense
    meta-path adjacencies over the papers (self loops on the diagonal), a
    binary bag-of-words feature per paper, one-hot labels, and 0-based
    :obj:`train_idx` / :obj:`val_idx` / :obj:`test_idx`.

    Args:
        path (str): The :obj:`.mat` file.
        metapaths (list of str, optional): The meta-path adjacencies to read,
            out of :obj:`PAP`, :obj:`PLP`, :obj:`PMP` and :obj:`PTP` (the
            last is complete: :math:`3025^2` edges). (default:
            :obj:`('PAP', 'PLP')`)
        split_sizes (tuple of int, optional): The expected sizes of the
            three splits, or :obj:`None` to accept any. (default:
            :obj:`(600, 300, 2125)`)

    Returns:
        A dictionary: :obj:`x` (float32, papers x features), :obj:`y`
        (long, the class of every paper), :obj:`split` (the 0-based paper
        indices of :obj:`train`, :obj:`val` and :obj:`test`, as in the
        file) and :obj:`edge_index` (per meta-path name, the nonzeros of
        its adjacency: source row 0, destination row 1, self loops
        included).

    Raises:
        ValueError: if the file is not a MATLAB file or its content is not
            as described; the message names the file and the variable.
    """
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    def fail(msg: str):
        raise ValueError(f"ACM3025 file '{path}': {msg}")

    unknown = [m for m in metapaths if m not in ACM3025_METAPATHS]
    if unknown or not metapaths:
        raise ValueError(f"'read_acm3025' expects 'metapaths' out of "
                         f"{ACM3025_METAPATHS} (got {list(metapaths)})")
    try:
        mat = loadmat(path)
    except (MatReadError, ValueError, TypeError, OSError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        fail(f'not a readable MATLAB file ({e})')
    needed = ['feature', 'label'] + [f'{s}_idx' for s in _SPLITS]
    missing = [k for k in needed + list(metapaths) if k not in mat]
    if missing:
        fail(f"has no variable(s) {missing}")

    x = np.asarray(mat['feature'])
    if x.ndim != 2 or x.shape[0] == 0:
        fail(f"'feature' has shape {x.shape}, expected (papers, features)")
    num_papers = x.shape[0]

    label = np.asarray(mat['label'])
    if label.ndim != 2 or label.shape[0] != num_papers:
        fail(f"'label' has shape {label.shape}, expected ({num_papers}, "
             f"classes) (one-hot)")
    if not ((label == 0) | (label == 1)).all() or \
            not (label.sum(axis=1) == 1).all():
        row = int(np.nonzero(label.sum(axis=1) != 1)[0][0]) if \
            (label.sum(axis=1) != 1).any() else 0
        fail(f"'label' is not one-hot (row {row})")

    out: Dict[str, Any] = dict(
        x=torch.from_numpy(x.astype(np.float32)),
        y=torch.from_numpy(label.argmax(axis=1)).long(), split={},
        edge_index={})
    taken = np.zeros(num_papers, dtype=bool)
    for k, split in enumerate(_SPLITS):
        idx = np.asarray(mat[f'{split}_idx'])
        if idx.ndim != 2 or 1 not in idx.shape:
            fail(f"'{split}_idx' has shape {idx.shape}, expected a row or "
                 f"column of indices")
        idx = idx.reshape(-1).astype(np.int64)
        if split_sizes is not None and idx.size != split_sizes[k]:
            fail(f"'{split}_idx' holds {idx.size} indices, expected "
                 f"{split_sizes[k]}")
        if idx.size and (idx.min() < 0 or idx.max() >= num_papers):
            fail(f"'{split}_idx' holds index "
                 f"{idx.min() if idx.min() < 0 else idx.max()}, out of "
                 f"range for {num_papers} papers (0-based)")
        if np.unique(idx).size != idx.size or taken[idx].any():
            fail(f"'{split}_idx' repeats a paper or shares one with an "
                 f"earlier split")
        taken[idx] = True
        out['split'][split] = torch.from_numpy(idx)

    for name in metapaths:
        adj = np.asarray(mat[name])
        if adj.shape != (num_papers, num_papers):
            fail(f"'{name}' has shape {adj.shape}, expected ({num_papers}, "
                 f"{num_papers})")
        out['edge_index'][name] = _nonzeros(adj)
    return out


def _nonzeros(adj: np.ndarray) -> Tensor:
    # The nonzeros of a dense adjacency (row i, column j: edge i -> j),
    # sorted by source then destination.
    src, dst = np.nonzero(adj)
    return torch.from_numpy(np.stack([src, dst]).astype(np.int64))
