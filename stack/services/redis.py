"""Redis: `redis-server` with a config file written by lgconsole (loopback, chosen port, password), or an external URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from lgconsole.stack.errors import BinaryNotFound, PortInUse
from lgconsole.stack.services.ports import LOOPBACK, port_is_free
from lgconsole.stack.services.process import LaunchSpec
from lgconsole.stack.services.service import Health, Service, find_program, one_line

MISSING_PACKAGE = "install the Debian/Ubuntu package 'redis-server' (apt-get install -y redis-server)"


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
