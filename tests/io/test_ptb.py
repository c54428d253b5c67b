import pytest

from tgr.io.ptb import parse_ptb_tree, read_ptb_trees

GOOD = '(3 (2 (2 The) (2 Rock)) (4 (2 rocks) (2 .)))'


@pytest.mark.parametrize('line,match', [
    ('(3 (2 The) (2 Rock)', "1 unclosed '\\('"),
    ('(3 (2 The) (2 Rock)))', "unexpected '\\)'"),
    ('(3 (2 The)) ', 'node 0 has 1 child'),
    ('(3 (2 The) (2 Rock) (2 rocks))', 'more than two children'),
    ('(7 (2 The) (2 Rock))', "label in 0-4 after '\\(' \\(got '7'\\)"),
    ('(3 (2 The Rock) (2 rocks))', "unexpected token 'Rock'"),
    ('(3 The (2 Rock))', 'both a token and a subtree'),
    ('(3 (2 The) (2 Rock)) (2 x)', "unexpected '\\(' after the end"),
    ('The (2 Rock)', "unexpected token 'The' outside"),
    ('(3 ())', "expected a label"),
])
def test_parse_ptb_tree_errors(line, match):
    with pytest.raises(ValueError, match=r"'f\.txt', line 7: .*" + match):
        parse_ptb_tree(line, 'f.txt', 7)


def test_parse_ptb_tree_binary():
    parent, label, word = parse_ptb_tree(GOOD)
    assert parent == [-1, 0, 1, 1, 0, 4, 4]
    assert label == [3, 2, 2, 2, 4, 2, 2]
    assert word == [None, None, 'The', 'Rock', None, 'rocks', '.']


def test_read_ptb_trees(tmp_path):
    # LF or CRLF, blank lines skipped, U+00A0 kept inside a token; an error
    # names the file and the line of the file (blank lines counted).
    path = tmp_path / 'trees.txt'
    path.write_bytes(f'{GOOD}\r\n\r\n(2 (2 8\xa01) (2 .))\n'.encode())
    trees = read_ptb_trees(str(path))
    assert trees == [parse_ptb_tree(GOOD), ([-1, 0, 0], [2, 2, 2],
                                            [None, '8\xa01', '.'])]
    path.write_text(f'{GOOD}\n\n(2 (2 a) (5 b))\n')
    with pytest.raises(ValueError, match=r"SST file '.*trees\.txt', line 3: "
                                         r"expected a label"):
        read_ptb_trees(str(path))
