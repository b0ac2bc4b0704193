"""Service logs rotated by size (stack/services/log_rotation.py): every line kept in order across rotations, files cut
at line ends, only `keep` rotated files left; a follower reading while the log rotates sees each line once."""

from __future__ import annotations

import os

from hypothesis import given, settings, strategies as st

from lgconsole.stack.services.log_rotation import LogFollower, LogLimits, RotatingLog, log_files, rotated
from lgconsole.stack.services.service import tail_lines


def numbered(count: int, start: int = 0) -> bytes:
    return b"".join(b"line %06d %s\n" % (i, b"x" * (i % 37)) for i in range(start, start + count))


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])]


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=10**6), max_size=60))
def test_every_line_is_kept_in_order_however_the_output_arrives(tmp_path_factory, cuts):
    path = tmp_path_factory.mktemp("logs") / "svc.log"
    data = numbered(2000)  # ~100 KB
    log = RotatingLog(path, LogLimits(max_bytes=8_000, keep=100))
    for piece in chunks(data, cuts):
        log.write(piece)
    log.close()
    files = log_files(path)
    assert len(files) >= len(data) // 8_000  # rotated about every 8 KB
    assert b"".join(f.read_bytes() for f in files) == data
    for f in files[:-1]:
        text = f.read_bytes()
        assert text.endswith(b"\n") and 8_000 <= len(text) < 8_000 + 60  # cut at the first line end past the limit


def test_only_keep_rotated_files_stay_and_they_hold_the_newest_lines(tmp_path):
    path = tmp_path / "svc.log"
    data = numbered(5000)
    log = RotatingLog(path, LogLimits(max_bytes=10_000, keep=3))
    for i in range(0, len(data), 4096):
        log.write(data[i:i + 4096])
    log.close()
    files = log_files(path)
    assert files == [rotated(path, 3), rotated(path, 2), rotated(path, 1), path]
    kept = b"".join(f.read_bytes() for f in files)
    assert data.endswith(kept) and kept.startswith(b"line ")  # the newest lines, from a line start
    assert not rotated(path, 4).exists()
    assert {oct(f.stat().st_mode & 0o777) for f in files} == {"0o600"}


def test_a_line_without_an_end_is_cut_at_twice_the_limit(tmp_path):
    path = tmp_path / "svc.log"
    log = RotatingLog(path, LogLimits(max_bytes=1000, keep=5))
    log.write(b"y" * 5000)
    log.close()
    assert all(f.stat().st_size <= 2000 for f in log_files(path))
    assert sum(f.stat().st_size for f in log_files(path)) == 5000


def test_a_follower_sees_each_line_once_while_the_log_rotates(tmp_path):
    path = tmp_path / "svc.log"
    log = RotatingLog(path, LogLimits(max_bytes=3_000, keep=2))
    follower = LogFollower(path)
    data = numbered(3000)
    seen = b""
    for i in range(0, len(data), 700):  # the follower reads between writes, some of which rotate (twice, too)
        log.write(data[i:i + 700])
        if i % 2100 == 0:
            seen += follower.read()
    seen += follower.read()
    log.close()
    follower.close()
    assert seen == data


def test_a_follower_caught_in_the_middle_of_a_rotation_misses_no_file(tmp_path):
    """The logger renames .k to .k+1 from the oldest down: a read that lands between two renames sees one index
    missing, with older files above it (a full `make test` once lost a whole rotated file there)."""
    path = tmp_path / "svc.log"
    path.write_bytes(b"f0 start\n")
    follower = LogFollower(path)
    with open(path, "ab") as fh:
        fh.write(b"f0 rest\n")
    for n, name in enumerate(("f1", "f2", "f3"), start=1):  # three whole rotations: f0 at .3, f1 at .2, f2 at .1
        for index in range(n - 1, 0, -1):
            os.replace(rotated(path, index), rotated(path, index + 1))
        os.replace(path, rotated(path, 1))
        path.write_bytes(f"{name}\n".encode())
    # the fourth rotation, halfway: .3 -> .4 and .2 -> .3 done, .1 -> .2 not yet (.2 is missing)
    os.replace(rotated(path, 3), rotated(path, 4))
    os.replace(rotated(path, 2), rotated(path, 3))
    assert not rotated(path, 2).exists()
    assert follower.read() == b"f0 rest\nf1\nf2\nf3\n"
    follower.close()


def test_tail_lines_right_after_a_rotation_reads_the_rotated_file_too(tmp_path):
    path = tmp_path / "svc.log"
    log = RotatingLog(path, LogLimits(max_bytes=len(numbered(60)), keep=2))
    log.write(numbered(60))  # reaches the limit at a line end: rotated there
    log.write(b"after rotation\n")
    log.close()
    assert path.read_text() == "after rotation\n"
    lines = tail_lines(path, 10)
    assert len(lines) == 10 and lines[-1] == "after rotation" and lines[-2].startswith("line 000059")
