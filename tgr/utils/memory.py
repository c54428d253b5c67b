r"""Large work buffers with transparent huge pages.

A recurrence writes every step into preallocated buffers that live until
the backward pass: for a batch of skeleton videos, tens of megabytes per
call, in fresh memory each time. On Linux the first write to every 4 KiB
page of fresh memory is a page fault; measured on AGC-LSTM (8 videos,
T = 100, 3 -> 64, one thread) those faults cost about a fifth of the whole
forward + backward. :func:`empty` asks the kernel to back such a buffer with
2 MiB pages (:obj:`madvise(MADV_HUGEPAGE)`), which removes almost all of
them. It is a hint for tgr's own buffers only (nothing process-wide is
changed); where transparent huge pages are off, on other systems, or off
the CPU, it does nothing. Set :obj:`TGR_HUGE_PAGES=0` to turn it off.
"""
import ctypes
import ctypes.util
import os
import sys
from typing import Optional, Sequence

import torch
from torch import Tensor

__all__ = ['empty', 'advise_huge_pages']

#: Buffers of at least this many bytes get the hint.
MIN_BYTES = 4 << 20
_HUGE = 2 << 20
_MADV_HUGEPAGE = 14
_madvise = None


def _libc_madvise():
    global _madvise
    if _madvise is None:
        _madvise = False
        if sys.platform.startswith('linux') and \
                os.environ.get('TGR_HUGE_PAGES', '1') != '0':
            try:
                with open('/sys/kernel/mm/transparent_hugepage/enabled') as f:
                    mode = f.read()
            except OSError:
                mode = ''
            if '[never]' not in mode and mode:
                try:
                    libc = ctypes.CDLL(ctypes.util.find_library('c') or None,
                                       use_errno=True)
                    fn = libc.madvise
                    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                                   ctypes.c_int]
                    fn.restype = ctypes.c_int
                    _madvise = fn
                except (OSError, AttributeError):
                    _madvise = False
    return _madvise


def advise_huge_pages(t: Tensor) -> Tensor:
    r"""Hints that the 2 MiB-aligned part of :obj:`t`'s memory be backed by
    huge pages (before it is first written); returns :obj:`t`."""
    if t.device.type != 'cpu':
        return t
    nbytes = t.untyped_storage().nbytes()
    if nbytes < MIN_BYTES:
        return t
    fn = _libc_madvise()
    if not fn:
        return t
    start = t.untyped_storage().data_ptr()
    first = (start + _HUGE - 1) // _HUGE * _HUGE
    last = (start + nbytes) // _HUGE * _HUGE
    if last > first:
        fn(first, last - first, _MADV_HUGEPAGE)  # a hint: errors ignored
    return t


def empty(shape: Sequence[int], like: Tensor,
          dtype: Optional[torch.dtype] = None) -> Tensor:
    r""":obj:`like.new_empty(shape)`, backed by huge pages where it is large
    (see the module's documentation)."""
    return advise_huge_pages(like.new_empty(shape, dtype=dtype))
