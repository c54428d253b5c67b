r"""OGB's `ogbg-code2 <https://ogb.stanford.edu/docs/graphprop/#ogbg-code2>`_,
loaded with OGB's own class and brought into the form of
:class:`~tgr.datasets.PythonCodeTrees` (see :mod:`tgr.datasets.code_trees`
for the attributes of every graph), so that one model runs on both."""
import os
import os.path as osp
from typing import Dict, List

import torch
from torch_geometric.data import Data, InMemoryDataset
from tqdm import tqdm

from ..transforms import AddLevels
from .code_trees import SPLITS, _CodeTrees

__all__ = ['OGBCode2', 'from_ogb_code2', 'load_ogb_code2']

OGB_CODE2_URL = 'http://snap.stanford.edu/ogb/data/graphproppred/code2.zip'


def _allow_pyg_globals() -> None:
    # ogb 1.3.6 loads its processed file with a plain torch.load, which on
    # torch >= 2.6 only unpickles allow-listed globals ("Unsupported global:
    # torch_geometric.data.data.DataEdgeAttr").
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is not None:
        add([Data, DataEdgeAttr, DataTensorAttr, GlobalStorage])


def load_ogb_code2(root: str = 'data') -> 'InMemoryDataset':
    r"""Returns OGB's own :obj:`PygGraphPropPredDataset(name="ogbg-code2",
    root=root)`, with the two traps of :obj:`ogb==1.3.6` taken care of:

    - on :obj:`torch>=2.6`, loading its processed file fails with
      :obj:`Unsupported global: torch_geometric.data.data.DataEdgeAttr`
      (weights-only loading): PyG's data classes are allow-listed with
      :func:`torch.serialization.add_safe_globals` first;
    - after a failed or interrupted download, OGB leaves
      :obj:`root/ogbg_code2/` behind without :obj:`RELEASE_v1.txt`, and the
      next run stops at :obj:`input("Will you update the dataset now?")`
      (an :obj:`EOFError` without a terminal): that folder is reported in a
      :obj:`RuntimeError` that says what to delete or download instead.

    A fresh download without a terminal to confirm it (OGB asks before
    downloading more than 1 GB) raises a :obj:`RuntimeError` too.

    Raises:
        ImportError: if :obj:`ogb` is not installed.
        RuntimeError: as above, with what to do.
    """
    try:
        from ogb.graphproppred import PygGraphPropPredDataset
    except ImportError as e:
        raise ImportError("'load_ogb_code2' needs the 'ogb' package "
                          "('pip install ogb')") from e
    folder = osp.join(root, 'ogbg_code2')
    if osp.isdir(folder + '_pyg'):  # as OGB: an older folder name wins
        folder += '_pyg'
    zip_path = osp.join(root, 'code2.zip')
    how = (f"download {OGB_CODE2_URL}, unzip it in '{root}' and rename the "
           f"folder 'code2' it holds to 'ogbg_code2' (so that "
           f"'{osp.join(root, 'ogbg_code2', 'RELEASE_v1.txt')}' exists), or "
           f"run once where OGB can download it and ask you to confirm")
    if osp.isdir(folder) and not osp.exists(
            osp.join(folder, 'RELEASE_v1.txt')):
        raise RuntimeError(
            f"'load_ogb_code2' found '{folder}' without 'RELEASE_v1.txt', "
            f"the leftover of a failed or interrupted download (or an older "
            f"release); OGB would stop to ask whether to update it. Delete "
            f"it (rm -r '{folder}'"
            + (f" '{zip_path}'" if osp.exists(zip_path) else '') +
            f") and {how}.")
    existed = osp.isdir(folder)
    _allow_pyg_globals()
    try:
        return PygGraphPropPredDataset(name='ogbg-code2', root=root)
    except (EOFError, OSError) as e:
        if not existed:  # remove the empty folders OGB made, nothing else
            for path in (osp.join(folder, 'raw'), folder):
                try:
                    os.rmdir(path)
                except OSError:
                    pass
        what = ('no terminal to confirm the download'
                if isinstance(e, EOFError) else f'{type(e).__name__}: {e}')
        leftover = [p for p in (folder, zip_path) if osp.exists(p)]
        raise RuntimeError(
            f"'load_ogb_code2' could not get ogbg-code2 into '{root}' "
            f"({what}). " +
            (f"Delete {', '.join(repr(p) for p in leftover)} and " if leftover
             else '') + how[0].upper() + how[1:] + '.') from e


