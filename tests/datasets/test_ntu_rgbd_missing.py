from pathlib import Path

import pytest

from tgr.datasets.ntu_rgbd_missing import missing_skeletons

DATA = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data' /
        'ntu_rgbd').resolve()


def test_missing_lists_match_the_official_files():
    if not DATA.is_dir():
        pytest.skip(f'NTU RGB+D folder {DATA} is absent')
    for bench, file, count in [
            ('xsub', 'NTU_RGBD_samples_with_missing_skeletons.txt', 302),
            ('xsub120', 'NTU_RGBD120_samples_with_missing_skeletons.txt',
             535)]:
        lines = (DATA / file).read_text().split('\n')
        assert lines[0].startswith(f'{count} of the captured samples')
        ids = [line.strip() for line in lines[3:] if line.strip()]
        assert len(ids) == len(set(ids)) == count
        assert missing_skeletons(bench) == set(ids)
    assert missing_skeletons('xview') == missing_skeletons('xsub')
    assert missing_skeletons('xset120') == missing_skeletons('xsub120')
    assert missing_skeletons('xsub') < missing_skeletons('xsub120')
