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


@pytest.fixture(scope='session')
def linked_root(tmp_path_factory):
    r"""Makes a dataset root in a temporary folder whose ``raw`` links to a
    read-only folder of real files; skips when that folder is absent."""
    def make(name: str, raw: Path) -> Path:
        if not raw.is_dir():
            pytest.skip(f'{name} folder {raw} is absent')
        root = tmp_path_factory.mktemp(name)
        (root / 'raw').symlink_to(raw, target_is_directory=True)
        return root
    return make
