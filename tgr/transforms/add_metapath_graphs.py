from typing import List, Sequence

from torch_geometric.data import HeteroData
from torch_geometric.data.datapipes import functional_transform
from torch_geometric.transforms import BaseTransform

from ..utils.metapath import (MetaPathLike, check_metapath,
                              metapath_edge_type, metapath_graph)


@functional_transform('add_metapath_graphs')
class AddMetaPathGraphs(BaseTransform):
    r"""Adds the adjacency of every meta-path to a
    :class:`~torch_geometric.data.HeteroData` as an edge type of its own, for
    :class:`tgr.nn.HAN` (functional name: :obj:`add_metapath_graphs`).

    A meta-path :math:`\Phi = T_0 \to \dots \to T_L` is a sequence of edge
    types that chain, each a triple :obj:`(src, rel, dst)` or a pair
    :obj:`(src, dst)`. Node :math:`u \in T_0` is joined to
    :math:`v \in T_L` when at least one path instance leads from :math:`u` to
    :math:`v`: the graph is the product of the steps' sparse adjacencies with
    every nonzero set to one (:func:`tgr.utils.metapath_edge_index`), so
    duplicate paths give one edge. It is stored under
    :func:`tgr.utils.metapath_edge_type` of the meta-path, e.g.
    :obj:`('movie', 'movie_director_movie', 'movie')`: the same key that
    :class:`tgr.nn.HAN` gives the parameters of a meta-path passed to it as a
    sequence, so one trained model runs on either form.

    Building the graphs here, once per dataset (a :obj:`pre_transform`), is
    what lets :class:`~torch_geometric.loader.NeighborLoader` sample on them:
    a mini-batch of the raw edge types does not hold the meta-path
    neighbourhoods of its seed nodes.

    Args:
        metapaths (list): The meta-paths, each a sequence of edge types.
        drop_orig_edge_types (bool, optional): If set to :obj:`True`, removes
            the edge types that were in the graph before. (default:
            :obj:`False`)
        drop_unconnected_node_types (bool, optional): If set to :obj:`True`,
            removes the node types that no meta-path starts or ends at.
            (default: :obj:`False`)
    """
    def __init__(self, metapaths: Sequence[MetaPathLike],
                 drop_orig_edge_types: bool = False,
                 drop_unconnected_node_types: bool = False):
        who = self.__class__.__name__
        if not isinstance(metapaths, (list, tuple)) or not metapaths:
            raise ValueError(f"'{who}' expects 'metapaths' to be a non-empty "
                             f"list of meta-paths")
        self.metapaths: List[MetaPathLike] = [list(check_metapath(who, mp))
                                              for mp in metapaths]
        keys = [metapath_edge_type(mp) for mp in self.metapaths]
        if len(set(keys)) != len(keys):
            raise ValueError(f"'{who}' got the same meta-path twice ({keys})")
        self.edge_types = keys
        self.drop_orig_edge_types = drop_orig_edge_types
        self.drop_unconnected_node_types = drop_unconnected_node_types

    def forward(self, data: HeteroData) -> HeteroData:
        who = self.__class__.__name__
        if not isinstance(data, HeteroData):
            raise TypeError(f"'{who}' expects a HeteroData (got "
                            f"{type(data).__name__})")
        edge_index_dict = data.collect('edge_index')
        num_nodes_dict = {t: data[t].num_nodes for t in data.node_types}
        orig = list(data.edge_types)
        for metapath, edge_type in zip(self.metapaths, self.edge_types):
            data[edge_type].edge_index = metapath_graph(
                who, metapath, edge_index_dict, num_nodes_dict)
        if self.drop_orig_edge_types:
            for edge_type in orig:
                if edge_type not in self.edge_types:
                    del data[edge_type]
        if self.drop_unconnected_node_types:
            used = {t for et in self.edge_types for t in (et[0], et[-1])}
            for node_type in list(data.node_types):
                if node_type not in used:
                    del data[node_type]
        return data

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'{[et[1] for et in self.edge_types]})')
