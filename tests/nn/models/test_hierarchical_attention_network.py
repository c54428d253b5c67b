import io

import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.loader import DataLoader

from tgr.datasets import DocumentData
from tgr.nn.models import HierarchicalAttentionNetwork
from tgr.nn.models.hierarchical_attention_network import packed_rnn

V, C = 30, 3


def make(**kw):
    torch.manual_seed(12345)
    kw = dict(dict(embedding_dim=7, hidden_channels=4, att_channels=5), **kw)
    return HierarchicalAttentionNetwork(V, C, **kw).double()


def documents(seed=0, num_docs=4):
    # Documents of 1-5 sentences of 1-9 tokens (one single-token sentence,
    # one single-sentence document).
    gen = torch.Generator().manual_seed(seed)
    docs = []
    for d in range(num_docs):
        n = 1 if d == 1 else int(torch.randint(2, 6, (1, ), generator=gen))
        sentences = [torch.randint(0, V, (int(torch.randint(
            1, 10, (1, ), generator=gen)), ), generator=gen).tolist()
            for _ in range(n)]
        if d == 2:
            sentences[0] = sentences[0][:1]
        docs.append(DocumentData.from_sentences(sentences,
                                                y=torch.tensor([d % C])))
    return docs


# An independent reference, straight from the equations ######################
def gru_loop(gru, x, suffix):
    # PyTorch's GRU equations, one step at a time: r, z, n, then
    # h = (1 - z) * n + z * h_prev (the paper's z is our 1 - z).
    W_ih, W_hh = (getattr(gru, f'weight_ih_l0{suffix}'),
                  getattr(gru, f'weight_hh_l0{suffix}'))
    b_ih, b_hh = (getattr(gru, f'bias_ih_l0{suffix}'),
                  getattr(gru, f'bias_hh_l0{suffix}'))
    H = gru.hidden_size
    h = x.new_zeros(H)
    out = []
    for t in range(x.size(0)):
        gi, gh = W_ih @ x[t] + b_ih, W_hh @ h + b_hh
        r = torch.sigmoid(gi[:H] + gh[:H])
        z = torch.sigmoid(gi[H:2 * H] + gh[H:2 * H])
        n = torch.tanh(gi[2 * H:] + r * gh[2 * H:])
        h = (1 - z) * n + z * h
        out.append(h)
    return torch.stack(out)


def bigru_loop(gru, x):
    fwd = gru_loop(gru, x, '')
    bwd = gru_loop(gru, x.flip(0), '_reverse').flip(0)
    return torch.cat([fwd, bwd], dim=-1)


def attend(pool, h):
    u = torch.tanh(h @ pool.lin.weight.t() + pool.lin.bias)
    score = u @ pool.context
    alpha = torch.exp(score) / torch.exp(score).sum()
    return (alpha.unsqueeze(-1) * h).sum(0), alpha


def reference(model, sentences):
    # One document: a list of lists of token ids.
    vectors, word_alphas = [], []
    for tokens in sentences:
        h = bigru_loop(model.word_gru, model.embedding.weight[tokens])
        s, alpha = attend(model.word_att, h)
        vectors.append(s)
        word_alphas.append(alpha)
    h = bigru_loop(model.sentence_gru, torch.stack(vectors))
    v, sentence_alpha = attend(model.sentence_att, h)
    logits = model.lin.weight @ v + model.lin.bias
    return logits, torch.cat(word_alphas), sentence_alpha


def sentences_of(doc):
    out = [[] for _ in range(doc.num_sentences)]
    for t, s in zip(doc.token.tolist(), doc.token_sentence.tolist()):
        out[s].append(t)
    return out


def run(model, batch):
    return model(batch.token, batch.token_sentence, batch.sentence_document,
                 num_documents=batch.num_graphs)


def test_matches_reference_values_and_gradients():
    model = make()
    docs = documents()
    batch = Batch.from_data_list(docs)
    logits, word_alpha, sentence_alpha = run(model, batch)
    refs = [reference(model, sentences_of(d)) for d in docs]
    assert torch.allclose(logits, torch.stack([r[0] for r in refs]),
                          atol=1e-12)
    assert torch.allclose(word_alpha, torch.cat([r[1] for r in refs]),
                          atol=1e-12)
    assert torch.allclose(sentence_alpha, torch.cat([r[2] for r in refs]),
                          atol=1e-12)

    params = [p for p in model.parameters()]
    y = batch.y
    grads = torch.autograd.grad(
        torch.nn.functional.cross_entropy(logits, y), params)
    ref_logits = torch.stack([reference(model, sentences_of(d))[0]
                              for d in docs])
    ref_grads = torch.autograd.grad(
        torch.nn.functional.cross_entropy(ref_logits, y), params)
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r, atol=1e-12)


