r"""Adversarial cases from the hardening issue, one section per item: each
asserts the exact behaviour (equal outputs, or the error type and the words
that name the argument)."""
import copy

import pytest
import torch
from torch_geometric.data import Batch

from tgr.nn import (AGCLSTM, AGCLSTMCell, ChildSumTreeLSTM, GraphLSTM,
                    GraphStructuredLSTM, NAryTreeLSTM, PartAwareLSTM,
                    SpatialGraphConv, skeleton_partition)
from tgr.nn.models import AGCLSTMJointPartNet, AGCLSTMNet
from tgr.schedule import build_schedule
from tgr.testing import chain, random_forest, random_skeleton


# Inputs of every layer family ###############################################
def _forest(n, seed, C=5):
    ei = random_forest(n, num_trees=3, seed=seed, max_children=3)
    return (torch.randn(n, C), ei)


def _undirected(n, seed, C=5):
    # A random undirected graph (both directions, some nodes isolated) and a
    # per-label confidence with ties.
    gen = torch.Generator().manual_seed(seed)
    ei = torch.randint(n - 2, (2, n), generator=gen)
    return (torch.randn(n, C), torch.cat([ei, ei.flip(0)], dim=1),
            torch.randint(3, (n, 2), generator=gen).float())


def _skeletons(sizes, seed, T=4, C=3):
    data = []
    for i, n in enumerate(sizes):
        d = random_skeleton(n, T=T, C=C, seed=seed + i)
        d.x = d.x.float()
        d.partition = skeleton_partition(d.edge_index, d.center)
        data.append(d)
    return Batch.from_data_list(data)


def _parts(batch):
    # Body parts by joint position, 3 parts.
    joint = torch.arange(batch.num_nodes) - batch.ptr[batch.batch]
    return joint % 3, joint


FAMILIES = {
    'ChildSumTreeLSTM': (lambda: ChildSumTreeLSTM(5, 8),
                         lambda n, s: _forest(n, s)),
    'ChildSumTreeLSTM-mean': (lambda: ChildSumTreeLSTM(5, 8, aggr='mean'),
                              lambda n, s: _forest(n, s)),
    'NAryTreeLSTM': (lambda: NAryTreeLSTM(5, 8, num_children=3),
                     lambda n, s: _forest(n, s)),
    'GraphStructuredLSTM': (lambda: GraphStructuredLSTM(5, 8),
                            lambda n, s: (torch.randn(n, 5),
                                          random_forest(n, 3, s).flip(0))),
    'GraphLSTM': (lambda: GraphLSTM(5, 8), _undirected),
    'SpatialGraphConv': (lambda: SpatialGraphConv(3, 8), None),
    'AGCLSTMCell': (lambda: AGCLSTMCell(3, 8), None),
    'AGCLSTM': (lambda: AGCLSTM(3, 8), None),
    'PartAwareLSTM': (lambda: PartAwareLSTM(3, 4, num_parts=3,
                                            num_joints=20), None),
    'AGCLSTMNet': (lambda: AGCLSTMNet(3, 4, hidden_channels=8,
                                      pool_size=2), None),
    # Three parts per sample on a path, the first the centre (_parts); two
    # layers per stream (the temporal pooling included) keep tracing short.
    'AGCLSTMJointPartNet': (lambda: AGCLSTMJointPartNet(
        3, 4, torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), 0,
        hidden_channels=8, num_layers=2), None),
}


