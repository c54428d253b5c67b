r"""The small base every tgr dataset stands on: bookkeeping only, no parsing.

A tgr dataset reads files that cannot be downloaded at run time (licences,
sign-up pages, or simply no network), so the base

- refuses a :obj:`root/raw` that is a dangling link before PyG would try to
  create it (tests and examples link it to read-only data),
- raises one clear :class:`FileNotFoundError` that names the missing files
  and says where to get them, instead of downloading,
- writes processed files atomically (a temporary file renamed over the
  target: a process stopped mid-write never leaves a half-written cache),
- stamps them with a format version and, on load, turns a file written by
  another version into a :class:`ValueError` that says to re-process.

Parsing of the raw formats lives in :mod:`tgr.io`, one reader per format.
"""
import importlib
import json
import os
import os.path as osp
import uuid
from typing import Any, Callable, Dict, List, Optional, Sequence, Type

import torch
from torch_geometric.data import Data, InMemoryDataset
from torch_geometric.io import fs

__all__ = [
    'TGRDataset',
    'atomic_torch_save',
    'atomic_json_dump',
    'check_choice',
    'check_raw_link',
]

#: The version of the processed-file layout written by :class:`TGRDataset`.
FORMAT = 'tgr-processed'
FORMAT_VERSION = 1


# Atomic writes ###############################################################
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


# Argument checks #############################################################
def check_choice(who: str, arg: str, value: Any, choices) -> None:
    r"""Raises a :class:`ValueError` naming :obj:`who` and :obj:`arg` unless
    :obj:`value` is one of :obj:`choices`."""
    if value not in choices:
        raise ValueError(f"'{who}' expects '{arg}' to be one of {choices} "
                         f"(got '{value}')")


def check_at_least(who: str, arg: str, value: Any, minimum: int = 1) -> int:
    r"""Returns :obj:`int(value)`, or raises a :class:`ValueError` naming
    :obj:`who` and :obj:`arg` when it is below :obj:`minimum`."""
    if int(value) < minimum:
        raise ValueError(f"'{who}' expects '{arg}' >= {minimum} (got "
                         f"{value})")
    return int(value)


def check_raw_link(root: str, message: Callable[[str], str]) -> None:
    r"""Raises :class:`FileNotFoundError` with :obj:`message(raw_dir)` when
    :obj:`root/raw` is a link to a folder that does not exist (tests and
    examples link it to read-only data; PyG would otherwise try to create
    it)."""
    raw = osp.join(osp.expanduser(root), 'raw')
    if osp.islink(raw) and not osp.exists(raw):
        raise FileNotFoundError(message(raw))


def _class_name(cls: type) -> str:
    return f'{cls.__module__}:{cls.__qualname__}'


def _blob(cls: type, data: Optional[Data], slices: Dict[str, Any],
          extra: Dict[str, Any]) -> Dict[str, Any]:
    # What a processed file of the dataset class `cls` holds; `data` is None
    # for an empty dataset.
    return dict(format=FORMAT, version=FORMAT_VERSION, dataset=cls.__name__,
                data=None if data is None else data.to_dict(), slices=slices,
                data_cls=_class_name(Data if data is None else
                                     data.__class__), extra=extra)


def _class_from_name(name: str) -> type:
    module, _, qualname = name.partition(':')
    obj: Any = importlib.import_module(module)
    for part in qualname.split('.'):
        obj = getattr(obj, part)
    return obj


