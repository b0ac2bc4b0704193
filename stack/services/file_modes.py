"""Private state: every file lgconsole or its services write under the state dir is 0600 and every directory 0700.

New files get it from the umask the services and the supervisor run with (PRIVATE_UMASK, process.py); what an older
lgconsole or a service left more open is tightened at `up` (`make_private`). One exception: when lgconsole runs as
root, the unprivileged Postgres user has to pass through the state dir to its data dir, so a directory may keep
the group's x bit (0710, its group being that user's; see postgres.py).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600
GROUP_PASS = stat.S_IXGRP  # kept where grant_pass_through gave it: the group is another service user's own


def make_private(state_dir: Path) -> None:
    """Create the state dir if needed and tighten the modes of everything in it that this user owns. Directories
    owned by another user (a Postgres cluster run as `postgres`) are left to that user and not entered."""
    state_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    me = os.geteuid()
    _tighten(state_dir, os.lstat(state_dir), me)
    for root, dirs, files in os.walk(state_dir):
        keep = []
        for name in dirs:
            path = os.path.join(root, name)
            st = os.lstat(path)
            if st.st_uid == me and stat.S_ISDIR(st.st_mode):
                _tighten(Path(path), st, me)
                keep.append(name)
        dirs[:] = keep  # never follow a link or enter someone else's directory
        for name in files:
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:  # a service removed it meanwhile
                continue
            if st.st_uid == me:
                _tighten(Path(path), st, me)


def _tighten(path: Path, st: os.stat_result, me: int) -> None:
    if stat.S_ISLNK(st.st_mode) or st.st_uid != me:
        return
    current = stat.S_IMODE(st.st_mode)
    if stat.S_ISDIR(st.st_mode):
        granted = st.st_gid != os.getegid()  # our own group gets nothing; a service user's group may pass
        wanted = DIR_MODE | (current & GROUP_PASS if granted else 0)
    elif stat.S_ISREG(st.st_mode) or stat.S_ISSOCK(st.st_mode):
        wanted = FILE_MODE
    else:
        return
    if current != wanted:
        try:
            os.chmod(path, wanted)
        except FileNotFoundError:
            pass


def grant_pass_through(directory: Path, gid: int) -> None:
    """Let the members of group `gid` (one service user's own group) pass through `directory`, not list it."""
    st = os.stat(directory)
    if st.st_gid != gid:
        os.chown(directory, -1, gid)
    os.chmod(directory, DIR_MODE | GROUP_PASS)
