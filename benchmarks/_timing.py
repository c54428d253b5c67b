r"""Timing shared by the benchmark scripts (run as ``python benchmarks/X.py``,
which puts this folder on ``sys.path``)."""
import statistics
import time

import torch


def sync(device: torch.device) -> None:
    r"""Waits for the device's queued work (a no-op on the CPU)."""
    if device.type == 'cuda':
        torch.cuda.synchronize()


def median_time(fn, device: torch.device, repeat: int,
                warmup: int = 1) -> float:
    r"""Median wall time of :obj:`fn()` in seconds over :obj:`repeat` runs,
    after :obj:`warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        sync(device)
        t = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def median_times(fns, repeat: int, warmup: int = 1,
                 device: torch.device = torch.device('cpu')) -> list:
    r"""Median wall times of every :obj:`fn()` of :obj:`fns` in seconds over
    :obj:`repeat` runs, after :obj:`warmup` untimed ones; interleaved, so
    that a slow phase of a shared machine hits all alike."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, ts in zip(fns, times):
            sync(device)
            t = time.perf_counter()
            fn()
            sync(device)
            ts.append(time.perf_counter() - t)
    return [statistics.median(ts) for ts in times]


def aten_path(fn):
    r""":obj:`fn` run with tgr's fused CPU kernels off (the path taken where
    they cannot be built), for a second row beside the default one."""
    from tgr.nn._fused import set_fused_cpu

    def wrapped():
        before = set_fused_cpu(False)
        try:
            fn()
        finally:
            set_fused_cpu(before)
    return wrapped


def fused_label() -> str:
    r"""Whether the fused CPU kernels are in use, for a table's header."""
    from tgr.nn._fused import fused_cpu_available
    return 'fused CPU kernels ' + ('on' if fused_cpu_available() else
                                   'unavailable (ATen path)')
