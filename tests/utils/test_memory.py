import torch

from tgr.utils import memory


def test_empty_is_a_plain_buffer_of_the_asked_shape():
    like = torch.zeros(2, dtype=torch.float64)
    small = memory.empty((3, 4), like)
    assert small.shape == (3, 4) and small.dtype == torch.float64
    big = memory.empty((1 << 20, 3), like)  # 24 MiB: gets the hint
    assert big.shape == (1 << 20, 3) and big.is_contiguous()
    big.fill_(1.5)  # the memory is usable as any tensor's
    assert float(big[-1, -1]) == 1.5
    assert memory.empty((2, 2), like, dtype=torch.int32).dtype == torch.int32


def test_advice_is_only_a_hint():
    # Views, odd sizes and tensors below the threshold come back unchanged.
    t = torch.arange(10.)
    assert memory.advise_huge_pages(t) is t
    big = torch.empty(3 << 20, dtype=torch.uint8)[1:]
    assert memory.advise_huge_pages(big) is big
