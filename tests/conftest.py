import os
from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[1] / '..' / 'shared' / 'data'


def pytest_configure(config):
    # Small kernels: one thread is fastest, and robust on a loaded machine.
    torch.set_num_threads(1)


@pytest.fixture
def shared_data():
    r"""The real datasets in ``../shared/data``; skips when absent."""
    path = SHARED_DATA.resolve()
    if not path.is_dir():
        pytest.skip(f'real data folder {path} is absent')
    return path


os.environ.setdefault('TQDM_DISABLE', '1')
