r"""Documents as graphs: tokens :math:`\to` sentences :math:`\to` documents."""
from typing import Any, Sequence

import torch
from torch_geometric.data import Data

__all__ = ['DocumentData']


class DocumentData(Data):
    r"""One document (or, in a :class:`~torch_geometric.data.Batch`, many) as
    the input of :class:`tgr.nn.models.HierarchicalAttentionNetwork`:

    - :obj:`token` (:obj:`long`, :math:`(N_w,)`): the token ids in reading
      order;
    - :obj:`token_sentence` (:obj:`long`, :math:`(N_w,)`): the sentence of
      every token (sorted; :obj:`0` is the first sentence);
    - :obj:`sentence_document` (:obj:`long`, :math:`(N_s,)`): the document
      of every sentence (all :obj:`0` for one document);

    plus any other attribute (e.g. :obj:`y`). The nodes are the tokens, so
    :obj:`batch.batch` is the document of every token.

    :meth:`__inc__` makes :class:`~torch_geometric.data.Batch` shift
    :obj:`token_sentence` by the number of sentences of the documents before
    it and :obj:`sentence_document` by one per document, so a batch is one
    valid input (pass :obj:`num_documents=batch.num_graphs`). The names hold
    no :obj:`"index"` on purpose: :class:`~torch_geometric.data.Batch` would
    shift such attributes by the number of nodes.
    """
    def __inc__(self, key: str, value: Any, *args, **kwargs) -> Any:
        if key == 'token_sentence':
            return self.sentence_document.size(0)
        if key == 'sentence_document':
            return 1
        return super().__inc__(key, value, *args, **kwargs)

    @property
    def num_sentences(self) -> int:
        r"""The number of sentences."""
        return self.sentence_document.size(0)

    @classmethod
    def from_sentences(cls, sentences: Sequence[Sequence[int]],
                       **kwargs: Any) -> 'DocumentData':
        r"""One document from the token ids of its sentences (in order);
        :obj:`kwargs` become further attributes (e.g. :obj:`y`)."""
        token = torch.tensor([t for s in sentences for t in s],
                             dtype=torch.long)
        token_sentence = torch.tensor(
            [i for i, s in enumerate(sentences) for _ in s], dtype=torch.long)
        sentence_document = torch.zeros(len(sentences), dtype=torch.long)
        return cls(token=token, token_sentence=token_sentence,
                   sentence_document=sentence_document,
                   num_nodes=token.numel(), **kwargs)
