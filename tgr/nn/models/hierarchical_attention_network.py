from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence
from torch_geometric.nn import Linear

from .._checks import check_channels, check_labels
from ..aggr import AttentionPooling


@torch.compiler.disable
def packed_rnn(rnn: torch.nn.RNNBase, x: Tensor, index: Tensor,
               num_segments: int) -> Tensor:
    r"""Runs :obj:`rnn` (a :class:`torch.nn.GRU`, :class:`~torch.nn.LSTM` or
    :class:`~torch.nn.RNN` with :obj:`batch_first=False`) over every segment
    of rows of :obj:`x` as a sequence of its own, and returns the output of
    every row, in the rows' order.

    Segment :math:`i` is the rows :math:`t` with :obj:`index[t] = i`, in
    order; :obj:`index` must be sorted. The rows go straight into a
    :class:`~torch.nn.utils.rnn.PackedSequence` (one permutation of the rows,
    no padded tensor): at step :math:`p` it holds the :math:`p`-th row of
    every segment longer than :math:`p`, segments ordered by decreasing
    length. Empty segments take no part. The step sizes go to the host once
    (:class:`~torch.nn.utils.rnn.PackedSequence` keeps them on the CPU), so
    under :func:`torch.compile` this function is an opaque boundary
    (:func:`torch.compiler.disable`) that runs eagerly.

    Args:
        rnn (torch.nn.RNNBase): The recurrent layer.
        x (torch.Tensor): The rows :math:`(N, F_{in})`, sorted by segment.
        index (torch.Tensor): The sorted segment of every row :math:`(N,)`.
        num_segments (int): The number of segments :math:`S`.

    Returns:
        :math:`(N, D \cdot F_{out})`, :math:`D = 2` for a bidirectional
        :obj:`rnn`.
    """
    num_rows = x.size(0)
    out_channels = rnn.hidden_size * (2 if rnn.bidirectional else 1)
    if rnn.proj_size > 0:
        out_channels = rnn.proj_size * (2 if rnn.bidirectional else 1)
    if num_rows == 0:
        return x.new_zeros(0, out_channels)
    device = x.device
    length = torch.bincount(index, minlength=num_segments)
    start = torch.cumsum(length, 0) - length
    # Segments by decreasing length (stable); rank[i]: place of segment i.
    order = torch.argsort(length, descending=True, stable=True)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(num_segments, device=device)
    # batch_sizes[p] = number of segments longer than p, on the host:
    length_cpu = length.cpu()
    max_length = int(length_cpu.max())
    count = torch.bincount(length_cpu, minlength=max_length + 1)
    batch_sizes = num_segments - torch.cumsum(count, 0)[:max_length]
    step_start = (torch.cumsum(batch_sizes, 0) - batch_sizes).to(device)
    # Row t (position p in segment i) sits at step_start[p] + rank[i]:
    position = torch.arange(num_rows, device=device) - start[index]
    packed_pos = step_start[position] + rank[index]
    gather = torch.empty_like(packed_pos)
    gather[packed_pos] = torch.arange(num_rows, device=device)
    packed = PackedSequence(x.index_select(0, gather), batch_sizes)
    out, _ = rnn(packed)
    return out.data.index_select(0, packed_pos)


@torch.compiler.disable
def _num_documents(sentence_document: Tensor) -> int:
    return int(sentence_document.max()) + 1 \
        if sentence_document.numel() > 0 else 0


@torch.compiler.disable
def _check_sorted(who: str, name: str, index: Tensor, length: int,
                  bound: int, per: str) -> None:
    # An integer vector of `length` values in [0, bound), sorted.
    check_labels(who, name, index, length, bound, per=per)
    if length > 1 and bool((index[1:] < index[:-1]).any()):
        raise ValueError(f"'{who}' expects '{name}' to be sorted")


