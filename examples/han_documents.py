r"""Document classification with the hierarchical attention network.

The model of Yang et al. (NAACL 2016), "Hierarchical Attention Networks for
Document Classification" (https://aclanthology.org/N16-1174/), as
:class:`tgr.nn.models.HierarchicalAttentionNetwork`: a bidirectional GRU and
attention over the words of each sentence, then the same over the sentences
of each document, with documents as a graph (tokens -> sentences ->
documents) batched by PyG, not padded to a grid. Beside it, in the same run
and on the same split and tokens, TF-IDF (unigrams and bigrams, sublinear
tf) with logistic regression (scikit-learn, its C chosen on val).

The paper starts from word2vec vectors trained on its own training and
validation text; without another package or a download, the word vectors
here start from the SVD of the positive PMI of word co-occurrences in the
training documents (``--init ppmi``, the default; no labels used), or from
random vectors (``--init random``).

Reported: the test accuracy of the network at its epoch of best validation
accuracy, over ``--runs`` seeds (mean +- std), the TF-IDF baseline, and for
three test documents the sentence with the highest attention and its words
with the highest attention.

    # BBC News (2,225 articles, 5 topics; ../shared/data/bbc or ROOT/raw):
    python examples/han_documents.py --dataset bbc
    # A SYNTHETIC corpus (no data needed; the default):
    python examples/han_documents.py

Needs scikit-learn (``pip install -e ".[text]"``).

The synthetic corpus: random filler words, identical in distribution for
every class; the class is carried only by a few planted words (one per
sentence in a random third of a document's sentences, at random places).
Its run also reports how often the word with the highest attention, in the
sentence with the highest attention, is a planted word.
"""
import argparse
import copy
import os
import os.path as osp
import random
import statistics
import time

import torch
import torch.nn.functional as F
from torch_geometric.loader import DataLoader
from tqdm import tqdm

from tgr.datasets import BBCNews, DocumentData
from tgr.nn.models import HierarchicalAttentionNetwork

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_BBC = osp.join(REPO, '..', 'shared', 'data', 'bbc')


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'expected a positive integer, got '
                                         f'{value}')
    return value


parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
parser.add_argument('--dataset', choices=['synthetic', 'bbc'],
                    default='synthetic')
parser.add_argument('--root', default=osp.join(REPO, 'data', 'BBCNews'),
                    help='BBC dataset folder; its raw/ holds the 5 topic '
                    'folders (linked to ../shared/data/bbc if absent)')
parser.add_argument('--min-count', type=positive, default=2,
                    help='BBC: tokens seen fewer times in train are <unk>')
parser.add_argument('--seed', type=int, default=0)
parser.add_argument('--runs', type=positive, default=3,
                    help='seeds seed, seed + 1, ...')
parser.add_argument('--epochs', type=positive, default=12)
parser.add_argument('--batch-size', type=positive, default=32)
parser.add_argument('--lr', type=float, default=2e-3)
parser.add_argument('--weight-decay', type=float, default=0.0)
parser.add_argument('--dropout', type=float, default=0.3)
parser.add_argument('--embedding-dim', type=positive, default=200)
parser.add_argument('--hidden', type=positive, default=50,
                    help='GRU size per direction')
parser.add_argument('--att', type=positive, default=100,
                    help='attention size')
parser.add_argument('--init', choices=['ppmi', 'random'], default='ppmi',
                    help='word vectors: SVD of the positive PMI of word '
                    'co-occurrences in the training documents (no labels), '
                    'or random N(0, 1)')
parser.add_argument('--no-baseline', action='store_true',
                    help='skip TF-IDF + logistic regression')
parser.add_argument('--synthetic-docs', type=positive, default=1000,
                    help='synthetic documents, all splits (70/10/20)')
parser.add_argument('--synthetic-classes', type=positive, default=4)
parser.add_argument('--data-seed', type=int, default=0,
                    help='seed of the synthetic corpus')
parser.add_argument('--device', default=None,
                    help='(default: cuda if available, else cpu)')
parser.add_argument('--threads', type=int, default=1,
                    help='CPU threads (0 = PyTorch\'s choice)')
args = parser.parse_args()
if osp.exists(args.root) and not osp.isdir(args.root):
    parser.error(f'--root {args.root!r} is a file; expected the dataset '
                 f'folder (its raw/ holds the topic folders)')
