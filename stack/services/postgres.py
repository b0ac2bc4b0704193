"""Postgres: a private cluster (initdb + the postmaster from the system's PostgreSQL binaries) or an external URL.

The managed cluster listens on 127.0.0.1 only, has no Unix socket, and uses a generated password (scram-sha-256).
Postgres refuses to run as root; when lgconsole runs as root the cluster runs as an unprivileged user.
"""

from __future__ import annotations

import os
import pwd
import re
import signal
import stat
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from lgconsole.stack.errors import BinaryNotFound, PortInUse, StackError
from lgconsole.stack.services.file_modes import grant_pass_through
from lgconsole.stack.services.ports import LOOPBACK, port_is_free
from lgconsole.stack.services.service import Health, Service, find_program, one_line

if TYPE_CHECKING:
    from lgconsole.stack.services.process import LaunchSpec

DB_USER = "lgconsole"
DB_NAME = "lgconsole"
MISSING_PACKAGE = "install the Debian/Ubuntu package 'postgresql' (apt-get install -y postgresql)"
# With an external LangGraph server a Postgres of lgconsole's own would hold nothing: the server saves its checkpoints
# in its own database, which is what the console must read.
# shared_buffers when [postgres] shared_buffers_mb is 0: an eighth of the machine's memory, at least Postgres's own
# 128 MB, at most 2 GB. The thread list reads the checkpoints' primary key whole (354 MB at 1M checkpoints); with
# 128 MB every listing copied most of it in from the OS cache again (424 -> 183 ms at 1M with 1 GB). Memory is only
# taken as pages are used.
SHARED_BUFFERS_MIN_MB, SHARED_BUFFERS_MAX_MB = 128, 2048
# Clusters of state dirs the unprivileged Postgres user cannot enter (lgconsole run as root with its state in /root)
CLUSTERS_ELSEWHERE = Path("/var/lib/lgconsole")


def auto_shared_buffers_mb(memory_bytes: int | None = None) -> int:
    """The managed Postgres's shared_buffers in MB for `memory_bytes` of memory (None: this machine's, or its
    container's memory limit when lower)."""
    if memory_bytes is None:
        memory_bytes = available_memory_bytes()
    return max(SHARED_BUFFERS_MIN_MB, min(SHARED_BUFFERS_MAX_MB, memory_bytes // 8 // 2**20))


CGROUP_LIMITS = (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))


def available_memory_bytes(limits: tuple[Path, ...] = CGROUP_LIMITS) -> int:
    """The machine's memory, or the memory limit of the cgroup lgconsole runs in when that is lower (a container
    on a big host); 0 when neither can be read."""
    try:
        found = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        found = 0
    for path in limits:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) > 0:
            found = min(found, int(text)) if found else int(text)
    return found


UNUSED_WITH_EXTERNAL_SERVER = ("not started: the LangGraph server is external and saves its checkpoints in its own "
                               "database; set POSTGRES_URL (or [postgres] url) to that database to browse threads")


def find_postgres_bin_dir(configured: str | None = None, search_globs: list[str] | None = None) -> Path:
    """The directory holding `initdb` and `postgres`: configured, else the newest /usr/lib/postgresql/*/bin, else PATH."""
    if configured:
        path = Path(configured)
        if (path / "initdb").exists() and (path / "postgres").exists():
            return path
        raise BinaryNotFound(f"postgres: no initdb/postgres in postgres.bin_dir={configured}; {MISSING_PACKAGE}")
    candidates = []
    import glob

    for pattern in search_globs if search_globs is not None else ["/usr/lib/postgresql/*/bin"]:
        candidates.extend(glob.glob(pattern))

    def version_key(p: str) -> tuple:
        return tuple(int(x) for x in re.findall(r"\d+", p)) or (0,)

    for candidate in sorted(candidates, key=version_key, reverse=True):
        path = Path(candidate)
        if (path / "initdb").exists() and (path / "postgres").exists():
            return path
    initdb = find_program("initdb")
    if initdb and (Path(initdb).resolve().parent / "postgres").exists():
        return Path(initdb).resolve().parent
    raise BinaryNotFound(f"postgres: PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin or on PATH; {MISSING_PACKAGE}")


def _traversable_by(path: Path, uid: int, gid: int) -> bool:
    """Whether user uid can reach `path` (x permission on every existing ancestor)."""
    for parent in [path, *path.parents]:
        try:
            st = parent.stat()
        except FileNotFoundError:
            continue
        if st.st_uid == uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid == gid:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return False
    return True


