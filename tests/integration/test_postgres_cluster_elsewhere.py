"""lgconsole run as root with its state dir where the unprivileged Postgres user cannot enter (/root/.local/state:
`make demo` as root on a fresh machine): the cluster goes to a directory of its own, and initdb, run as that user,
must reach it even though the supervisor makes directories under a private umask (0700)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from lgconsole.stack.services import postgres
from lgconsole.stack.services.postgres import PostgresService
from lgconsole.stack.services.service import Secrets, StackPaths

pytestmark = pytest.mark.integration  # (a real initdb, as the postgres user)


@pytest.mark.skipif(os.geteuid() != 0, reason="Postgres runs as another user only when lgconsole runs as root")
def test_a_cluster_kept_elsewhere_is_made_under_the_supervisors_private_umask(monkeypatch):
    base = Path(tempfile.mkdtemp(prefix="lgc-test-elsewhere-"))
    try:
        base.chmod(0o755)  # like /var/lib
        home = base / "root"
        home.mkdir(mode=0o700)  # like /root: the postgres user cannot enter it
        state = home / "state"
        state.mkdir()
        monkeypatch.setattr(postgres, "CLUSTERS_ELSEWHERE", base / "lgconsole")
        service = PostgresService({"port": 5999}, StackPaths(state), Secrets(state / "secrets.json"))
        assert service.data_dir().parent.parent == base / "lgconsole"
        umask = os.umask(0o077)  # the supervisor's (PRIVATE_UMASK)
        try:
            service.prepare()
        finally:
            os.umask(umask)
        assert (service.data_dir() / "PG_VERSION").exists()
        assert not (base / "lgconsole").stat().st_mode & 0o007  # passable by the postgres user's group only
    finally:
        shutil.rmtree(base)
