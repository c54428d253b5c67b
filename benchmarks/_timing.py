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
