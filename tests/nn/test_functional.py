import pytest
import torch

from tgr.nn._functional import (sigmoid_backward_out, tanh,
                                tanh_backward_out)


@pytest.mark.parametrize('shape', [(3, 5), (400, 64)])  # both paths
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_tanh_matches_torch(shape, dtype):
    x = torch.linspace(-12, 12, shape[0] * shape[1], dtype=dtype)
    x = x.view(shape)
    tol = 3e-7 if dtype == torch.float32 else 1e-15
    assert (tanh(x) - torch.tanh(x)).abs().max() < tol
    out = torch.empty_like(x)
    assert tanh(x, out=out) is out
    assert (out - torch.tanh(x)).abs().max() < tol
    y = x.clone()
    tanh(y, out=y)  # in place
    assert (y - torch.tanh(x)).abs().max() < tol
    # A strided output, as the steps write into slices of their buffers:
    buf = torch.zeros(shape[0], shape[1] + 3, dtype=dtype)
    tanh(x, out=buf[:, 3:])
    assert (buf[:, 3:] - torch.tanh(x)).abs().max() < tol
    assert bool((buf[:, :3] == 0).all())


def test_backward_out_variants_may_write_in_place():
    y = torch.rand(4, 6)
    g = torch.randn(4, 6)
    expect_s, expect_t = g * y * (1 - y), g * (1 - y * y)
    gs, gt = g.clone(), g.clone()
    sigmoid_backward_out(gs, y, grad_input=gs)
    tanh_backward_out(gt, y, grad_input=gt)
    assert torch.allclose(gs, expect_s) and torch.allclose(gt, expect_t)