class PostgresService(Service):
    name = "postgres"
    default_startup_timeout = 60.0

    # --- who runs it, where its data lives ------------------------------------------------------------
    def run_as(self) -> str | None:
        """None: run as ourselves. As root: an unprivileged user (postgres refuses root)."""
        if os.geteuid() != 0:
            return None
        wanted = self.spec.get("run_as")
        for user in [wanted] if wanted else ["postgres", "nobody"]:
            try:
                pwd.getpwnam(user)
                return user
            except KeyError:
                continue
        raise StackError(
            f"postgres: refuses to run as root and there is no unprivileged user {wanted or 'postgres'!r} to run it as; "
            "create one (useradd --system postgres) or set postgres.run_as, or run lgconsole as a normal user"
        )

    def data_dir(self) -> Path:
        if self.spec.get("data_dir"):
            return Path(self.spec["data_dir"])
        default = self.paths.service_dir("postgres") / "data"
        user = self.run_as()
        if user is None:
            return default
        entry = pwd.getpwnam(user)
        import hashlib  # (here only: OpenSSL's hashes are ~1 ms that resolving the URL, every cold command, skips)

        digest = hashlib.sha1(str(self.paths.state_dir.resolve()).encode()).hexdigest()[:12]
        elsewhere = CLUSTERS_ELSEWHERE / digest / "data"
        state_dir = self.paths.state_dir
        if (elsewhere / "PG_VERSION").exists() and not (default / "PG_VERSION").exists():
            return elsewhere  # a cluster made when the state dir could not be entered stays where it is
        if _traversable_by(state_dir.parent, entry.pw_uid, entry.pw_gid):
            # the state dir is private (0700): let this user's group pass through it to the cluster, nothing more
            if state_dir.is_dir() and state_dir.stat().st_uid == os.geteuid():
                grant_pass_through(state_dir, entry.pw_gid)
            if _traversable_by(default.parent, entry.pw_uid, entry.pw_gid):
                return default
        # The state dir sits under a home the unprivileged user cannot enter (e.g. /root): keep the cluster in a
        # directory of its own, one per state dir.
        return elsewhere

    # --- URLs -----------------------------------------------------------------------------------------
    def url(self) -> str:
        if self.external:
            return self.spec["url"]
        password = quote(self.secrets.get("postgres_password"), safe="")
        return f"postgresql://{DB_USER}:{password}@{LOOPBACK}:{self.port}/{DB_NAME}"

    def _admin_url(self) -> str:
        password = quote(self.secrets.get("postgres_password"), safe="")
        return f"postgresql://{DB_USER}:{password}@{LOOPBACK}:{self.port}/postgres"

    def client_env(self) -> dict[str, str]:
        return {"LGCONSOLE_POSTGRES_URL": self.url()}

    # --- lifecycle ------------------------------------------------------------------------------------
    def bin_dir(self) -> Path:
        return find_postgres_bin_dir(self.spec.get("bin_dir"), self.spec.get("search_globs"))

    def probe_modules(self) -> tuple[str, ...]:
        return ("psycopg",)

    def slow_setup(self) -> bool:
        return not self.external  # initdb at the first start (seconds), CREATE DATABASE once it runs

    def preflight(self) -> None:
        if self.external:
            return
        self.bin_dir()
        self.run_as()
        if not port_is_free(self.port):
            raise PortInUse(f"postgres: port {self.port} on {LOOPBACK} is already in use by another process; "
                            "set postgres.port to a free port or 0 to pick one")

    def prepare(self) -> None:
        if self.external:
            return
        data = self.data_dir()
        if (data / "PG_VERSION").exists():
            return
        user = self.run_as()
        data.mkdir(parents=True, exist_ok=True)
        data.chmod(0o700)
        pwfile = data.parent / ".pwfile"
        pwfile.write_text(self.secrets.get("postgres_password") + "\n")
        pwfile.chmod(0o600)
        if user:
            entry = pwd.getpwnam(user)
            for p in (data.parent, data, pwfile):
                os.chown(p, entry.pw_uid, entry.pw_gid)
            if data.parent.parent == CLUSTERS_ELSEWHERE:  # made by root under the supervisor's private umask (0700)
                grant_pass_through(CLUSTERS_ELSEWHERE, entry.pw_gid)
        argv = [str(self.bin_dir() / "initdb"), "-D", str(data), "-U", DB_USER, f"--pwfile={pwfile}",
                "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-instructions"]
        kwargs: dict = {}
        if user:
            entry = pwd.getpwnam(user)
            kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd="/", **kwargs)
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise StackError(f"postgres: initdb failed in {data}: {last[0]}")

    def launch_spec(self, dependency_env: dict[str, str]) -> LaunchSpec:
        settings = {
            "listen_addresses": LOOPBACK,
            "port": str(self.port),
            "unix_socket_directories": "",
            "max_connections": str(self.spec.get("max_connections", 100)),
            "shared_buffers": f"{self.spec.get('shared_buffers_mb') or auto_shared_buffers_mb()}MB",
            "logging_collector": "off",
        }
        argv = [str(self.bin_dir() / "postgres"), "-D", str(self.data_dir())]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        # SIGINT is Postgres's "fast" shutdown; SIGTERM ("smart") would wait for every client to leave.
        from lgconsole.stack.services.process import LaunchSpec  # (here: resolving the URL needs none of it)

        return LaunchSpec(argv=argv, log_path=self.paths.log(self.name), cwd=Path("/"), user=self.run_as(),
                          stop_signal=signal.SIGINT, signal_group=False)

    def after_healthy(self) -> None:
        if self.external:
            return
        import psycopg

        with psycopg.connect(self._admin_url(), autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DB_NAME}"')

    def health(self, timeout: float = 2.0) -> Health:
        import psycopg

        url = self.url() if self.external else self._admin_url()
        try:
            with psycopg.connect(url, connect_timeout=max(1, int(timeout))) as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]
            return Health(True, "accepting connections", f"PostgreSQL {version.split()[0]}")
        except Exception as exc:  # psycopg raises many kinds; each one means "not healthy"
            return Health(False, one_line(exc))
