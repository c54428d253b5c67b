import io

import pytest
import torch
from torch.func import functional_call

from tgr.nn import SpatialGraphConv, skeleton_partition
from tgr.testing import dense_conv, dense_subsets, random_skeleton
from tgr.testing import stick_figure as stick


def make(cls, in_channels=3, out_channels=4, **kwargs):
    torch.manual_seed(12345)
    return cls(in_channels, out_channels, **kwargs).double()


def with_partition(data):
    data.partition = skeleton_partition(data.edge_index, data.center)
    return data


@pytest.mark.parametrize('shape', [(), (5, ), (2, 3)])
@pytest.mark.parametrize('bias', [True, False])
def test_spatial_graph_conv_matches_dense_reference(shape, bias):
    data = random_skeleton(13, seed=5)
    part = skeleton_partition(data.edge_index, data.center)
    A = dense_subsets(data.edge_index, data.center, 13)
    conv = make(SpatialGraphConv, 3, 6, bias=bias)
    x = torch.randn((13, ) + shape + (3, ), dtype=torch.double)
    out = conv(x, data.edge_index, part)
    assert out.shape == (13, ) + shape + (6, )
    assert torch.allclose(out, dense_conv(A, x, conv.lin))


def test_spatial_graph_conv_all_frames_equal_each_frame():
    data = with_partition(stick(T=6))
    conv = make(SpatialGraphConv, 3, 5)
    out = conv(data.x, data.edge_index, data.partition)
    for t in range(6):
        assert torch.allclose(out[:, t], conv(data.x[:, t], data.edge_index,
                                              data.partition))


def test_gradcheck_conv():
    data = with_partition(stick(T=2, C=2))
    conv = make(SpatialGraphConv, 2, 3)
    x = data.x.clone().requires_grad_()
    params = dict(conv.named_parameters())
    names = list(params)

    def fn(x, *weights):
        return functional_call(conv, dict(zip(names, weights)),
                               (x, data.edge_index, data.partition))

    assert torch.autograd.gradcheck(fn, (x, *params.values()),
                                    fast_mode=True)


def test_lazy_initialization():
    data = with_partition(stick(x=torch.randn(7, 3, 6)))
    conv = SpatialGraphConv(-1, 8)
    assert str(conv) == 'SpatialGraphConv(-1, 8)'
    assert conv(data.x, data.edge_index, data.partition).shape == (7, 3, 8)
    assert conv.lin.weight.shape == (8, 18)


def test_save_load():
    data = with_partition(stick())
    conv = make(SpatialGraphConv, 3, 5)
    out = conv(data.x, data.edge_index, data.partition)
    buf = io.BytesIO()
    torch.save(conv.state_dict(), buf)
    buf.seek(0)
    fresh = SpatialGraphConv(3, 5).double()
    fresh.load_state_dict(torch.load(buf))
    assert torch.equal(fresh(data.x, data.edge_index, data.partition), out)


def test_repr():
    assert str(SpatialGraphConv(3, 16)) == 'SpatialGraphConv(3, 16)'
    assert str(SpatialGraphConv(3, 16, bias=False)) == \
        'SpatialGraphConv(3, 16, bias=False)'


def test_errors():
    data = with_partition(stick(T=4))
    ei, part = data.edge_index, data.partition
    conv = SpatialGraphConv(3, 4).double()
    with pytest.raises(ValueError, match=r"'SpatialGraphConv' expects "
                       r"'partition' values in \[0, 2\] \(root.*\(got 3\)"):
        conv(data.x, ei, part + 1)
    with pytest.raises(TypeError, match="'partition' to be an integer"):
        conv(data.x, ei, part.double())
    with pytest.raises(ValueError, match="'SpatialGraphConv' expects "
                       "'edge_index' without self-loops"):
        conv(data.x, torch.cat([ei, torch.tensor([[2], [2]])], 1),
             torch.cat([part, torch.tensor([0])]))


def test_flow_target_to_source_on_flipped_edges_equals_default():
    data = with_partition(random_skeleton(11, seed=3))
    conv = make(SpatialGraphConv, 3, 5)
    rev = make(SpatialGraphConv, 3, 5, flow='target_to_source')
    rev.load_state_dict(conv.state_dict())
    out = conv(data.x, data.edge_index, data.partition)
    assert torch.allclose(
        rev(data.x, data.edge_index.flip(0), data.partition), out)
    # A one-way star: a leaf's feature reaches its neighbour either way.
    ei = torch.tensor([[1, 2], [0, 0]])
    part = torch.tensor([2, 2])
    x = torch.randn(3, 3, dtype=torch.double)
    assert torch.allclose(conv(x, ei, part)[0], rev(x, ei.flip(0), part)[0])
    assert not torch.allclose(conv(x, ei, part)[0],
                              conv(x, torch.zeros(2, 0, dtype=torch.long),
                                   torch.zeros(0, dtype=torch.long))[0])


@pytest.mark.parametrize('kwargs', [dict(aggr='mean'), dict(aggr=['add']),
                                    dict(node_dim=-2), dict(flow='up')])
def test_unsupported_message_passing_arguments_are_refused(kwargs):
    with pytest.raises(ValueError, match="'SpatialGraphConv'"):
        SpatialGraphConv(3, 4, **kwargs)


def test_aggr_object_is_refused():
    from torch_geometric.nn.aggr import MeanAggregation
    with pytest.raises(ValueError, match="supports aggr in"):
        SpatialGraphConv(3, 4, aggr=MeanAggregation())
    assert SpatialGraphConv(3, 4, aggr='sum').aggr == 'add'
