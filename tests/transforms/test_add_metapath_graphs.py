import copy

import pytest
import torch
from torch_geometric.data import HeteroData

from tgr.transforms import AddMetaPathGraphs
from tgr.utils import metapath_edge_index

MDM = [('movie', 'director'), ('director', 'movie')]
MAM = [('movie', 'to', 'actor'), ('actor', 'to', 'movie')]


def imdb_like(seed=0):
    gen = torch.Generator().manual_seed(seed)
    data = HeteroData()
    data['movie'].x = torch.randn(10, 3, generator=gen)
    data['director'].num_nodes = 4
    data['actor'].x = torch.randn(7, 2, generator=gen)
    md = torch.stack([torch.arange(10), torch.randint(0, 4, (10, ),
                                                      generator=gen)])
    ma = torch.stack([torch.randint(0, 10, (25, ), generator=gen),
                      torch.randint(0, 7, (25, ), generator=gen)])
    data['movie', 'to', 'director'].edge_index = md
    data['director', 'to', 'movie'].edge_index = md.flip(0)
    data['movie', 'to', 'actor'].edge_index = ma
    data['actor', 'to', 'movie'].edge_index = ma.flip(0)
    return data


def test_adds_the_meta_path_graphs():
    data = imdb_like()
    out = AddMetaPathGraphs([MDM, MAM])(copy.copy(data))
    mdm = out['movie', 'movie_director_movie', 'movie'].edge_index
    mam = out['movie', 'movie_to_actor_to_movie', 'movie'].edge_index
    md = data['movie', 'to', 'director'].edge_index
    ma = data['movie', 'to', 'actor'].edge_index
    assert torch.equal(mdm, metapath_edge_index([md, md.flip(0)],
                                                [10, 4, 10]))
    assert torch.equal(mam, metapath_edge_index([ma, ma.flip(0)],
                                                [10, 7, 10]))
    # Movies with the same director, and nothing else:
    director = md[1]
    expected = (director[:, None] == director[None, :]).nonzero().t()
    assert torch.equal(mdm, expected)
    assert len(out.edge_types) == 6


def test_drop_options_and_repr():
    transform = AddMetaPathGraphs([MDM, MAM], drop_orig_edge_types=True,
                                  drop_unconnected_node_types=True)
    out = transform(imdb_like())
    assert out.node_types == ['movie']
    assert out.edge_types == [('movie', 'movie_director_movie', 'movie'),
                              ('movie', 'movie_to_actor_to_movie', 'movie')]
    assert str(transform) == ("AddMetaPathGraphs(['movie_director_movie', "
                              "'movie_to_actor_to_movie'])")


def test_errors():
    with pytest.raises(ValueError, match="'AddMetaPathGraphs' expects the "
                       "edge types of meta-path .* to chain"):
        AddMetaPathGraphs([[('movie', 'director'), ('actor', 'movie')]])
    with pytest.raises(ValueError, match='same meta-path twice'):
        AddMetaPathGraphs([MDM, MDM])
    with pytest.raises(ValueError, match='non-empty list'):
        AddMetaPathGraphs([])
    with pytest.raises(ValueError, match="found no edge type from 'movie' "
                       "to 'studio'"):
        AddMetaPathGraphs([[('movie', 'studio'), ('studio', 'movie')]])(
            imdb_like())
    with pytest.raises(TypeError, match='expects a HeteroData'):
        AddMetaPathGraphs([MDM])(torch.zeros(1))
