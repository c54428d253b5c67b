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
