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
