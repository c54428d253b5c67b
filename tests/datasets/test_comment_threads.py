import zlib

import pytest
import torch

from tgr.datasets.comment_threads import (fit_level_edges, hash_bag_of_words,
                                          score_to_level)


def test_fit_level_edges():
    assert fit_level_edges(range(80), 8) == [10, 20, 30, 40, 50, 60, 70]
    assert fit_level_edges([3, 1, 2], 8) == [2, 3]  # fewer distinct scores
    assert fit_level_edges([5, 5, 5], 8) == []
    # Ties never split; a big tie still leaves one level per other group:
    scores = [0] * 10 + [1] * 60 + [2] * 10 + [3] * 10 + [4] * 10
    edges = fit_level_edges(scores, 4)
    assert edges == [1, 2, 3]
    level = score_to_level(torch.tensor(scores), edges)
    assert torch.bincount(level).tolist() == [10, 60, 10, 20]
    assert score_to_level(torch.tensor([-5, 0, 1, 2, 9]), [0, 2]).tolist() \
        == [0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match='at least one score'):
        fit_level_edges([], 8)


def test_hash_bag_of_words():
    bow = hash_bag_of_words('The cat, the HAT.', 1024)
    the = zlib.crc32(b'the') % 1024
    assert bow[the] == 2 and sum(bow.values()) == 4
    assert bow == hash_bag_of_words('the cat the hat', 1024)
    assert zlib.crc32(b"the") == 1011183078  # stable everywhere


# Synthetic threads ###########################################################
