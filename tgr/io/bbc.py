r"""The reader of the BBC News articles (Greene & Cunningham, ICML 2006).

The release is a folder per class (:obj:`business`, :obj:`entertainment`,
:obj:`politics`, :obj:`sport`, :obj:`tech`) of plain-text articles
(:obj:`001.txt`, ...): the headline on the first line, a blank line, then
paragraphs separated by blank lines. Every file is UTF-8 but one
(:obj:`sport/199.txt` holds the Latin-1 byte :obj:`0xA3`, "£"), so files are
read as UTF-8 with a Latin-1 fallback (:func:`read_text`).

Sentences and tokens come from the standard library alone (:mod:`re`), with
these rules:

**Sentences** (:func:`split_sentences`). The headline is a sentence of its
own, and so is the end of every line (a paragraph never continues on the
next line). Within a line, a sentence ends after a run of :obj:`.`, :obj:`!`
or :obj:`?` (with any closing quotes or brackets right after it) that is
followed by white space and then an upper-case letter, a digit or an opening
quote or bracket; except after a single upper-case letter (an initial, as in
"George W. Bush") or one of the abbreviations in :data:`ABBREVIATIONS`
("Mr. Smith"). A full stop inside a number ("$1.13bn") is never an end,
nor is one followed by a lower-case word ("etc. and").

**Tokens** (:func:`tokenize`). Lower-cased runs of letters and digits that
may hold single inner hyphens, apostrophes, full stops or commas between
letters or digits ("year-earlier", "aol's", "1.13bn", "464,000", "u.k"), and
the symbols :obj:`£ $ € % &` as tokens of their own; all other punctuation
is dropped.
"""
import os
import os.path as osp
import re
from typing import List, Tuple

__all__ = ['CLASSES', 'ABBREVIATIONS', 'read_text', 'split_sentences',
           'tokenize', 'read_bbc_article', 'read_bbc']

#: The class folders of the release, in label order.
CLASSES = ('business', 'entertainment', 'politics', 'sport', 'tech')

#: Words after which a full stop does not end a sentence (case-sensitive).
ABBREVIATIONS = frozenset([
    'Mr', 'Mrs', 'Ms', 'Dr', 'St', 'Jr', 'Sr', 'Prof', 'Gen', 'Sen', 'Rev',
    'Gov', 'Rep', 'Capt', 'Lt', 'Col', 'Inc', 'Co', 'Corp', 'Ltd', 'No',
    'vs', 'v', 'etc', 'Jan', 'Feb', 'Mar', 'Apr', 'Jun', 'Jul', 'Aug',
    'Sep', 'Sept', 'Oct', 'Nov', 'Dec',
])

# A candidate end: terminal punctuation, closing quotes/brackets, white
# space, then what may start a sentence.
_END = re.compile(r'[.!?]+[\"\'\u201d\u2019)\]]*'
                  r'(?=\s+[\"\'\u201c\u2018(\[A-Z0-9])')
_LAST_WORD = re.compile(r'\w+$')
_TOKEN = re.compile(r"[^\W_]+(?:[-'\u2019.,][^\W_]+)*|[£$€%&]")


def read_text(path: str) -> str:
    r"""The text of the file at :obj:`path`: decoded as UTF-8, or, if that
    fails, as Latin-1 (which decodes any byte); line ends normalised to
    :obj:`"\n"`."""
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        text = raw.decode('utf-8')
    except UnicodeDecodeError:
        text = raw.decode('latin-1')
    return text.replace('\r\n', '\n').replace('\r', '\n')


def _ends(line: str) -> List[int]:
    # Positions right after the sentence ends within one line.
    out = []
    for m in _END.finditer(line):
        if line[m.start()] == '.':
            # The word right before the full stop (abbreviations are short,
            # so a window of 16 characters is enough):
            word = _LAST_WORD.search(line, max(0, m.start() - 16),
                                     m.start())
            if word is not None:
                w = word.group()
                if w in ABBREVIATIONS or (len(w) == 1 and w.isupper()):
                    continue
        out.append(m.end())
    return out


def split_sentences(text: str) -> List[str]:
    r"""Splits :obj:`text` into sentences by the rules of this module (every
    line break ends a sentence); returns them stripped, without empty
    ones."""
    out = []
    for line in text.split('\n'):
        start = 0
        for end in _ends(line) + [len(line)]:
            sentence = line[start:end].strip()
            if sentence:
                out.append(sentence)
            start = end
    return out


def tokenize(sentence: str) -> List[str]:
    r"""The tokens of :obj:`sentence` by the rules of this module."""
    return _TOKEN.findall(sentence.lower())


def read_bbc_article(path: str) -> Tuple[str, List[List[str]]]:
    r"""Reads one article.

    Returns:
        :obj:`(headline, sentences)`: the headline as written, and the
        tokens of every sentence that has any, the headline first.

    Raises:
        ValueError: if the file is not in the release's layout (an empty
            first line, or no blank line after the headline); the message
            names the file and the line.
    """
    text = read_text(path)
    lines = text.split('\n')
    headline = lines[0].strip()
    if not headline:
        raise ValueError(f"BBC file '{path}', line 1: expected the headline "
                         f"(got an empty line)")
    if len(lines) > 1 and lines[1].strip():
        raise ValueError(f"BBC file '{path}', line 2: expected a blank line "
                         f"after the headline (got '{lines[1][:40]}')")
    sentences = [tokenize(s) for s in split_sentences(text)]
    return headline, [s for s in sentences if s]


def read_bbc(folder: str) -> List[Tuple[str, str, List[List[str]]]]:
    r"""Reads the whole release in :obj:`folder` (which holds the class
    folders of :data:`CLASSES`).

    Returns:
        one :obj:`(category, name, sentences)` per article, classes in the
        order of :data:`CLASSES` and files in name order within each; the
        :obj:`name` is :obj:`"category/NNN.txt"` and :obj:`sentences` is as
        in :func:`read_bbc_article`.

    Raises:
        FileNotFoundError: if a class folder is missing.
    """
    out = []
    for category in CLASSES:
        path = osp.join(folder, category)
        if not osp.isdir(path):
            raise FileNotFoundError(f"BBC folder '{folder}' has no class "
                                    f"folder '{category}'")
        for name in sorted(os.listdir(path)):
            if not name.endswith('.txt'):
                continue
            _, sentences = read_bbc_article(osp.join(path, name))
            out.append((category, f'{category}/{name}', sentences))
    return out