def _ogb_fields(data: Data) -> Data:
    n = int(data.num_nodes)
    return Data(
        x=data.x.long().view(n, 2),
        edge_index=data.edge_index.long().view(2, -1),
        node_depth=data.node_depth.long().view(n, 1),
        node_is_attributed=data.node_is_attributed.long().view(n, 1),
        node_dfs_order=data.node_dfs_order.long().view(n, 1),
        y=list(data.y),
        num_nodes=n,
    )


def from_ogb_code2(data: Data) -> Data:
    r"""Converts one graph of OGB's :obj:`ogbg-code2` into the form of
    :class:`PythonCodeTrees` (the attributes listed in
    :mod:`tgr.datasets.code_trees`, :obj:`level` added); OGB's ids of node
    types and attributes are kept."""
    out = _ogb_fields(data)
    return AddLevels(flow='target_to_source')(out)


class OGBCode2(_CodeTrees):
    r"""OGB's `ogbg-code2 <https://ogb.stanford.edu/docs/graphprop/
    #ogbg-code2>`_ (452,741 Python methods of GitHub projects), loaded with
    OGB's own :obj:`PygGraphPropPredDataset` (see :func:`load_ogb_code2`)
    and converted with :func:`from_ogb_code2` into the form of
    :class:`PythonCodeTrees`, with OGB's project split. Node type and
    attribute ids are OGB's; their numbers come from OGB's
    :obj:`mapping/*.csv.gz` (else from the largest ids seen).

    Args:
        root (str): The root given to OGB (its files are in
            :obj:`root/ogbg_code2`); the converted splits go to
            :obj:`root/ogbg_code2_tgr`.
        split (str, optional): :obj:`"train"`, :obj:`"valid"` or
            :obj:`"test"`. (default: :obj:`"train"`)
        transform (callable, optional): Applied to every graph on access.
        pre_transform (callable, optional): Applied to every graph before
            saving.
        force_reload (bool, optional): Re-convert. (default: :obj:`False`)
        log (bool, optional): Show progress. (default: :obj:`True`)
    """
    @property
    def raw_dir(self) -> str:
        return self.root  # OGB keeps its files in root/ogbg_code2.

    @property
    def processed_dir(self) -> str:
        return osp.join(self.root, 'ogbg_code2_tgr')

    def _key(self) -> str:
        return 'ogbg_code2'

    def process(self):
        ogb_dataset = load_ogb_code2(self.root)
        split_idx = ogb_dataset.get_idx_split()
        graphs: Dict[str, List[Data]] = {}
        max_type = max_attr = -1
        for split in SPLITS:
            graphs[split] = []
            for i in tqdm(split_idx[split].tolist(), desc=f'Converting '
                          f'{split}', disable=not self.log):
                g = _ogb_fields(ogb_dataset[i])
                graphs[split].append(g)
                if g.num_nodes > 0:
                    max_type = max(max_type, int(g.x[:, 0].max()))
                    max_attr = max(max_attr, int(g.x[:, 1].max()))
        counts = []
        for name, seen in (('typeidx2type', max_type),
                           ('attridx2attr', max_attr)):
            path = osp.join(ogb_dataset.root, 'mapping', f'{name}.csv.gz')
            if osp.exists(path):
                import pandas as pd
                seen = max(seen, len(pd.read_csv(path)) - 1)
            counts.append(seen + 1)
        from ogb.version import __version__ as ogb_version
        meta = {
            'source': 'ogbg-code2',
            'ogb_version': ogb_version,
            'num_graphs': {s: len(graphs[s]) for s in SPLITS},
            'num_node_types': counts[0],
            'num_node_attributes': counts[1],
        }
        self._write(graphs, meta)
