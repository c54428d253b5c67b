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


class _NTUFiles:
    r"""Writes and reads NTU RGB+D ``.skeleton`` text independently of
    :mod:`tgr.io.ntu_skeleton`, for the reader's and the dataset's tests."""

    @staticmethod
    def reference_read(path):
        r"""A list over frames of {body ID: (25, 3) array}."""
        import numpy as np
        lines = Path(path).read_bytes().decode().replace('\r\n', '\n')
        lines = lines.split('\n')
        i, frames = 1, []
        for _ in range(int(lines[0])):
            bodies = {}
            num_bodies = int(lines[i])
            i += 1
            for _ in range(num_bodies):
                body_id = lines[i].split()[0]
                num_joints = int(lines[i + 1])
                rows = [lines[i + 2 + j].split()[:3]
                        for j in range(num_joints)]
                bodies[body_id] = np.array(rows, dtype=np.float64)
                i += 2 + num_joints
            frames.append(bodies)
        return frames

    @staticmethod
    def text(frames, num_frames=None, newline='\n'):
        r"""A .skeleton file: `frames` is a list over frames of lists of (body
        ID, (25, 3) joints)."""
        out = [str(len(frames) if num_frames is None else num_frames)]
        for bodies in frames:
            out.append(str(len(bodies)))
            for body_id, joints in bodies:
                out.append(f'{body_id} 0 1 1 1 1 0 -0.1 0.1 2')
                out.append(str(len(joints)))
                for x, y, z in joints.tolist():
                    out.append(f'{x} {y} {z} 276.1 190.1 1032.3 514.1 -0.17 '
                               f'0.04 0.97 -0.16 2')
        return newline.join(out) + newline

    @staticmethod
    def rand_joints(gen, n=25, scale=0.1):
        return (torch.randn(n, 3, generator=gen, dtype=torch.float64) *
                scale).numpy().round(6)

    @classmethod
    def good_frames(cls):
        r"""Two frames: body '11', then bodies '11' and '12'."""
        gen = torch.Generator().manual_seed(0)
        return [[('11', cls.rand_joints(gen))],
                [('11', cls.rand_joints(gen)), ('12', cls.rand_joints(gen))]]


@pytest.fixture(scope='session')
def ntu_files():
    r"""Helpers that write and read NTU RGB+D ``.skeleton`` text."""
    return _NTUFiles
