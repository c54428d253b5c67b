r"""Fused element-wise LSTM kernels for the CPU (:file:`_fused_cpu.cpp`).

The hand-written level steps spend most of their non-matrix time in small
element-wise ATen calls (a sigmoid, a tanh, three products per gate, each a
pass over memory). The kernels here do the gate activations and the cell
update of a level (and their derivatives) in one pass, vectorised with
ATen's own :class:`at::vec::Vectorized` (AVX2 / AVX-512).

They are compiled on first use with
:func:`torch.utils.cpp_extension.load` (about 20 seconds, once per torch
version and CPU capability; cached in torch's extension directory,
:obj:`TORCH_EXTENSIONS_DIR`) and used for float32 / float64 tensors on the
CPU. Where they cannot be built (no C++ compiler, a CPU without AVX2) or
when the environment variable :obj:`TGR_FUSED_CPU=0` is set, every layer
takes its ATen path, which computes the same values; call
:func:`fused_cpu_available` to build them ahead of time (e.g. before
forking :class:`~torch.utils.data.DataLoader` workers) and to see which
path is taken.

The exponential is ATen's :obj:`exp_u20` (the one of its softmax kernel,
within 20 ulp) in float32 and the exact one in float64, so a float32 level
agrees with the ATen path to about :math:`10^{-6}`.
"""
import os
import sys
import threading
import time
from typing import Optional

import torch
from torch import Tensor

__all__ = ['fused_cpu_available', 'fused_cpu', 'set_fused_cpu']

_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       '_fused_cpu.cpp')
_FLAGS = {
    'AVX512': ['-mavx512f', '-mavx512bw', '-mavx512vl', '-mavx512dq',
               '-mfma', '-DCPU_CAPABILITY=AVX512', '-DCPU_CAPABILITY_AVX512'],
    'AVX2': ['-mavx2', '-mfma', '-DCPU_CAPABILITY=AVX2',
             '-DCPU_CAPABILITY_AVX2'],
}
#: A build takes about 20 s; a lock file older than this is a dead build's.
_STALE_LOCK_S = 600
_lock = threading.Lock()
_state = {'tried': False, 'module': None, 'why': 'not built yet',
          'enabled': True}


def _build():
    if os.environ.get('TGR_FUSED_CPU', '1').strip() in ('0', 'false', 'off'):
        return None, 'disabled by TGR_FUSED_CPU=0'
    capability = torch.backends.cpu.get_cpu_capability()
    if capability not in _FLAGS:
        return None, f'CPU capability {capability} (needs AVX2 or AVX512)'
    if not os.path.exists(_SOURCE):
        return None, f'{_SOURCE} is missing'
    from torch.utils import cpp_extension
    version = torch.__version__.split('+')[0].replace('.', '_')
    name = f'tgr_fused_cpu_{version}_{capability.lower()}'
    try:  # torch's private helper: where load() builds and caches
        build_dir = cpp_extension._get_build_directory(name, verbose=False)
    except Exception:
        build_dir = None
    if build_dir is not None:
        lock = os.path.join(build_dir, 'lock')
        try:  # a build killed midway leaves its lock; load() would wait
            if time.time() - os.path.getmtime(lock) > _STALE_LOCK_S:
                os.remove(lock)
        except OSError:
            pass
    if build_dir is None or \
            not os.path.exists(os.path.join(build_dir, f'{name}.so')):
        print(f'tgr: compiling the fused CPU kernels (once per torch version,'
              f' about 20 s; cached in {build_dir or "torch extensions"}; '
              f'TGR_FUSED_CPU=0 skips them)', file=sys.stderr, flush=True)
    try:
        module = cpp_extension.load(name=name, sources=[_SOURCE],
                                    extra_cflags=['-O3'] + _FLAGS[capability],
                                    verbose=False)
    except Exception as e:  # no compiler, no ninja, a failed build
        first = str(e).strip().splitlines()[0] if str(e).strip() else ''
        return None, f'the build failed: {type(e).__name__}: {first}'
    return module, f'built for {capability}'


def fused_cpu_available() -> bool:
    r"""Builds the fused CPU kernels if that was not tried yet, and returns
    whether they are used (see the module's documentation)."""
    if not _state['tried']:
        with _lock:
            if not _state['tried']:
                _state['module'], _state['why'] = _build()
                _state['tried'] = True
                if _state['module'] is None and \
                        not _state['why'].startswith('disabled'):
                    print(f'tgr: fused CPU kernels unavailable '
                          f'({_state["why"]}); using the ATen path',
                          file=sys.stderr, flush=True)
    return _state['module'] is not None and _state['enabled']


def fused_cpu(t: Tensor) -> Optional[object]:
    r"""The kernels' module if they apply to tensors like :obj:`t` (CPU,
    float32 or float64), else :obj:`None`."""
    if t.device.type != 'cpu' or t.dtype not in (torch.float32,
                                                 torch.float64):
        return None
    if not _state['enabled']:
        return None
    if not _state['tried']:
        fused_cpu_available()
    return _state['module']


def set_fused_cpu(enabled: bool) -> bool:
    r"""Turns the fused kernels on or off for this process (tests and
    benchmarks compare both paths with it); returns the previous setting."""
    before = _state['enabled']
    _state['enabled'] = bool(enabled)
    return before