def _call(name, module, n, seed):
    make_input = FAMILIES[name][1]
    if make_input is not None:
        return module(*make_input(n, seed))
    b = _skeletons([n // 2, n - n // 2], seed)
    if name == 'SpatialGraphConv':
        return module(b.x, b.edge_index, b.partition)
    if name == 'AGCLSTMCell':
        return module(b.x[:, 0], b.edge_index, b.partition, b.batch)
    if name == 'AGCLSTM':
        return module(b.x, b.edge_index, b.partition, b.batch)
    if name == 'PartAwareLSTM':
        part, joint = _parts(b)
        return module(b.x, part, b.batch, joint)
    if name == 'AGCLSTMJointPartNet':
        return module(b.x, b.edge_index, b.partition, _parts(b)[0], b.batch)
    return module(b.x, b.edge_index, b.partition, b.batch)


def _flat(out):
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for o in out for t in _flat(o)]


def _loss(out):
    return sum((t.float() ** 2).sum() for t in _flat(out)
               if t.is_floating_point())


# 1. torch.compile ############################################################
@pytest.mark.parametrize('name', list(FAMILIES))
def test_compiled_equals_eager_on_two_batch_shapes(name):
    torch._dynamo.reset()
    torch.manual_seed(0)
    module = FAMILIES[name][0]()
    _call(name, module, 12, 0)  # materialise lazy shapes, if any
    eager = copy.deepcopy(module)  # same weights and running statistics
    compiled = torch.compile(module, backend='aot_eager')
    for n, seed in ((12, 1), (17, 2)):
        torch.manual_seed(seed)
        out = _call(name, compiled, n, seed)
        grads = torch.autograd.grad(_loss(out), list(module.parameters()),
                                    allow_unused=True)
        torch.manual_seed(seed)
        ref = _call(name, eager, n, seed)
        ref_grads = torch.autograd.grad(_loss(ref), list(eager.parameters()),
                                        allow_unused=True)
        for a, b in zip(_flat(out), _flat(ref)):
            assert torch.allclose(a, b, atol=1e-5), name
        for a, b in zip(grads, ref_grads):
            assert (a is None and b is None) or torch.allclose(a, b,
                                                               atol=1e-5)


def test_compiled_tree_lstm_with_inductor():
    # The default backend too (the rest uses 'aot_eager' to keep the suite
    # fast; both trace the same graph).
    torch._dynamo.reset()
    layer = ChildSumTreeLSTM(5, 8)
    compiled = torch.compile(layer)
    for n, seed in ((20, 1), (31, 2)):
        x, ei = _forest(n, seed)
        h, c = compiled(x, ei)
        h2, c2 = layer(x, ei)
        assert torch.allclose(h, h2, atol=1e-5)
        assert torch.allclose(c, c2, atol=1e-5)


# 2. bf16 autocast on the CPU ################################################
@pytest.mark.parametrize('name', list(FAMILIES))
def test_bf16_autocast_forward_and_backward(name):
    torch.manual_seed(0)
    module = FAMILIES[name][0]().eval()  # no dropout, fixed statistics
    _call(name, module, 14, 3)  # materialise lazy shapes, if any
    torch.manual_seed(3)
    ref = _call(name, module, 14, 3)
    used = [g is not None for g in torch.autograd.grad(
        _loss(ref), list(module.parameters()), allow_unused=True)]
    torch.manual_seed(3)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = _call(name, module, 14, 3)
        loss = _loss(out)
    loss.backward()
    for p, u in zip(module.parameters(), used):
        assert (p.grad is not None) == u
        if u:
            assert p.grad.dtype == p.dtype
            assert bool(torch.isfinite(p.grad).all())
    # Close to float32 (bf16 keeps ~3 significant digits):
    for a, b in zip(_flat(out), _flat(ref)):
        if a.is_floating_point():
            assert (a.float() - b).abs().max() < 0.1, name
    module.train()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        _call(name, module, 14, 3)


# 3. A schedule of another graph or flow #####################################
def test_schedule_of_another_graph_is_refused():
    x = torch.randn(7, 5)
    tree = torch.tensor([[1, 2, 3, 4, 5, 6], [0, 0, 1, 1, 2, 2]])
    m = ChildSumTreeLSTM(5, 4)
    with pytest.raises(ValueError, match="'ChildSumTreeLSTM' got a schedule "
                       "that belongs to another graph or flow"):
        m(x, chain(7), schedule=build_schedule(tree, 7))
    rev = ChildSumTreeLSTM(5, 4, flow='target_to_source')
    with pytest.raises(ValueError, match='another graph or flow'):
        rev(x, tree.flip(0), schedule=build_schedule(tree.flip(0), 7))
    # The right one is used as given:
    h, _ = rev(x, tree.flip(0), schedule=build_schedule(tree, 7))
    assert torch.allclose(h, rev(x, tree.flip(0))[0])
    # Same edges in another order: per-edge inputs would be misplaced.
    with pytest.raises(ValueError, match='another graph or flow'):
        NAryTreeLSTM(5, 4)(x, tree[:, [1, 0, 2, 3, 4, 5]],
                           schedule=build_schedule(tree, 7))


# 4. GraphStructuredLSTM ######################################################
def test_graph_structured_lstm_arguments():
    x = torch.randn(5, 3)
    ei = torch.tensor([[0, 0, 1], [1, 2, 3]])
    m = GraphStructuredLSTM(3, 4)
    with pytest.raises(ValueError, match="'sibling_index' to link siblings"):
        m(x, ei, sibling_index=torch.tensor([[2], [3]]))
    with pytest.raises(ValueError, match="'flow'"):
        GraphStructuredLSTM(3, 4, flow='target_to_source')
    with pytest.raises(ValueError, match='node 3 has a self loop'):
        m(x, torch.tensor([[0, 0, 3], [1, 3, 3]]))


# 5. SpatialGraphConv #########################################################
def test_spatial_graph_conv_arguments():
    with pytest.raises(ValueError, match="supports aggr in"):
        SpatialGraphConv(3, 4, aggr='max')
    b = _skeletons([9], 0)
    a = SpatialGraphConv(3, 4)
    r = SpatialGraphConv(3, 4, flow='target_to_source')
    r.load_state_dict(a.state_dict())
    assert torch.allclose(a(b.x, b.edge_index, b.partition),
                          r(b.x, b.edge_index.flip(0), b.partition))


# 7. Sizes and channels #######################################################
@pytest.mark.parametrize('make', [
    lambda v: ChildSumTreeLSTM(5, v), lambda v: NAryTreeLSTM(5, v),
    lambda v: GraphStructuredLSTM(5, v), lambda v: GraphLSTM(5, v),
    lambda v: SpatialGraphConv(3, v),
    lambda v: AGCLSTMCell(3, v), lambda v: AGCLSTM(3, v),
    lambda v: PartAwareLSTM(3, v, 3, 20),
    lambda v: AGCLSTMNet(3, 4, hidden_channels=v),
    lambda v: AGCLSTMJointPartNet(3, 4, torch.tensor([[0], [1]]), 0,
                                  hidden_channels=v)])
@pytest.mark.parametrize('value', [0, -3, 2.5, True])
def test_bad_sizes_are_refused(make, value):
    with pytest.raises(ValueError, match='to be (a positive integer|an '
                       'integer >=)'):
        make(value)


@pytest.mark.parametrize('name', list(FAMILIES))
def test_wrong_number_of_channels_names_the_layer(name):
    module = FAMILIES[name][0]()
    make_input = FAMILIES[name][1]
    if make_input is not None:
        x, ei, *rest = make_input(9, 0)
        args = (torch.randn(9, 7), ei, *rest)
    else:
        b = _skeletons([9], 0, C=4)
        part, joint = _parts(b)
        args = {'SpatialGraphConv': (b.x, b.edge_index, b.partition),
                'AGCLSTMCell': (b.x[:, 0], b.edge_index, b.partition),
                'AGCLSTM': (b.x, b.edge_index, b.partition),
                'PartAwareLSTM': (b.x, part, b.batch, joint),
                'AGCLSTMNet': (b.x, b.edge_index, b.partition),
                'AGCLSTMJointPartNet': (b.x, b.edge_index, b.partition,
                                        part)}[name]
    cls = name.split('-')[0]
    with pytest.raises(ValueError, match=f"'{cls}' expects 'x' of shape .*"
                       r"input channels|'{cls}' expects 'x' of shape"):
        module(*args)


# 8. NAryTreeLSTM child positions #############################################
def test_nary_child_index_is_renamed_child_pos():
    x, ei = _forest(10, 0)
    m = NAryTreeLSTM(5, 4, num_children=3)
    with pytest.raises(TypeError, match="'child_index', which is now "
                       "called 'child_pos'"):
        m(x, ei, child_index=torch.zeros(ei.size(1), dtype=torch.long))
    with pytest.raises(TypeError, match='unexpected keyword'):
        m(x, ei, child_position=None)
