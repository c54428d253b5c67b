import pytest
import torch

from tgr.nn._checks import (check_batch, check_labels, check_node_features,
                            check_state)


def test_check_node_features():
    check_node_features('L', torch.randn(3, 2))
    with pytest.raises(TypeError, match="'L' expects floating-point"):
        check_node_features('L', torch.ones(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"'L' expects 'x' of shape "
                       r"\(num_nodes, in_channels\)"):
        check_node_features('L', torch.randn(3))
    with pytest.raises(ValueError, match=r"\(got \(3, 5\)\)"):
        check_node_features('L', torch.randn(3, 5), channels=4)
    with pytest.raises(TypeError, match="'x' to be a torch.Tensor"):
        check_node_features('L', [[1.0]])


def test_check_batch():
    assert check_batch('L', None, 4) == 1
    assert check_batch('L', torch.tensor([0, 0, 2]), 3) == 3
    assert check_batch('L', torch.zeros(0, dtype=torch.long), 0) == 0
    with pytest.raises(ValueError, match=r"'batch' of shape \(3,\)"):
        check_batch('L', torch.tensor([0, 1]), 3)
    with pytest.raises(ValueError, match='non-negative'):
        check_batch('L', torch.tensor([0, -1]), 2)
    with pytest.raises(TypeError, match='integer tensor'):
        check_batch('L', torch.tensor([0., 1.]), 2)


def test_check_labels():
    out = check_labels('L', 'pos', torch.tensor([0, 1], dtype=torch.int),
                       2, 2, per='edge')
    assert out.dtype == torch.long
    with pytest.raises(ValueError, match=r"'pos' values in \[0, 1\] "
                       r"\(got 2\), see"):
        check_labels('L', 'pos', torch.tensor([0, 2]), 2, 2, hint=', see')
    with pytest.raises(ValueError, match=r"one value per edge"):
        check_labels('L', 'pos', torch.tensor([0]), 2, 2, per='edge')
    with pytest.raises(TypeError, match="'pos' to be an integer tensor"):
        check_labels('L', 'pos', torch.tensor([True, False]), 2, 2)


def test_check_state():
    assert check_state('L', None, (2, 3)) is None
    h = torch.zeros(2, 3)
    assert check_state('L', [h, h], (2, 3)) == (h, h)
    with pytest.raises(TypeError, match=r"pair \(h, c\)"):
        check_state('L', h, (2, 3))
    with pytest.raises(ValueError, match=r"shape \(2, 3\) \(got \(2, 4\)\)"):
        check_state('L', (h, torch.zeros(2, 4)), (2, 3))