class HierarchicalAttentionNetwork(torch.nn.Module):
    r"""The hierarchical attention network of the `"Hierarchical Attention
    Networks for Document Classification"
    <https://aclanthology.org/N16-1174/>`_ paper (Yang et al., NAACL 2016),
    with documents as a graph (tokens :math:`\to` sentences :math:`\to`
    documents, each edge "belongs to") rather than a padded grid.

    A bidirectional GRU runs over the words of each sentence, an
    :class:`tgr.nn.aggr.AttentionPooling` pools them into the sentence
    vector, a second bidirectional GRU runs over the sentences of each
    document, a second attention pooling gives the document vector, and a
    linear layer the class scores:

    .. math::
        \mathbf{h}_{it} &= [\overrightarrow{\mathrm{GRU}}(\mathbf{W}_e
        w_{it}) \,\|\, \overleftarrow{\mathrm{GRU}}(\mathbf{W}_e w_{it})]

        \mathbf{s}_i &= \sum_t \alpha_{it} \mathbf{h}_{it}, \qquad
        \alpha_{it} = \mathrm{softmax}_t\big(\tanh(\mathbf{W}_w
        \mathbf{h}_{it} + \mathbf{b}_w)^{\top} \mathbf{u}_w\big)

        \mathbf{h}_i &= [\overrightarrow{\mathrm{GRU}}(\mathbf{s}_i)
        \,\|\, \overleftarrow{\mathrm{GRU}}(\mathbf{s}_i)]

        \mathbf{v} &= \sum_i \alpha_i \mathbf{h}_i, \qquad
        \alpha_i = \mathrm{softmax}_i\big(\tanh(\mathbf{W}_s \mathbf{h}_i
        + \mathbf{b}_s)^{\top} \mathbf{u}_s\big)

        \mathbf{p} &= \mathbf{W}_c \mathbf{v} + \mathbf{b}_c

    Both GRUs run on packed sequences (:func:`packed_rnn`): every sentence
    and every document has exactly its own length, nothing is truncated,
    and both softmaxes are taken over real tokens and sentences only. A
    sentence without tokens gets a zero vector, a document without
    sentences the logits of a zero vector.

    Args:
        num_embeddings (int): Size of the vocabulary.
        num_classes (int): The number of classes.
        embedding_dim (int, optional): Size of the word vectors.
            (default: :obj:`200`)
        hidden_channels (int, optional): Size of each GRU direction, so
            words and sentences are :obj:`2 * hidden_channels` wide.
            (default: :obj:`50`)
        att_channels (int, optional): Size of the attention's hidden layer
            and context vectors. (default: :obj:`100`)
        dropout (float, optional): Dropout probability on the word vectors,
            the sentence vectors and the document vector.
            (default: :obj:`0.0`)
        padding_idx (int, optional): As in :class:`torch.nn.Embedding`.
            (default: :obj:`None`)

    Shapes:
        - **input:** token ids :math:`(N_w,)` in reading order, the sentence
          of every token :math:`(N_w,)` (sorted), the document of every
          sentence :math:`(N_s,)` (sorted)
        - **output:** logits :math:`(B, \text{num\_classes})`, word
          attention :math:`(N_w,)` (sums to one within each sentence),
          sentence attention :math:`(N_s,)` (sums to one within each
          document)
    """
    def __init__(self, num_embeddings: int, num_classes: int,
                 embedding_dim: int = 200, hidden_channels: int = 50,
                 att_channels: int = 100, dropout: float = 0.0,
                 padding_idx: Optional[int] = None):
        super().__init__()
        who = self.__class__.__name__
        check_channels(who, lazy=(), num_embeddings=num_embeddings,
                       num_classes=num_classes, embedding_dim=embedding_dim,
                       hidden_channels=hidden_channels,
                       att_channels=att_channels)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"'{who}' expects 'dropout' in [0, 1) (got "
                             f"{dropout})")
        self.num_embeddings = num_embeddings
        self.num_classes = num_classes
        self.embedding_dim = embedding_dim
        self.hidden_channels = hidden_channels
        self.att_channels = att_channels
        self.dropout = dropout
        self.padding_idx = padding_idx
        width = 2 * hidden_channels
        self.embedding = torch.nn.Embedding(num_embeddings, embedding_dim,
                                            padding_idx=padding_idx)
        self.word_gru = torch.nn.GRU(embedding_dim, hidden_channels,
                                     bidirectional=True)
        self.word_att = AttentionPooling(width, att_channels)
        self.sentence_gru = torch.nn.GRU(width, hidden_channels,
                                         bidirectional=True)
        self.sentence_att = AttentionPooling(width, att_channels)
        self.lin = Linear(width, num_classes)
        self.reset_parameters()

    def reset_parameters(self):
        r"""Resets all learnable parameters of the module."""
        self.embedding.reset_parameters()
        self.word_gru.reset_parameters()
        self.word_att.reset_parameters()
        self.sentence_gru.reset_parameters()
        self.sentence_att.reset_parameters()
        self.lin.reset_parameters()

    def forward(self, token: Tensor, token_sentence: Tensor,
                sentence_document: Tensor,
                num_documents: Optional[int] = None,
                ) -> Tuple[Tensor, Tensor, Tensor]:
        r"""Classifies documents.

        Args:
            token (torch.Tensor): The token ids, in reading order.
            token_sentence (torch.Tensor): The sentence of every token,
                sorted.
            sentence_document (torch.Tensor): The document of every
                sentence, sorted.
            num_documents (int, optional): The number of documents :math:`B`
                (default: one more than the largest document id).

        Returns:
            :obj:`(logits, word_alpha, sentence_alpha)`.
        """
        who = self.__class__.__name__
        if not isinstance(token, Tensor) or token.dim() != 1 or \
                token.is_floating_point():
            raise TypeError(f"'{who}' expects 'token' to be a vector of "
                            f"integer token ids")
        num_sentences = sentence_document.numel()
        if num_documents is None:
            num_documents = _num_documents(sentence_document)
        _check_sorted(who, 'token_sentence', token_sentence, token.numel(),
                      num_sentences, 'token')
        _check_sorted(who, 'sentence_document', sentence_document,
                      num_sentences, num_documents, 'sentence')

        x = self.embedding(token)
        x = F.dropout(x, self.dropout, self.training)
        h = packed_rnn(self.word_gru, x, token_sentence, num_sentences)
        s, word_alpha = self.word_att(h, token_sentence,
                                      dim_size=num_sentences,
                                      return_attention_weights=True)
        s = F.dropout(s, self.dropout, self.training)
        h = packed_rnn(self.sentence_gru, s, sentence_document,
                       num_documents)
        v, sentence_alpha = self.sentence_att(h, sentence_document,
                                              dim_size=num_documents,
                                              return_attention_weights=True)
        v = F.dropout(v, self.dropout, self.training)
        return self.lin(v), word_alpha, sentence_alpha

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.num_embeddings}, '
                f'{self.num_classes}, embedding_dim={self.embedding_dim}, '
                f'hidden_channels={self.hidden_channels}, '
                f'att_channels={self.att_channels})')
