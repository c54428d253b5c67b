import pytest
import torch

import tgr.utils.dispatch as dispatch
from tgr.utils import (scatter, segment, torch_scatter_available,
                       use_torch_scatter)

# Both paths of the dispatch point run in one session: the native kernels
# always, torch-scatter where it is installed (CI builds it).
PATHS = [False, True]


def _path(enabled):
    if enabled and dispatch._torch_scatter is None:
        pytest.skip('torch-scatter is not installed')
    return use_torch_scatter(enabled)


def _dense(src, index, dim_size, reduce):
    # Independent reference: one output row at a time.
    rows = []
    for i in range(dim_size):
        part = src[index == i]
        if part.numel() == 0:
            rows.append(src.new_zeros(src.shape[1:]))
        elif reduce == 'sum':
            rows.append(part.sum(0))
        elif reduce == 'mean':
            rows.append(part.mean(0))
        elif reduce == 'max':
            rows.append(part.max(0).values)
        else:
            rows.append(part.min(0).values)
    return torch.stack(rows)


@pytest.mark.parametrize('enabled', PATHS)
@pytest.mark.parametrize('reduce', ['sum', 'mean', 'max', 'min'])
def test_scatter(enabled, reduce):
    with _path(enabled):
        assert torch_scatter_available() == enabled
        src = torch.randn(30, 4, dtype=torch.double, requires_grad=True)
        index = torch.randint(0, 7, (30, ))
        index[index == 3] = 2  # row 3 stays empty
        out = scatter(src, index, 8, reduce)
        assert torch.allclose(out, _dense(src, index, 8, reduce))
        assert torch.autograd.gradcheck(
            lambda s: scatter(s, index, 8, reduce), (src, ))


@pytest.mark.parametrize('enabled', PATHS)
@pytest.mark.parametrize('reduce', ['sum', 'mean', 'max', 'min'])
def test_segment(enabled, reduce):
    with _path(enabled):
        src = torch.randn(20, 3, dtype=torch.double, requires_grad=True)
        ptr = torch.tensor([0, 4, 4, 11, 20])  # segment 1 is empty
        index = torch.repeat_interleave(torch.arange(4), ptr.diff())
        out = segment(src, ptr, reduce)
        assert torch.allclose(out, _dense(src, index, 4, reduce))
        assert torch.autograd.gradcheck(lambda s: segment(s, ptr, reduce),
                                        (src, ))


def test_switch_restores_and_bad_reduce():
    before = torch_scatter_available()
    with use_torch_scatter(False):
        assert not torch_scatter_available()
    assert torch_scatter_available() == before
    with pytest.raises(ValueError, match="'reduce' to be one of"):
        scatter(torch.randn(3, 2), torch.tensor([0, 1, 1]), 2, 'prod')
