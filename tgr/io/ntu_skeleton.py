r"""The reader of NTU RGB+D (and NTU RGB+D 120) ``.skeleton`` files, the Kinect
v2 body tracking output of :class:`tgr.datasets.NTURGBD`, and of their sample
names (``SsssCcccPpppRrrrAaaa``)."""
import os.path as osp
import re
from typing import Dict, List, NamedTuple, Tuple

import numpy as np
import torch
from torch import Tensor

from ._text import check_numbers, line_error, read_lines

__all__ = ['NTUName', 'parse_ntu_name', 'NTUSkeleton', 'read_ntu_skeleton']

#: The joints of a Kinect v2 body, in the files' (``JointType``) order.
NUM_JOINTS = 25

_NAME = re.compile(r'S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})')
_JOINT_VALUES = 12  # x y z depthX depthY colorX colorY orientation(4) state
_BODY_VALUES = 10


class NTUName(NamedTuple):
    r"""The numbers in a sample name (1-based, as in the name)."""
    setup: int
    camera: int
    subject: int
    replication: int
    action: int


def parse_ntu_name(name: str) -> NTUName:
    r"""Splits a sample name :obj:`"SsssCcccPpppRrrrAaaa"` (with or without
    the :obj:`".skeleton"` extension) into its setup, camera, subject
    (performer), replication and action numbers (1-based, as in the name).

    Raises:
        ValueError: if :obj:`name` does not have that form.
    """
    base = osp.basename(name)
    if base.endswith('.skeleton'):
        base = base[:-len('.skeleton')]
    match = _NAME.fullmatch(base)
    if match is None:
        raise ValueError(f"NTU RGB+D sample name '{name}' does not have the "
                         f"form 'SsssCcccPpppRrrrAaaa'")
    return NTUName(*(int(g) for g in match.groups()))


class NTUSkeleton(NamedTuple):
    r"""The content of a :obj:`.skeleton` file: its number of frames and, for
    every body ID in order of first appearance, the frames it appears in
    (:obj:`long`, :math:`(n,)`) and its joint positions (:obj:`float64`,
    :math:`(n, 25, 3)`)."""
    num_frames: int
    bodies: Dict[str, Tuple[Tensor, Tensor]]


def read_ntu_skeleton(path: str) -> NTUSkeleton:
    r"""Reads an NTU RGB+D :obj:`.skeleton` file (LF or CRLF line ends).

    The file holds the number of frames, then for every frame the number of
    bodies and, for every body, a line of 10 values (body ID, clipped edges,
    hand confidences and states, restricted flag, lean X and Y, tracking
    state), the number of joints (25) and one line per joint of 12 values
    (:obj:`x y z depthX depthY colorX colorY orientationW X Y Z
    trackingState`). Only the camera-space :obj:`x y z` (metres) are kept.

    Raises:
        ValueError: if the file is malformed; the message names the file and
            the (1-based) line.
    """
    lines = read_lines(path)
    fail = line_error('NTU RGB+D', path)

    pos = 0

    def read_int(what: str) -> int:
        nonlocal pos
        if pos >= len(lines):
            fail(pos + 1, f'unexpected end of file (expected {what})')
        text = lines[pos].strip()
        pos += 1
        try:
            value = int(text)
        except ValueError:
            fail(pos, f"expected {what} (an integer), got '{text}'")
        if value < 0:
            fail(pos, f'expected {what} >= 0, got {value}')
        return value

    num_frames = read_int('the number of frames')
    frames: Dict[str, List[int]] = {}
    starts: Dict[str, List[int]] = {}  # 0-based line of each joint block
    for t in range(num_frames):
        num_bodies = read_int(f'the number of bodies of frame {t + 1}')
        seen = set()
        for _ in range(num_bodies):
            if pos >= len(lines):
                fail(pos + 1, f'unexpected end of file (expected the body '
                              f'line of {_BODY_VALUES} values of frame '
                              f'{t + 1})')
            values = lines[pos].split()
            pos += 1
            if len(values) != _BODY_VALUES:
                fail(pos, f'expected a body line of {_BODY_VALUES} values '
                          f'(body ID first) in frame {t + 1}, got '
                          f'{len(values)} value(s)')
            body_id = values[0]
            if body_id in seen:
                fail(pos, f'body ID {body_id} appears twice in frame {t + 1}')
            seen.add(body_id)
            num_joints = read_int('the number of joints')
            if num_joints != NUM_JOINTS:
                fail(pos, f'expected {NUM_JOINTS} joints, got '
                          f'{num_joints}')
            if pos + num_joints > len(lines):
                fail(len(lines) + 1, f'unexpected end of file (expected '
                                     f'{num_joints} joint lines from line '
                                     f'{pos + 1})')
            frames.setdefault(body_id, []).append(t)
            starts.setdefault(body_id, []).append(pos)
            pos += num_joints
    if pos < len(lines):
        fail(pos + 1, f'unexpected content after the last of the '
                      f'{num_frames} frames')

    num_joints = NUM_JOINTS

    def locate_error():
        # Slow path: the first bad joint line of the file.
        for start in sorted(s for ss in starts.values() for s in ss):
            for lineno in range(start + 1, start + num_joints + 1):
                check_numbers(fail, lineno, lines[lineno - 1], _JOINT_VALUES,
                              f'expected a joint line of {_JOINT_VALUES} '
                              f'values, got {{got}} value(s)', slice(0, 3),
                              'non-finite joint position')

    bodies: Dict[str, Tuple[Tensor, Tensor]] = {}
    for body_id, body_starts in starts.items():
        rows = [lines[s + j].split() for s in body_starts
                for j in range(num_joints)]
        try:
            if any(len(row) != _JOINT_VALUES for row in rows):
                raise ValueError
            values = np.array(rows, dtype=np.float64)
        except ValueError:
            values = None
        if values is None or not np.isfinite(values[:, :3]).all():
            locate_error()
            values = np.array([[float(v) for v in row] for row in rows])
        joints = torch.from_numpy(values[:, :3].copy()).view(-1, num_joints, 3)
        bodies[body_id] = (torch.tensor(frames[body_id], dtype=torch.long),
                           joints)
    return NTUSkeleton(num_frames, bodies)
