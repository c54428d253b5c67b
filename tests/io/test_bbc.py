import pytest

from tgr.io.bbc import (CLASSES, read_bbc, read_bbc_article, read_text,
                        split_sentences, tokenize)


def test_read_text_utf8_and_latin1_fallback(tmp_path):
    utf8 = tmp_path / 'a.txt'
    utf8.write_bytes('Price \u00a315m\r\nnext'.encode('utf-8'))
    assert read_text(str(utf8)) == 'Price \u00a315m\nnext'
    latin1 = tmp_path / 'b.txt'
    latin1.write_bytes(b'Price \xa315m')  # not valid UTF-8
    assert read_text(str(latin1)) == 'Price \u00a315m'


@pytest.mark.parametrize('text,expected', [
    # Full stop, question and exclamation marks before an upper-case word:
    ('It rose. Then it fell! Why? Nobody knows.',
     ['It rose.', 'Then it fell!', 'Why?', 'Nobody knows.']),
    # Closing quotes stay with their sentence; an opening quote starts one:
    ('"It is over." He left. "Yes," she said.',
     ['"It is over."', 'He left.', '"Yes," she said.']),
    # Decimal points, lower-case continuations, digits:
    ('It cost $1.13bn in 2004. 2005 will differ, etc. and more.',
     ['It cost $1.13bn in 2004.', '2005 will differ, etc. and more.']),
    # Abbreviations and initials do not end a sentence:
    ('Mr. Smith met George W. Bush. Dr. Who did not.',
     ['Mr. Smith met George W. Bush.', 'Dr. Who did not.']),
    # Every line break ends a sentence; blank lines vanish:
    ('Headline here\n\nFirst paragraph\n\nSecond one. Two.',
     ['Headline here', 'First paragraph', 'Second one.', 'Two.']),
])
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_tokenize():
    assert tokenize("TimeWarner's profits rose 76% to $1.13bn (\u00a3600m), "
                    "year-earlier; 464,000 users - U.K. firms!") == [
        "timewarner's", 'profits', 'rose', '76', '%', 'to', '$', '1.13bn',
        '\u00a3', '600m', 'year-earlier', '464,000', 'users', 'u.k', 'firms']
    assert tokenize('-- ... !!') == []


def _article(path, text, encoding='utf-8'):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_read_bbc_article(tmp_path):
    path = _article(tmp_path / 'x.txt', 'Big win\n\nThey won. It was '
                    'great.\n\n"Yes," he said.\n')
    headline, sentences = read_bbc_article(path)
    assert headline == 'Big win'
    assert sentences == [['big', 'win'], ['they', 'won'],
                         ['it', 'was', 'great'], ['yes', 'he', 'said']]


def test_read_bbc_article_errors_name_file_and_line(tmp_path):
    path = _article(tmp_path / 'empty.txt', '\nText')
    with pytest.raises(ValueError, match=r"empty.txt', line 1: expected the "
                       r"headline"):
        read_bbc_article(path)
    path = _article(tmp_path / 'noblank.txt', 'Headline\nText right away')
    with pytest.raises(ValueError, match=r"noblank.txt', line 2: expected a "
                       r"blank line"):
        read_bbc_article(path)


def test_read_bbc_folder(tmp_path):
    for c in CLASSES:
        _article(tmp_path / c / '002.txt', f'{c} two\n\nBody.')
        _article(tmp_path / c / '001.txt', f'{c} one\n\nBody \u00a35.',
                 encoding='latin-1' if c == 'sport' else 'utf-8')
    (tmp_path / 'README.TXT').write_text('not an article')
    out = read_bbc(str(tmp_path))
    assert [name for _, name, _ in out] == [
        f'{c}/{n}' for c in CLASSES for n in ('001.txt', '002.txt')]
    sport = dict((name, s) for _, name, s in out)['sport/001.txt']
    assert sport == [['sport', 'one'], ['body', '\u00a3', '5']]
    (tmp_path / 'tech' / '001.txt').unlink()
    (tmp_path / 'tech' / '002.txt').unlink()
    (tmp_path / 'tech').rmdir()
    with pytest.raises(FileNotFoundError, match="no class folder 'tech'"):
        read_bbc(str(tmp_path))


def test_real_latin1_file(shared_data):
    path = shared_data / 'bbc' / 'sport' / '199.txt'
    if not path.exists():
        pytest.skip(f'{path} is absent')
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode('utf-8')
    text = read_text(str(path))
    assert text.count('\u00a3') == 1 and '\ufffd' not in text
    headline, sentences = read_bbc_article(str(path))
    assert headline == 'Chelsea sack Mutu'
    assert ['\u00a3', '15.8m'] == next(
        s[i:i + 2] for s in sentences for i in range(len(s))
        if s[i] == '\u00a3')
