import pytest
import torch

from tgr.utils import metapath_edge_index, metapath_edge_type
from tgr.utils.metapath import check_metapath, resolve_edge_type


def dense(edge_index, n, m):
    return torch.zeros(n, m).index_put_(
        tuple(edge_index), torch.ones(edge_index.size(1)), accumulate=True)


@pytest.mark.parametrize('sizes', [(7, 5, 7), (6, 4, 3, 8)])
def test_binary_product_of_the_steps(sizes):
    gen = torch.Generator().manual_seed(len(sizes))
    steps = [torch.stack([torch.randint(0, a, (3 * a, ), generator=gen),
                          torch.randint(0, b, (3 * a, ), generator=gen)])
             for a, b in zip(sizes[:-1], sizes[1:])]
    out = metapath_edge_index(steps, list(sizes))
    product = dense(steps[0], sizes[0], sizes[1])
    assert (product > 1).any()  # repeated edges ...
    for step, (a, b) in zip(steps[1:], zip(sizes[1:-1], sizes[2:])):
        product = product @ dense(step, a, b)
    assert (product > 1).any()  # ... and repeated paths: one edge each
    assert torch.equal(out, product.nonzero().t())
    # Intermediate sizes taken from the indices:
    inner = [sizes[0]] + [None] * (len(sizes) - 2) + [sizes[-1]]
    assert torch.equal(metapath_edge_index(steps, inner), out)


def test_empty_and_errors():
    empty = torch.empty(2, 0, dtype=torch.long)
    assert metapath_edge_index([empty, empty], [3, None, 2]).shape == (2, 0)
    with pytest.raises(ValueError, match=r"destination index 4 in the "
                       r"edge_index of step 0, out of range for 4 nodes"):
        metapath_edge_index([torch.tensor([[0], [4]]), empty], [2, 4, 2])
    with pytest.raises(ValueError, match='one more number of nodes'):
        metapath_edge_index([empty], [2])


def test_names_and_resolution():
    assert metapath_edge_type([('movie', 'director'),
                               ('director', 'movie')]) == (
        'movie', 'movie_director_movie', 'movie')
    assert metapath_edge_type([('a', 'to', 'b'), ('b', 'to', 'a')]) == (
        'a', 'a_to_b_to_a', 'a')
    assert metapath_edge_type(('p', 'PAP', 'p')) == ('p', 'PAP', 'p')
    types = [('a', 'to', 'b'), ('a', 'cites', 'b'), ('b', 'to', 'c')]
    assert resolve_edge_type('x', ('b', 'c'), types) == ('b', 'to', 'c')
    assert resolve_edge_type('x', ('a', 'to', 'b'), types) == types[0]
    with pytest.raises(ValueError, match="'x' found more than one edge type "
                       "from 'a' to 'b'"):
        resolve_edge_type('x', ('a', 'b'), types)
    with pytest.raises(ValueError, match=r"'x' found no edge type \('c', "
                       r"'to', 'a'\)"):
        resolve_edge_type('x', ('c', 'to', 'a'), types)
    with pytest.raises(ValueError, match="step 0 ends at 'b' and step 1 "
                       "starts at 'c'"):
        check_metapath('x', [('a', 'b'), ('c', 'a')])
    with pytest.raises(ValueError, match='at least one edge type'):
        check_metapath('x', [])