if not 0 <= args.dropout < 1:
    parser.error(f'--dropout must be in [0, 1), got {args.dropout}')
if args.synthetic_docs < 10 or args.synthetic_classes < 2:
    parser.error('--synthetic-docs must be at least 10 and '
                 '--synthetic-classes at least 2')

if args.threads > 0:
    torch.set_num_threads(args.threads)
device = torch.device(args.device or (
    'cuda' if torch.cuda.is_available() else 'cpu'))


# Data ########################################################################
def synthetic_corpus(num_docs: int, num_classes: int, seed: int):
    # Filler words w0..w499 (Zipf-like), the same for every class; each class
    # has 3 planted words "c{k}_{j}". A document has 4-12 sentences of 5-20
    # words; a random third of them (at least one) get one planted word of
    # the document's class at a random place.
    rng = random.Random(seed)
    fillers = [f'w{i}' for i in range(500)]
    weights = [1.0 / (i + 1) for i in range(500)]
    planted = [[f'c{k}_{j}' for j in range(3)] for k in range(num_classes)]
    vocab = ['<pad>', '<unk>'] + fillers + [w for p in planted for w in p]
    word2idx = {w: i for i, w in enumerate(vocab)}
    docs = []
    for i in range(num_docs):
        y = i % num_classes
        num_sentences = rng.randint(4, 12)
        marked = set(rng.sample(range(num_sentences),
                                max(1, num_sentences // 3)))
        sentences = []
        for s in range(num_sentences):
            words = rng.choices(fillers, weights, k=rng.randint(5, 20))
            if s in marked:
                words.insert(rng.randint(0, len(words)),
                             rng.choice(planted[y]))
            sentences.append([word2idx[w] for w in words])
        docs.append(DocumentData.from_sentences(sentences,
                                                y=torch.tensor([y])))
    rng.shuffle(docs)
    n_train, n_val = int(0.7 * num_docs), int(0.1 * num_docs)
    splits = (docs[:n_train], docs[n_train:n_train + n_val],
              docs[n_train + n_val:])
    classes = [f'class{k}' for k in range(num_classes)]
    return splits, vocab, classes, {w for p in planted for w in p}


if args.dataset == 'bbc':
    raw = osp.join(args.root, 'raw')
    if not osp.lexists(raw) and osp.isdir(SHARED_BBC):
        os.makedirs(args.root, exist_ok=True)
        os.symlink(osp.realpath(SHARED_BBC), raw, target_is_directory=True)
    datasets = [BBCNews(args.root, split, min_count=args.min_count)
                for split in BBCNews.splits]
    vocab, classes, planted = datasets[0].vocab, list(BBCNews.classes), None
    source = (f'BBC News, {sum(len(d) for d in datasets)} articles, '
              f'vocabulary {len(vocab)} (min count {args.min_count} in '
              f'train)')
else:
    datasets, vocab, classes, planted = synthetic_corpus(
        args.synthetic_docs, args.synthetic_classes, args.data_seed)
    source = (f'SYNTHETIC corpus, {args.synthetic_docs} documents, '
              f'{len(classes)} classes carried by {len(planted)} planted '
              f'words, data seed {args.data_seed}')
train_data, val_data, test_data = datasets


def words_of(data):
    # The tokens of every sentence of one document, as strings.
    out = [[] for _ in range(data.sentence_document.numel())]
    for t, s in zip(data.token.tolist(), data.token_sentence.tolist()):
        out[s].append(vocab[t])
    return out


def stats(ds):
    docs = len(ds)
    sentences = sum(d.sentence_document.numel() for d in ds)
    tokens = sum(d.token.numel() for d in ds)
    return f'{docs} docs / {sentences} sentences / {tokens} tokens'


print(f'Data: {source}')
print(f'Splits: train {stats(train_data)}, val {stats(val_data)}, test '
      f'{stats(test_data)}')


# TF-IDF + logistic regression ################################################
def tfidf_baseline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def texts(ds):  # the same tokens as the network sees, <unk> left out
        return [' '.join(w for s in words_of(d) for w in s if w != '<unk>')
                for d in ds]

    def labels(ds):
        return [int(d.y) for d in ds]

    vec = TfidfVectorizer(tokenizer=str.split, token_pattern=None,
                          lowercase=False, ngram_range=(1, 2),
                          sublinear_tf=True, min_df=2)
    x_train = vec.fit_transform(texts(train_data))
    x_val, x_test = vec.transform(texts(val_data)), vec.transform(
        texts(test_data))
    best = None
    for C in (1.0, 10.0, 100.0):
        clf = LogisticRegression(C=C, max_iter=2000)
        clf.fit(x_train, labels(train_data))
        val = clf.score(x_val, labels(val_data))
        if best is None or val > best[1]:
            best = (C, val, clf.score(x_test, labels(test_data)))
    return best


# Word vectors from the training text ########################################
def ppmi_vectors(docs, num_words: int, dim: int, window: int = 5):
    # The paper starts from word2vec vectors trained on its training and
    # validation text; here, the same idea without another package: the SVD
    # of the positive pointwise mutual information of co-occurrences within
    # `window` tokens in a sentence (context counts smoothed by ** 0.75,
    # Levy et al., TACL 2015), vectors U * sqrt(S), scaled to unit
    # standard deviation. Training documents only, no labels.
    import numpy as np
    from scipy.sparse import coo_matrix
    from sklearn.utils.extmath import randomized_svd

    rows, cols = [], []
    for data in docs:
        token, sentence = data.token.numpy(), data.token_sentence.numpy()
        for d in range(1, window + 1):
            same = sentence[d:] == sentence[:-d]
            rows += [token[d:][same], token[:-d][same]]
            cols += [token[:-d][same], token[d:][same]]
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    counts = coo_matrix((np.ones(rows.size), (rows, cols)),
                        shape=(num_words, num_words)).tocsr()
    total = counts.sum()
    word = np.asarray(counts.sum(axis=1)).ravel()
    context = np.asarray(counts.sum(axis=0)).ravel() ** 0.75
    context /= context.sum()
    coo = counts.tocoo()
    pmi = np.log(coo.data * 1.0 / total /
                 (word[coo.row] / total * context[coo.col]))
    keep = pmi > 0
    ppmi = coo_matrix((pmi[keep], (coo.row[keep], coo.col[keep])),
                      shape=counts.shape).tocsr()
    u, sigma, _ = randomized_svd(ppmi, dim, random_state=0)
    vectors = torch.from_numpy(u * np.sqrt(sigma)).float()
    return vectors / vectors.std()


# The network #################################################################
train_loader = val_loader = test_loader = None


def make_loaders(seed: int):
    generator = torch.Generator().manual_seed(seed)
    return (DataLoader(train_data, args.batch_size, shuffle=True,
                       generator=generator),
            DataLoader(val_data, 128), DataLoader(test_data, 128))


def forward(model, batch):
    return model(batch.token, batch.token_sentence, batch.sentence_document,
                 num_documents=batch.num_graphs)


def train(model, optimizer, epoch: int) -> float:
    model.train()
    total_loss = total = 0
    for batch in tqdm(train_loader, desc=f'Epoch {epoch:02d}', leave=False):
        batch = batch.to(device)
        optimizer.zero_grad()
        logits, _, _ = forward(model, batch)
        loss = F.cross_entropy(logits, batch.y)
        loss.backward()
        optimizer.step()
        total_loss += float(loss.detach()) * batch.num_graphs
        total += batch.num_graphs
    return total_loss / total


@torch.no_grad()
def test(model, loader) -> float:
    model.eval()
    correct = total = 0
    for batch in loader:
        batch = batch.to(device)
        logits, _, _ = forward(model, batch)
        correct += int((logits.argmax(dim=-1) == batch.y).sum())
        total += batch.num_graphs
    return correct / total


def run(seed: int):
    global train_loader, val_loader, test_loader
    torch.manual_seed(seed)
    train_loader, val_loader, test_loader = make_loaders(seed)
    model = HierarchicalAttentionNetwork(
        len(vocab), len(classes), embedding_dim=args.embedding_dim,
        hidden_channels=args.hidden, att_channels=args.att,
        dropout=args.dropout)
    if word_vectors is not None:
        model.embedding.weight.data.copy_(word_vectors)
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr,
                                 weight_decay=args.weight_decay)
    best = dict(val=-1.0)
    for epoch in range(1, args.epochs + 1):
        t = time.perf_counter()
        loss = train(model, optimizer, epoch)
        val = test(model, val_loader)
        if val > best['val']:  # the first epoch on a tie
            best = dict(val=val, epoch=epoch, test=test(model, test_loader),
                        state=copy.deepcopy(model.state_dict()))
        print(f'Seed {seed}, epoch {epoch:02d}: loss {loss:.4f}, val acc '
              f'{val:.4f}, {time.perf_counter() - t:.1f}s')
    model.load_state_dict(best['state'])
    return model, best


@torch.no_grad()
def attention_report(model, docs, top_words: int = 5):
    # The sentence with the highest attention of every document, and its
    # words with the highest attention; the fraction of documents whose top
    # word of the top sentence is a planted word (synthetic data).
    model.eval()
    hits = chance = 0.0
    # The first document of three classes far apart (first, middle, last):
    labels = [int(d.y) for d in docs]
    shown = {labels.index(k) for k in sorted({0, len(classes) // 2,
                                              len(classes) - 1})
             if k in labels}
    lines = []
    for i, data in enumerate(docs):
        data = data.to(device)
        logits, word_alpha, sentence_alpha = model(
            data.token, data.token_sentence, data.sentence_document,
            num_documents=1)
        s = int(sentence_alpha.argmax())
        mask = data.token_sentence == s
        alpha = word_alpha[mask]
        words = words_of(data)[s]
        order = alpha.argsort(descending=True).tolist()
        if planted is not None:
            hits += words[order[0]] in planted
            # A word picked at random from the document is planted with
            # probability (planted tokens) / (tokens):
            every = [w for sentence in words_of(data) for w in sentence]
            chance += sum(w in planted for w in every) / len(every)
        if i in shown:
            pred = classes[int(logits.argmax())]
            top = ', '.join(f'{words[j]} {float(alpha[j]):.2f}'
                            for j in order[:top_words])
            lines.append(
                f'[{classes[int(data.y)]}, predicted {pred}] sentence '
                f'{s + 1} of {data.sentence_document.numel()} '
                f'(attention {float(sentence_alpha[s]):.2f}): '
                f'"{" ".join(words)}"\n    top words: {top}')
    n = max(len(docs), 1)
    return lines, hits / n, chance / n


print(f'Model: HierarchicalAttentionNetwork(embedding {args.embedding_dim} '
      f'({args.init}), '
      f'GRU {args.hidden} per direction, attention {args.att}), dropout '
      f'{args.dropout}, Adam lr {args.lr}, batch {args.batch_size}, '
      f'{args.epochs} epochs, {device}, {torch.get_num_threads()} CPU '
      f'thread(s)')
start = time.perf_counter()
baseline = None
if not args.no_baseline:
    baseline = tfidf_baseline()
    print(f'TF-IDF + logistic regression: C {baseline[0]:g} (chosen on val, '
          f'val acc {baseline[1]:.4f}), test acc {baseline[2]:.4f}')
word_vectors = None
if args.init == 'ppmi':
    t = time.perf_counter()
    word_vectors = ppmi_vectors(train_data, len(vocab), args.embedding_dim)
    print(f'Word vectors: PPMI-SVD of the training text, '
          f'{time.perf_counter() - t:.1f}s')
results, first_model = [], None
for r in range(args.runs):
    model, best = run(args.seed + r)
    results.append(best)
    if first_model is None:
        first_model = model
elapsed = time.perf_counter() - start

kind = 'SYNTHETIC' if args.dataset == 'synthetic' else 'real'
accs = [b['test'] for b in results]
mean = statistics.mean(accs)
std = statistics.stdev(accs) if len(accs) > 1 else 0.0
print(f'\nTest accuracy, {kind} data, at the epoch of best val accuracy '
      f'({elapsed:.0f}s in all):')
for r, b in enumerate(results):
    print(f"  seed {args.seed + r}: epoch {b['epoch']:02d}, val "
          f"{b['val']:.4f}, test {b['test']:.4f}")
print(f'HierarchicalAttentionNetwork: {100 * mean:.2f} +- {100 * std:.2f} % '
      f'over {len(accs)} seed(s)')
if baseline is not None:
    print(f'TF-IDF + logistic regression: {100 * baseline[2]:.2f} %')

lines, hit_rate, chance = attention_report(first_model, list(test_data))
print(f'\nAttention of seed {args.seed}\'s model on three test documents '
      f'(the first of three classes):')
for line in lines:
    print(line)
if planted is not None:
    print(f'Planted word found: the top word of the top sentence is a '
          f'planted word in {100 * hit_rate:.1f} % of the '
          f'{len(test_data)} test documents (a random word of the document '
          f'would be: {100 * chance:.1f} %)')
