import io

import pytest
import torch
from torch_geometric.nn import GraphConv

from tgr.nn.aggr import AttentionPooling
from tgr.utils import torch_scatter_available, use_torch_scatter


def make(in_channels=6, att_channels=5, **kw):
    torch.manual_seed(12345)
    return AttentionPooling(in_channels, att_channels, **kw).double()


def inputs(sizes=(3, 0, 1, 5, 2), channels=6, seed=0, shuffle=False):
    # Elements of segments of the given sizes (sorted, or shuffled).
    gen = torch.Generator().manual_seed(seed)
    index = torch.repeat_interleave(torch.arange(len(sizes)),
                                    torch.tensor(sizes))
    x = torch.randn(index.numel(), channels, generator=gen,
                    dtype=torch.double)
    if shuffle:
        perm = torch.randperm(index.numel(), generator=gen)
        x, index = x[perm], index[perm]
    return x, index


def dense_reference(pool, x, index, num_segments, pad_to=None):
    # The padded, masked computation of public implementations done right:
    # a (S, L, F) grid, scores of padding masked to -inf before the softmax.
    sizes = torch.bincount(index, minlength=num_segments).tolist()
    L = max(sizes + [1]) if pad_to is None else pad_to
    grid = x.new_zeros(num_segments, L, x.size(1))
    mask = torch.zeros(num_segments, L, dtype=torch.bool)
    where = []
    fill = [0] * num_segments
    for t in range(x.size(0)):  # elements keep their order in the segment
        i = int(index[t])
        grid[i, fill[i]] = x[t]
        mask[i, fill[i]] = True
        where.append((i, fill[i]))
        fill[i] += 1
    W, b = pool.lin.weight, pool.lin.bias
    u = torch.tanh(grid @ W.t() + (b if b is not None else 0))
    score = (u @ pool.context).masked_fill(~mask, float('-inf'))
    alpha = torch.softmax(score, dim=1)
    alpha = torch.where(mask, alpha, torch.zeros_like(alpha))  # empty: NaN
    out = (alpha.unsqueeze(-1) * grid).sum(dim=1)
    alpha_flat = torch.stack([alpha[i, p] for i, p in where]) \
        if where else x.new_zeros(0)
    return out, alpha_flat


@pytest.mark.parametrize('shuffle', [False, True])
@pytest.mark.parametrize('bias', [True, False])
@pytest.mark.parametrize('scatter', [False, True])
def test_matches_masked_dense_reference(shuffle, bias, scatter):
    # Values and gradients (of a random combination of the pooled vectors
    # and the weights) against the padded, masked dense computation.
    if scatter and not torch_scatter_available():
        pytest.skip('torch-scatter is not installed')
    pool = make(bias=bias)
    params = list(pool.parameters())
    x, index = inputs(shuffle=shuffle)
    x.requires_grad_()
    gen = torch.Generator().manual_seed(7)
    w_out = torch.randn(5, 6, generator=gen, dtype=torch.double)
    w_alpha = torch.randn(x.size(0), generator=gen, dtype=torch.double)

    with use_torch_scatter(scatter):
        out, alpha = pool(x, index, dim_size=5, return_attention_weights=True)
    grads = torch.autograd.grad((out * w_out).sum() + (alpha * w_alpha).sum(),
                                [x] + params)
    ref, ref_alpha = dense_reference(pool, x, index, 5)
    ref_grads = torch.autograd.grad(
        (ref * w_out).sum() + (ref_alpha * w_alpha).sum(), [x] + params)

    assert torch.allclose(out, ref, atol=1e-12)
    assert torch.allclose(alpha, ref_alpha, atol=1e-12)
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r, atol=1e-12)