def test_alphas_sum_to_one():
    model = make()
    batch = Batch.from_data_list(documents(seed=1, num_docs=5))
    _, word_alpha, sentence_alpha = run(model, batch)
    per_sentence = torch.zeros(batch.sentence_document.numel(),
                               dtype=torch.double).index_add_(
                                   0, batch.token_sentence, word_alpha)
    per_document = torch.zeros(5, dtype=torch.double).index_add_(
        0, batch.sentence_document, sentence_alpha)
    assert torch.allclose(per_sentence, torch.ones_like(per_sentence))
    assert torch.allclose(per_document, torch.ones_like(per_document))


def test_batch_equals_each_document_alone():
    model = make()
    docs = documents(seed=2, num_docs=7)
    alone = [run(model, Batch.from_data_list([d])) for d in docs]
    i = 0  # the loader keeps the order
    for batch in DataLoader(docs, batch_size=3):
        logits, word_alpha, sentence_alpha = run(model, batch)
        for k in range(batch.num_graphs):
            tokens = slice(int(batch.ptr[k]), int(batch.ptr[k + 1]))
            sentences = batch.sentence_document == k
            assert torch.allclose(logits[k], alone[i][0][0], atol=1e-13)
            assert torch.allclose(word_alpha[tokens], alone[i][1],
                                  atol=1e-13)
            assert torch.allclose(sentence_alpha[sentences], alone[i][2],
                                  atol=1e-13)
            i += 1
    assert i == len(docs)


@pytest.mark.parametrize('cls,bidirectional', [
    (torch.nn.GRU, True), (torch.nn.GRU, False), (torch.nn.LSTM, True),
])
def test_packed_rnn_equals_per_segment_loop(cls, bidirectional):
    torch.manual_seed(0)
    rnn = cls(3, 4, bidirectional=bidirectional).double()
    sizes = torch.tensor([3, 0, 1, 7, 2, 0, 7])
    index = torch.repeat_interleave(torch.arange(7), sizes)
    x = torch.randn(int(sizes.sum()), 3, dtype=torch.double,
                    requires_grad=True)
    out = packed_rnn(rnn, x, index, 7)
    ref = torch.cat([rnn(x[index == i].unsqueeze(1))[0].squeeze(1)
                     for i in range(7) if sizes[i] > 0])
    assert torch.allclose(out, ref, atol=1e-13)
    w = torch.randn_like(out)
    g = torch.autograd.grad((out * w).sum(), [x] + list(rnn.parameters()))
    g_ref = torch.autograd.grad((ref * w).sum(),
                                [x] + list(rnn.parameters()))
    for a, b in zip(g, g_ref):
        assert torch.allclose(a, b, atol=1e-12)
    assert packed_rnn(rnn, x[:0], index[:0], 3).shape == (0, out.size(1))


def test_data_batch_increments_sentence_and_document_ids():
    docs = [DocumentData.from_sentences([[1, 2], [3]], y=torch.tensor([0])),
            DocumentData.from_sentences([[4, 5, 6]], y=torch.tensor([1])),
            DocumentData.from_sentences([[7], [8], [9, 10]],
                                        y=torch.tensor([2]))]
    assert docs[0].num_sentences == 2 and docs[0].num_nodes == 3
    batch = Batch.from_data_list(docs)
    assert batch.token.tolist() == list(range(1, 11))
    assert batch.token_sentence.tolist() == [0, 0, 1, 2, 2, 2, 3, 4, 5, 5]
    assert batch.sentence_document.tolist() == [0, 0, 1, 2, 2, 2]
    assert batch.batch.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    back = batch.to_data_list()
    for a, b in zip(back, docs):
        assert torch.equal(a.token_sentence, b.token_sentence)
        assert torch.equal(a.sentence_document, b.sentence_document)
    # DataLoader workers give the same batch:
    loaded = next(iter(DataLoader(docs, batch_size=3, num_workers=1)))
    assert torch.equal(loaded.token_sentence, batch.token_sentence)
    assert torch.equal(loaded.sentence_document, batch.sentence_document)


