"""Redis: `redis-server` with a config file written by lgconsole (loopback, chosen port, password), or an external URL.

`redis_use` is the rule that says whether the stack needs a Redis of its own at all (`langgraph dev` does not).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from lgconsole.stack.errors import BinaryNotFound, PortInUse
from lgconsole.stack.services.ports import LOOPBACK, port_is_free
from lgconsole.stack.services.process import LaunchSpec
from lgconsole.stack.services.service import Health, Service, find_program, one_line

MISSING_PACKAGE = "install the Debian/Ubuntu package 'redis-server' (apt-get install -y redis-server)"
REDIS_SETTINGS = ("auto", "yes", "no")  # [redis] enabled
# what a project refers to when its graphs use a Redis (LGCONSOLE_REDIS_URL: the one the stack hands the server)
REDIS_NAMES = ("REDIS_URL", "REDIS_URI", "LGCONSOLE_REDIS_URL")


@dataclass(frozen=True)
class RedisUse:
    """Whether `up` runs a Redis, and who uses it or why none runs (one line, for `up`, `status` and the Stack
    screen)."""

    started: bool
    why: str


def redis_use(setting: str = "auto", url: str = "", project_dir: Path | str | None = None,
              server_external: bool = False, server_env: dict | None = None, runtime: str = "dev") -> RedisUse:
    """The rule for [redis] enabled: "no" never, "yes" always, "auto" (the default) only when something uses it: the
    bundled demo graph (its tool cache), or a project whose langgraph.json, env file or [langgraph] env names
    REDIS_URL, REDIS_URI or LGCONSOLE_REDIS_URL. `langgraph dev` itself keeps its queue in memory (REDIS_URI=fake),
    and an external LangGraph server has Redis of its own; the `pg` and `image` runtimes need one. With a `url`
    nothing is started: the Redis there is checked, unless the setting is "no"."""
    if setting == "no":
        return RedisUse(False, "not started: [redis] enabled = \"no\"")
    if url:
        return RedisUse(True, "external: lgconsole checks it, never starts it")
    if setting == "yes":
        return RedisUse(True, "started because [redis] enabled = \"yes\"")
    if server_external:
        return RedisUse(False, "not started: the LangGraph server is external and nothing else of the stack uses "
                               "Redis ([redis] enabled = \"yes\" starts it)")
    if runtime in ("pg", "image"):  # those servers keep their run queue and stream in Redis
        return RedisUse(True, f"used by the LangGraph server's {runtime} runtime (REDIS_URI)")
    if not project_dir:
        return RedisUse(True, "used by the demo graph's tool cache (LGCONSOLE_REDIS_URL)")
    where = _redis_mention(Path(project_dir), server_env or {})
    if where:
        return RedisUse(True, f"used by the project: {where}")
    return RedisUse(False, "not started: nothing uses it (langgraph dev keeps its queue in memory and the project's "
                           "langgraph.json and env name no REDIS_URL or REDIS_URI; [redis] enabled = \"yes\" starts "
                           "it)")


def _redis_mention(project_dir: Path, server_env: dict) -> str:
    """Where the project names a Redis ("REDIS_URI in langgraph.json"), "" when nowhere."""
    for key in server_env:
        if str(key) in REDIS_NAMES:
            return f"{key} in [langgraph] env"
    config_file = project_dir / "langgraph.json"
    try:
        text = config_file.read_text(errors="replace")
    except OSError:
        return ""
    sources = [("langgraph.json", text)]
    try:
        env = json.loads(text).get("env")
    except (ValueError, AttributeError):
        env = None
    if isinstance(env, dict):
        sources.append(("langgraph.json env", "\n".join(map(str, env))))
    elif isinstance(env, str):
        try:
            sources.append((env, (project_dir / env).read_text(errors="replace")))
        except OSError:
            pass
    for where, content in sources:
        if found := _REDIS_NAME.search(content):
            return f"{found.group(1)} in {where}"
    return ""


_REDIS_NAME = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(REDIS_NAMES) + r")(?![A-Za-z0-9_])")


class RedisService(Service):
    name = "redis"
    default_startup_timeout = 30.0

    def url(self) -> str:
        if self.external:
            return self.spec["url"]
        password = quote(self.secrets.get("redis_password"), safe="")
        return f"redis://:{password}@{LOOPBACK}:{self.port}/0"

    def client_env(self) -> dict[str, str]:
        return {"LGCONSOLE_REDIS_URL": self.url()}

    def binary(self) -> str:
        found = find_program("redis-server", [Path(self.spec["bin_dir"])] if self.spec.get("bin_dir") else None)
        if not found:
            raise BinaryNotFound(f"redis: redis-server not found on PATH; {MISSING_PACKAGE}")
        return found

    def preflight(self) -> None:
        if self.external:
            return
        self.binary()
        if not port_is_free(self.port):
            raise PortInUse(f"redis: port {self.port} on {LOOPBACK} is already in use by another process; "
                            "set redis.port to a free port or 0 to pick one")

    def config_path(self) -> Path:
        return self.paths.service_dir("redis") / "redis.conf"

    def prepare(self) -> None:
        if self.external:
            return
        workdir = self.paths.service_dir("redis")
        workdir.mkdir(parents=True, exist_ok=True)
        persistence = ["appendonly yes", 'save "3600 1 300 100 60 10000"'] if self.spec.get("persistence") else \
            ["appendonly no", 'save ""']
        lines = [
            "# written by lgconsole; edits are overwritten at each start",
            f"bind {LOOPBACK}",
            f"port {self.port}",
            "protected-mode yes",
            f"requirepass {self.secrets.get('redis_password')}",
            "daemonize no",
            'logfile ""',
            f"dir {workdir}",
            f"maxmemory {self.spec.get('maxmemory', '0')}",
            *persistence,
        ]
        path = self.config_path()
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)

    def launch_spec(self, dependency_env: dict[str, str]) -> LaunchSpec:
        return LaunchSpec(argv=[self.binary(), str(self.config_path())], log_path=self.paths.log(self.name),
                          cwd=self.paths.service_dir("redis"))

    def health(self, timeout: float = 2.0) -> Health:
        if not self.external:
            return self._probe_own(timeout)
        import redis

        try:
            client = redis.Redis.from_url(self.url(), socket_timeout=timeout, socket_connect_timeout=timeout)
            try:
                client.ping()
                info = client.info("server")
            finally:
                client.close()
            return Health(True, "PONG", f"Redis {info.get('redis_version', '?')}")
        except Exception as exc:
            return Health(False, one_line(exc))

    def probe_modules(self) -> tuple[str, ...]:
        return ("redis",) if self.external else ()

    def _probe_own(self, timeout: float) -> Health:
        """AUTH, PING and INFO server over a plain socket to the Redis lgconsole runs (loopback, its password): the
        same answer as redis-py's, without importing it into the supervisor (0.15 s of CPU and a blocked loop in the
        middle of a bring-up)."""
        import socket

        password = self.secrets.get("redis_password").encode()
        request = (b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(password), password)
                   + b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=timeout) as sock:
                sock.sendall(request)
                replies = _read_replies(sock, 3)
        except (OSError, ValueError) as exc:
            return Health(False, one_line(exc))
        for reply in replies:
            if reply.startswith("-"):  # an error reply: -WRONGPASS, -LOADING (still reading its data), ...
                return Health(False, reply[1:])
        version = re.search(r"^redis_version:(\S+)", replies[2], re.MULTILINE)
        return Health(True, "PONG", f"Redis {version.group(1) if version else '?'}")


def _read_replies(sock, count: int) -> list[str]:
    """`count` RESP replies: simple strings and errors as their line ("+OK", "-ERR ..."), bulk strings as their
    text. ValueError for a closed connection or anything else."""
    data = b""
    replies: list[str] = []
    while len(replies) < count:
        end = data.find(b"\r\n")
        if end >= 0 and data[:1] in (b"+", b"-"):
            replies.append(data[:end].decode(errors="replace"))
            data = data[end + 2:]
            continue
        if end >= 0 and data[:1] == b"$":
            size = int(data[1:end])
            if size < 0:  # a null bulk string
                replies.append("")
                data = data[end + 2:]
                continue
            if len(data) >= end + 2 + size + 2:
                replies.append(data[end + 2:end + 2 + size].decode(errors="replace"))
                data = data[end + 2 + size + 2:]
                continue
        elif end >= 0:
            raise ValueError(f"unexpected reply from Redis: {data[:40]!r}")
        chunk = sock.recv(65536)
        if not chunk:
            raise ValueError("Redis closed the connection")
        data += chunk
    return replies