def test_invariant_to_padding_and_to_other_segments():
    # A masked padded reference gives the same result for any pad length,
    # and so do we; a segment's output does not depend on the other
    # segments (however long they are, i.e. however much padding a grid
    # would need for them).
    pool = make()
    x, index = inputs(sizes=(3, 1, 4))
    out = pool(x, index, dim_size=3)
    for pad in (4, 10, 60):
        ref, _ = dense_reference(pool, x, index, 3, pad_to=pad)
        assert torch.allclose(out, ref, atol=1e-12)
    long_x = torch.randn(200, 6, dtype=torch.double)
    x_all = torch.cat([x, long_x])
    index_all = torch.cat([index, torch.full((200, ), 3)])
    out_all = pool(x_all, index_all, dim_size=4)
    assert torch.allclose(out_all[:3], out, atol=1e-14)
    for i in range(3):  # each segment alone
        alone = pool(x[index == i], dim_size=1)
        assert torch.allclose(alone[0], out[i], atol=1e-14)


def test_alpha_sums_to_one_per_segment():
    pool = make()
    x, index = inputs(sizes=(4, 0, 7, 1, 3), shuffle=True, seed=3)
    _, alpha = pool(x, index, dim_size=6, return_attention_weights=True)
    assert alpha.shape == (x.size(0), ) and bool((alpha > 0).all())
    total = torch.zeros(6, dtype=torch.double).index_add_(0, index, alpha)
    assert torch.allclose(total, torch.tensor([1., 0, 1, 1, 1, 0],
                                              dtype=torch.double))


def test_empty_segments_give_zeros_and_finite_gradients():
    pool = make()
    x, index = inputs(sizes=(0, 2, 0))
    x.requires_grad_()
    out, alpha = pool(x, index, dim_size=5, return_attention_weights=True)
    assert out.shape == (5, 6)
    zeros = torch.zeros(4, 6, dtype=torch.double)
    assert torch.equal(out[[0, 2, 3, 4]], zeros)
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in pool.parameters())
    # No elements at all:
    out = pool(torch.zeros(0, 6, dtype=torch.double),
               torch.zeros(0, dtype=torch.long), dim_size=3)
    assert torch.equal(out, torch.zeros(3, 6, dtype=torch.double))


def test_ptr_equals_index_and_no_index_is_one_segment():
    pool = make()
    x, index = inputs(sizes=(3, 0, 1, 5, 2))
    ptr = torch.tensor([0, 3, 3, 4, 9, 11])
    out, alpha = pool(x, index, dim_size=5, return_attention_weights=True)
    out_ptr, alpha_ptr = pool(x, ptr=ptr, return_attention_weights=True)
    assert torch.allclose(out, out_ptr) and torch.allclose(alpha, alpha_ptr)
    one = pool(x)
    assert one.shape == (1, 6)
    assert torch.allclose(one, pool(x, torch.zeros(11, dtype=torch.long)))


def test_permutation_equivariance():
    pool = make()
    x, index = inputs(sizes=(4, 3, 5), seed=2)
    out, alpha = pool(x, index, return_attention_weights=True)
    perm = torch.randperm(x.size(0), generator=torch.Generator()
                          .manual_seed(1))
    out_p, alpha_p = pool(x[perm], index[perm],
                          return_attention_weights=True)
    assert torch.allclose(out_p, out, atol=1e-14)
    assert torch.allclose(alpha_p, alpha[perm], atol=1e-14)


def test_gradcheck():
    pool = make(in_channels=3, att_channels=2)
    x, index = inputs(sizes=(2, 0, 3), channels=3)
    x.requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x, w, b, c: torch.func.functional_call(
            pool, {'lin.weight': w, 'lin.bias': b, 'context': c},
            (x, index), dict(dim_size=3)),
        (x, pool.lin.weight, pool.lin.bias, pool.context))


def test_as_aggregation_of_a_pyg_conv():
    # Usable wherever PyG takes an Aggregation, like AttentionalAggregation.
    torch.manual_seed(0)
    pool = AttentionPooling(4, 3)
    conv = GraphConv(4, 2, aggr=pool)
    x = torch.randn(5, 4)
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 0], [1, 0, 1, 1, 2, 4]])
    out = conv(x, edge_index)
    agg = pool(x[edge_index[0]], edge_index[1], dim_size=5)
    assert torch.allclose(out, conv.lin_rel(agg) + conv.lin_root(x),
                          atol=1e-6)
    assert torch.equal(agg[3], torch.zeros(4))  # node 3 receives nothing