def test_empty_sentence_and_empty_document():
    model = make()
    docs = [DocumentData.from_sentences([[1, 2], [], [3]]),
            DocumentData.from_sentences([]),
            DocumentData.from_sentences([[4]])]
    batch = Batch.from_data_list(docs)
    logits, word_alpha, sentence_alpha = run(model, batch)
    assert torch.isfinite(logits).all() and logits.shape == (3, C)
    assert torch.allclose(logits[1], model.lin.bias)  # a zero vector
    assert torch.allclose(logits[2], run(model, Batch.from_data_list(
        [docs[2]]))[0][0])
    assert word_alpha.shape == (4, ) and sentence_alpha.shape == (4, )
    logits.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters()
               if p.grad is not None)


def test_compile_equals_eager():
    # Values and gradients on two batch shapes; the packing and the index
    # checks run eagerly behind torch.compiler.disable.
    model = make().float()
    compiled = torch.compile(model)
    params = list(model.parameters())
    for seed, num_docs in ((3, 4), (5, 6)):
        batch = Batch.from_data_list(documents(seed=seed, num_docs=num_docs))
        eager, out = run(model, batch), run(compiled, batch)
        for a, b in zip(eager, out):
            assert torch.allclose(a, b, atol=1e-5)
        g = torch.autograd.grad(eager[0].square().sum(), params)
        g_c = torch.autograd.grad(out[0].square().sum(), params)
        for a, b in zip(g, g_c):
            assert torch.allclose(a, b, atol=1e-5)


def test_bf16_autocast_forward_backward():
    model = make().float()
    batch = Batch.from_data_list(documents(seed=4))
    ref = run(model, batch)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        logits, word_alpha, sentence_alpha = run(model, batch)
        loss = torch.nn.functional.cross_entropy(logits.float(), batch.y)
    assert torch.allclose(logits.float(), ref[0], atol=5e-2)
    assert torch.allclose(sentence_alpha.float(), ref[2], atol=5e-2)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in model.parameters())


def test_state_dict_round_trip_and_reset():
    model = make()
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    other = HierarchicalAttentionNetwork(V, C, embedding_dim=7,
                                         hidden_channels=4,
                                         att_channels=5).double()
    other.load_state_dict(torch.load(buf, weights_only=True))
    batch = Batch.from_data_list(documents())
    for a, b in zip(run(model, batch), run(other, batch)):
        assert torch.equal(a, b)
    before = model.lin.weight.detach().clone()
    model.reset_parameters()
    assert not torch.equal(before, model.lin.weight)


def test_repr():
    assert str(HierarchicalAttentionNetwork(100, 5)) == (
        'HierarchicalAttentionNetwork(100, 5, embedding_dim=200, '
        'hidden_channels=50, att_channels=100)')


def test_bad_inputs():
    with pytest.raises(ValueError, match="'HierarchicalAttentionNetwork' "
                       "expects 'num_classes'"):
        HierarchicalAttentionNetwork(10, 0)
    with pytest.raises(ValueError, match="'dropout'"):
        HierarchicalAttentionNetwork(10, 2, dropout=1.0)
    model = make()
    token = torch.tensor([1, 2, 3])
    with pytest.raises(ValueError, match="'token_sentence' to be sorted"):
        model(token, torch.tensor([1, 0, 1]), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match=r"'token_sentence' of shape \(3,\)"):
        model(token, torch.tensor([0, 1]), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match=r"'token_sentence' values in "
                       r"\[0, 1\]"):
        model(token, torch.tensor([0, 1, 2]), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="'sentence_document' values"):
        model(token, torch.tensor([0, 1, 1]), torch.tensor([0, 1]),
              num_documents=1)
    with pytest.raises(TypeError, match="'token' to be a vector"):
        model(token.double(), torch.tensor([0, 1, 1]), torch.tensor([0, 0]))
    with pytest.raises(TypeError, match="'sentence_document' to be an "
                       "integer"):
        model(token, torch.tensor([0, 1, 1]), torch.tensor([0., 0.]))
