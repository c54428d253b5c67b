from typing import Callable, List, Optional, Sequence

import torch
from torch_geometric.data import HeteroData

from ..io.acm3025 import ACM3025_METAPATHS, read_acm3025
from .base import TGRDataset, check_choice

__all__ = ['ACM3025']


class ACM3025(TGRDataset):
    r"""HAN's own ACM benchmark from the `"Heterogeneous Graph Attention
    Network" <https://arxiv.org/abs/1903.07293>`_ paper: 3,025 papers with
    1,870-dimensional bag-of-words features, 3 classes (database, wireless
    communication, data mining), the published split of 600 training, 300
    validation and 2,125 test papers, and meta-path adjacencies over the
    papers, as one :class:`~torch_geometric.data.HeteroData`.

    Every meta-path is an edge type :obj:`('paper', NAME, 'paper')` (self
    loops included, as in the file), ready for :class:`tgr.nn.HAN`:
    :obj:`PAP` (paper-author-paper) and :obj:`PLP` (paper-subject-paper),
    the two the paper uses, and on request :obj:`PMP` and :obj:`PTP` (the
    latter joins every pair of papers: :math:`3025^2` edges). The split is
    stored as boolean :obj:`train_mask`, :obj:`val_mask` and
    :obj:`test_mask` on the paper type.

    The file (:obj:`ACM3025.mat`) is not downloaded: HAN's repository links
    it on a sign-in file host. Put (or link) it into :obj:`root/raw/`.
    Reading it is :func:`tgr.io.acm3025.read_acm3025`.

    Args:
        root (str): Root directory (:obj:`root/raw/ACM3025.mat`).
        metapaths (list of str, optional): The meta-paths to keep, out of
            :obj:`PAP`, :obj:`PLP`, :obj:`PMP`, :obj:`PTP`. (default:
            :obj:`('PAP', 'PLP')`)
        transform, pre_transform, pre_filter, force_reload, log: As in
            :class:`~torch_geometric.data.InMemoryDataset`.
    """
    url = 'https://github.com/Jhy1993/HAN'

    def __init__(self, root: str, metapaths: Sequence[str] = ('PAP', 'PLP'),
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None,
                 force_reload: bool = False, log: bool = True) -> None:
        metapaths = tuple(metapaths)
        if not metapaths or len(set(metapaths)) != len(metapaths):
            raise ValueError(f"'{self.__class__.__name__}' expects distinct "
                             f"'metapaths' (got {list(metapaths)})")
        for name in metapaths:
            check_choice(self.__class__.__name__, 'metapaths', name,
                         ACM3025_METAPATHS)
        self.metapaths = metapaths
        super().__init__(root, transform, pre_transform, pre_filter,
                         force_reload=force_reload, log=log)
        self.load(self.processed_paths[0], HeteroData)

    def how_to_get(self, raw_dir: str) -> str:
        return (f"HAN's repository ({self.url}) links it; copy or link it "
                f"into '{raw_dir}'")

    @property
    def raw_file_names(self) -> List[str]:
        return ['ACM3025.mat']

    @property
    def processed_file_names(self) -> List[str]:
        return [f"data_{'_'.join(self.metapaths)}.pt"]

    def process(self) -> None:
        raw = read_acm3025(self.raw_paths[0], self.metapaths)
        data = HeteroData()
        data['paper'].x = raw['x']
        data['paper'].y = raw['y']
        for split, idx in raw['split'].items():
            mask = torch.zeros(raw['x'].size(0), dtype=torch.bool)
            mask[idx] = True
            data['paper'][f'{split}_mask'] = mask
        for name in self.metapaths:
            data['paper', name, 'paper'].edge_index = raw['edge_index'][name]
        if self.pre_transform is not None:
            data = self.pre_transform(data)
        self.save([data], self.processed_paths[0])

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(metapaths={list(self.metapaths)})'