# The base ####################################################################
class TGRDataset(InMemoryDataset):
    r"""The base of tgr's datasets: an
    :class:`~torch_geometric.data.InMemoryDataset` whose raw files are never
    downloaded, whose processed files are written
    atomically and carry a format version.

    A subclass sets :attr:`url` (where a user gets the raw files),
    :attr:`raw_file_names`, :attr:`processed_file_names` and
    :meth:`process`, and saves with :meth:`save` (or :meth:`save_many`, one
    file per split, or :meth:`save_collated`), optionally with extra
    metadata that :meth:`load` returns. Where the defaults do not fit, it
    overrides :meth:`how_to_get` (the sentence that says how to get the raw
    files), :meth:`describe_raw_files` (what the missing-file message says
    is needed) or :meth:`missing_raw_files` (raw files that are not a fixed
    list). Parsing belongs in :mod:`tgr.io`.

    With :obj:`root=None` the dataset is in memory only (a generator that
    sets :obj:`self.data, self.slices = self.collate(data_list)` itself):
    nothing is read or written.

    Args:
        root (str, optional): Root directory; raw files in :obj:`root/raw/`,
            processed files in :obj:`root/processed/`; :obj:`None` for an
            in-memory dataset.
        transform, pre_transform, pre_filter, force_reload, log: As in
            :class:`~torch_geometric.data.InMemoryDataset`.
    """
    #: Where the raw files come from (named in the missing-file message).
    url: str = ''

    def __init__(self, root: Optional[str],
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None,
                 force_reload: bool = False, log: bool = True) -> None:
        self._in_memory = root is None
        if root is not None:
            check_raw_link(root, lambda raw: self.missing_message(raw))
        super().__init__(root, transform, pre_transform, pre_filter,
                         force_reload=force_reload, log=log)

    @property
    def has_download(self) -> bool:
        return not self._in_memory

    @property
    def has_process(self) -> bool:
        return not self._in_memory and super().has_process

    # Raw files ###############################################################
    def how_to_get(self, raw_dir: str) -> str:
        r"""The sentence that tells a user how to provide the raw files."""
        return (f"get them from {self.url} and put (or link) them into "
                f"'{raw_dir}'")

    def describe_raw_files(self, missing: Sequence[str]) -> str:
        r"""What the missing-file message says the dataset needs, given the
        :obj:`missing` files (all of :attr:`raw_file_names` when the raw
        folder is a dangling link): by default their names, the first three
        and how many more."""
        files = list(missing)
        what = ', '.join(f"'{f}'" for f in files[:3])
        if len(files) > 3:
            what += f' and {len(files) - 3} more'
        return what if files else 'its raw files'

    def missing_message(self, raw_dir: str,
                        missing: Optional[Sequence[str]] = None) -> str:
        r"""The message of the :class:`FileNotFoundError` raised when raw
        files are missing."""
        files = list(missing) if missing else list(self.raw_file_names)
        return (f"'{self.__class__.__name__}' needs "
                f"{self.describe_raw_files(files)} in '{raw_dir}', which "
                f"cannot be downloaded automatically: "
                f"{self.how_to_get(raw_dir)}")

    def missing_raw_files(self) -> List[str]:
        r"""The raw files that :obj:`root/raw/` lacks (override it where the
        raw files are not a fixed list; an empty list means that nothing is
        missing)."""
        return [f for f, path in zip(self.raw_file_names, self.raw_paths)
                if not osp.exists(path)]

    def download(self) -> None:
        # PyG calls this when a file of `raw_file_names` is missing (or when
        # there is no such list): nothing is downloaded, a missing file is
        # an error unless the processed files are there already.
        if not self.force_reload and all(
                fs.exists(path) for path in self.processed_paths):
            return  # Processed already; the raw files are not needed.
        missing = self.missing_raw_files()
        if missing:
            raise FileNotFoundError(self.missing_message(self.raw_dir,
                                                         missing))

    # Processed files #########################################################
    def pre_process(self, data: Data) -> Optional[Data]:
        r"""Applies :obj:`pre_filter` and :obj:`pre_transform` to one sample
        before it is saved: :obj:`None` when the filter drops it."""
        if self.pre_filter is not None and not self.pre_filter(data):
            return None
        if self.pre_transform is not None:
            data = self.pre_transform(data)
        return data

    @classmethod
    def save(cls, data_list: Sequence[Data], path: str,
             **extra: Any) -> None:
        r"""Collates :obj:`data_list` and saves it to :obj:`path`
        atomically, with the format version and any :obj:`extra` metadata
        (e.g. a vocabulary); an empty list gives an empty dataset."""
        cls.save_many([data_list], [path], **extra)

    @classmethod
    def save_many(cls, data_lists: Sequence[Sequence[Data]],
                  paths: Sequence[str], **extra: Any) -> None:
        r"""Saves every list of :obj:`data_lists` as :meth:`save` does, to
        the path at the same position of :obj:`paths` (e.g. one file per
        split), each with the same :obj:`extra` metadata. Every list is
        collated before the first file is written, so an error while
        collating leaves no file behind."""
        if len(data_lists) != len(paths):
            raise ValueError(f"'{cls.__name__}.save_many' expects one path "
                             f"per list ({len(data_lists)} lists, "
                             f"{len(paths)} paths)")
        blobs = []
        for data_list in data_lists:
            data_list = list(data_list)
            if data_list:
                data, slices = cls.collate(data_list)
                blobs.append(_blob(cls, data, slices, extra))
            else:  # collate() needs one graph; an empty split has no slices
                blobs.append(_blob(cls, None, {}, extra))
        for blob, path in zip(blobs, paths):
            atomic_torch_save(blob, path)

    @classmethod
    def save_collated(cls, data: Data, slices: Dict[str, Any], path: str,
                      **extra: Any) -> None:
        r"""Saves what :meth:`collate` returns for a list of graphs,
        :obj:`(data, slices)`, built by other means (e.g. all graphs at once
        from their tensors), to :obj:`path` as :meth:`save` does."""
        atomic_torch_save(_blob(cls, data, slices, extra), path)

    def load(self, path: str,
             data_cls: Type[Data] = Data) -> Dict[str, Any]:
        r"""Loads what :meth:`save` wrote to :obj:`path` and returns its
        extra metadata.

        Raises:
            ValueError: if the file was written by another version of tgr
                (or is not a processed tgr file); the message says to
                re-process with :obj:`force_reload=True`.
        """
        out = fs.torch_load(path)
        if not (isinstance(out, dict) and out.get('format') == FORMAT
                and out.get('version') == FORMAT_VERSION):
            raise ValueError(f"'{self.__class__.__name__}' cannot read "
                             f"'{path}' (written by another version of "
                             f"tgr?); pass 'force_reload=True' to process "
                             f"the raw files again")
        if out['data'] is None:  # an empty dataset
            self.data, self.slices = Data(), {}
        else:
            cls = _class_from_name(out['data_cls'])
            self.data, self.slices = cls.from_dict(out['data']), out['slices']
        return dict(out['extra'])
