r"""Atomic writes of processed files, shared by every loader: a process
stopped mid-write never leaves a half-written cache in ``processed/``."""
import json
import os
import os.path as osp
import uuid
from typing import Any, Callable

import torch


def _atomic(path: str, write: Callable[[Any], None], mode: str) -> None:
    # Writes to a temporary file in the same folder, then renames it over
    # `path` (atomic on POSIX and Windows).
    tmp = f'{path}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp'
    try:
        with open(tmp, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def atomic_torch_save(obj: Any, path: str) -> None:
    r""":func:`torch.save` of :obj:`obj` to :obj:`path`, atomically."""
    _atomic(path, lambda f: torch.save(obj, f), 'xb')


def atomic_json_dump(obj: Any, path: str) -> None:
    r""":func:`json.dump` of :obj:`obj` to :obj:`path`, atomically."""
    _atomic(path, lambda f: json.dump(obj, f, indent=1), 'x')


def check_choice(who: str, arg: str, value: Any, choices) -> None:
    r"""Raises a :class:`ValueError` naming :obj:`who` and :obj:`arg` unless
    :obj:`value` is one of :obj:`choices`."""
    if value not in choices:
        raise ValueError(f"'{who}' expects '{arg}' to be one of {choices} "
                         f"(got '{value}')")


def check_raw_link(root: str, message: Callable[[str], str]) -> None:
    r"""Raises :class:`FileNotFoundError` with :obj:`message(raw_dir)` when
    :obj:`root/raw` is a link to a folder that does not exist (tests and
    examples link it to read-only data; PyG would otherwise try to create
    it)."""
    raw = osp.join(osp.expanduser(root), 'raw')
    if osp.islink(raw) and not osp.exists(raw):
        raise FileNotFoundError(message(raw))


def atomic_save_data_list(data_list: list, path: str) -> None:
    r"""Collates :obj:`data_list` as :class:`InMemoryDataset` does and saves
    it to :obj:`path` atomically; an empty list gives an empty dataset."""
    from torch_geometric.data import Data, InMemoryDataset
    if data_list:
        data, slices = InMemoryDataset.collate(data_list)
    else:  # collate() needs one graph; an empty split has no slices
        data, slices = Data(), {}
    atomic_torch_save((data.to_dict(), slices, data.__class__), path)