def test_lazy_in_channels():
    pool = AttentionPooling(-1, 4)
    out = pool(torch.randn(5, 7), torch.tensor([0, 0, 1, 1, 1]))
    assert out.shape == (2, 7) and pool.lin.weight.shape == (4, 7)


def test_compile_equals_eager():
    pool = make().float()
    x, index = inputs(seed=4)
    x = x.float()
    eager, alpha = pool(x, index, dim_size=5, return_attention_weights=True)
    compiled = torch.compile(pool)
    out, alpha_c = compiled(x, index, dim_size=5,
                            return_attention_weights=True)
    assert torch.allclose(out, eager, atol=1e-6)
    assert torch.allclose(alpha_c, alpha, atol=1e-6)


def test_bf16_autocast_forward_backward():
    pool = make().float()
    x, index = inputs(sizes=(5, 0, 9, 2), seed=5)
    x = x.float().requires_grad_()
    ref, ref_alpha = pool(x, index, dim_size=4, return_attention_weights=True)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out, alpha = pool(x, index, dim_size=4,
                          return_attention_weights=True)
    assert alpha.dtype == torch.float32  # the softmax in single precision
    assert torch.allclose(out.float(), ref, atol=5e-2)
    assert torch.allclose(alpha, ref_alpha, atol=5e-2)
    out.float().sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in pool.parameters())


def test_state_dict_round_trip():
    pool = make()
    buf = io.BytesIO()
    torch.save(pool.state_dict(), buf)
    buf.seek(0)
    other = AttentionPooling(6, 5).double()
    other.load_state_dict(torch.load(buf, weights_only=True))
    x, index = inputs()
    assert torch.equal(other(x, index, dim_size=5),
                       pool(x, index, dim_size=5))


def test_reset_parameters_and_repr():
    pool = AttentionPooling(6, 5)
    before = pool.context.detach().clone()
    pool.reset_parameters()
    assert not torch.equal(before, pool.context)
    assert str(pool) == 'AttentionPooling(6, 5)'
    assert str(AttentionPooling(-1, 3)) == 'AttentionPooling(-1, 3)'


def test_bad_inputs():
    with pytest.raises(ValueError, match="'AttentionPooling' expects "
                       "'att_channels'"):
        AttentionPooling(4, 0)
    with pytest.raises(ValueError, match="'in_channels'"):
        AttentionPooling(0, 3)
    pool = AttentionPooling(4, 3)
    with pytest.raises(ValueError, match="with 4 input channels"):
        pool(torch.randn(3, 5), torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match=r"shape \(num_elements"):
        pool(torch.randn(2, 3, 4), torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="pools along 'dim' -2 or 0"):
        pool(torch.randn(3, 4), torch.tensor([0, 0, 1]), dim=1)
    with pytest.raises(ValueError, match="'index' to be an integer"):
        pool(torch.randn(3, 4), torch.tensor([0, 0]))
    with pytest.raises(TypeError, match="floating-point .*'x'"):
        pool(torch.ones(3, 4, dtype=torch.long), torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="dim_size"):
        pool(torch.randn(3, 4), torch.tensor([0, 0, 3]), dim_size=2)
    # Checked before any kernel (torch-scatter's CPU kernels do not check):
    with pytest.raises(ValueError, match=r"segment index -1 outside \[0, 2\)"):
        pool(torch.randn(3, 4), torch.tensor([0, -1, 1]), dim_size=2)
    with pytest.raises(ValueError, match=r"segment index 3 outside \[0, 2\)"):
        pool(torch.randn(3, 4), torch.tensor([0, 0, 3]), dim_size=2)
