"""Starting and stopping real stacks for tests, through the project's own stack/ code, in /tmp state dirs."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from lgconsole.console.config import Config, load_config
from lgconsole.console.stack_spec import build_stack_spec
from lgconsole.stack.server import credentials
from lgconsole.stack.services import supervisor
from lgconsole.stack.services.process import process_cmdline
from lgconsole.stack.services.service import ServiceState
from lgconsole.stack.services.supervisor import StackState

REPO = Path(__file__).resolve().parents[1]


def new_state_dir() -> Path:
    # /tmp, not pytest's tmp_path: that lives under a 0700 dir the unprivileged Postgres user cannot enter.
    path = Path(tempfile.mkdtemp(prefix="lgc-test-", dir="/tmp"))
    path.chmod(0o711)
    return path


def write_config(state_dir: Path, text: str = "") -> Path:
    path = state_dir / "lgconsole.toml"
    path.write_text(f'state_dir = "{state_dir}"\n' + text)
    return path


def make_config(state_dir: Path, text: str = "") -> Config:
    return load_config(write_config(state_dir, text), env={})


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def all_healthy(config: Config) -> StackState | None:
    state = supervisor.read_state(config.state_path)
    enabled = [s for s in state.services if s.state != ServiceState.DISABLED]
    if state.supervisor_alive and enabled and all(s.state == ServiceState.HEALTHY for s in enabled):
        return state
    return None


def start_stack(config: Config, timeout: float = 120.0) -> StackState:
    supervisor.launch(build_stack_spec(config))
    state = wait_for(lambda: all_healthy(config), timeout, what="all services healthy")
    remember_server(config.state_path)
    return state


def remember_server(state_dir: Path) -> str:
    """Let this process's SDK clients (credentials.sdk_client) send the stack's token to its LangGraph server, as
    the console does once it resolved the URL; returns the server's URL."""
    server = supervisor.build_services(supervisor.StackSpec.load(Path(state_dir)))["langgraph"]
    credentials.remember(server.url(), server.client_credentials())
    return server.url()


def stack_token(config: Config) -> str:
    """The managed server's token (what `lgconsole token` prints)."""
    token = credentials.read_token(credentials.token_path(config.state_path))
    assert token, f"no token in {config.state_path}"
    return token


def processes_mentioning(text: str) -> list[str]:
    """Live processes whose command line mentions text (the state dir): what a stack could leave behind."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            cmd = process_cmdline(int(entry))
            if text in cmd:
                found.append(f"{entry}: {cmd}")
    return found


def stop_stack(config: Config) -> None:
    supervisor.shutdown(config.state_path)


def remove_state_dir(state_dir: Path) -> None:
    shutil.rmtree(state_dir, ignore_errors=True)


def lgconsole(*args: str, config: Path | None = None, timeout: float = 120, env: dict | None = None,
              cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI in a separate process, as a second terminal would."""
    argv = [sys.executable, "-m", "lgconsole.console"]
    if config:
        argv += ["--config", str(config)]
    clean_env = {k: v for k, v in os.environ.items()
                 if k not in ("POSTGRES_URL", "REDIS_URL", "LANGGRAPH_URL", "VLLM_URL", "LGCONSOLE_STATE_DIR",
                              "LGCONSOLE_CONFIG", "LGCONSOLE_CONTEXT", "LANGGRAPH_API_KEY",
                              "LANGGRAPH_BEARER_TOKEN")}
    return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=timeout,
                          env={**clean_env, **(env or {})}, cwd=cwd or REPO)


@contextmanager
def own_stack(text: str = "", timeout: float = 120.0):
    """A stack of its own for the duration of the block (for tests that kill services), stopped by PID at the end;
    fails if anything of it is left running."""
    state_dir = new_state_dir()
    config = make_config(state_dir, text)
    try:
        start_stack(config, timeout=timeout)
        yield config
    finally:
        stop_stack(config)
        left = processes_mentioning(str(state_dir))
        remove_state_dir(state_dir)
        assert not left, f"processes left after down: {left}"


@contextmanager
def bench_stack(state_dir: str | None = None):
    """For the benchmarks: the running stack of `state_dir`, or (None) a stack of their own in /tmp for the block,
    stopped by PID and removed at the end. Yields (state_dir, services by name, own)."""
    own = not state_dir
    path = new_state_dir() if own else Path(state_dir)
    config = make_config(path) if own else None
    try:
        if own:
            print(f"starting a stack in {path} ...", flush=True)
            start_stack(config)
        else:
            remember_server(path)
        yield path, supervisor.build_services(supervisor.StackSpec.load(path)), own
    finally:
        if own:
            stop_stack(config)
            remove_state_dir(path)


def tiny_vllm_config(python: Path, model: Path, kv_cache_bytes: int, max_num_seqs: int = 8) -> str:
    """The [vllm] section that serves the tiny local model with the CPU build."""
    return f'''
[vllm]
model = "{model}"
served_model_name = "tiny-llama"
launcher = "module"
device = "cpu"
python = "{python}"
dtype = "float32"
max_model_len = 1024
max_num_seqs = {max_num_seqs}
enforce_eager = true
kv_cache_memory_bytes = {kv_cache_bytes}
startup_timeout = 400
'''


def postgres_accepts(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


@contextmanager
def bare_postgres(where: Path, user: str = "tester", password: str | None = None):
    """A Postgres cluster lgconsole did not make (initdb + postgres), on a free loopback port, stopped by PID at the
    end: password (scram) auth when `password` is given, else trust (loopback, the test's lifetime). As root it runs
    as the `postgres` user, as the Debian package does (Postgres refuses root). Yields (process, url)."""
    from lgconsole.stack.services.ports import free_port
    from lgconsole.stack.services.postgres import find_postgres_bin_dir

    bin_dir = find_postgres_bin_dir()
    data = where / "pgdata"
    data.mkdir(mode=0o700, parents=True)
    as_user: dict = {}
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        as_user = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    auth = ["--auth=trust"]
    if password is not None:
        pwfile = where / "pwfile"
        pwfile.write_text(password + "\n")
        if as_user:
            os.chown(pwfile, as_user["user"], as_user["group"])
        auth = [f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=scram-sha-256"]
    if as_user:
        os.chown(data, as_user["user"], as_user["group"])
    subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", user, *auth, "--no-instructions"],
                   check=True, capture_output=True, cwd="/", timeout=120, **as_user)
    port = free_port()
    process = subprocess.Popen([str(bin_dir / "postgres"), "-D", str(data), "-c", "listen_addresses=127.0.0.1",
                                "-c", f"port={port}", "-c", "unix_socket_directories="],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", **as_user)
    secret = f":{password}" if password is not None else ""
    url = f"postgresql://{user}{secret}@127.0.0.1:{port}/postgres"
    try:
        wait_for(lambda: postgres_accepts(url), 60, what=f"the test's own Postgres on port {port}")
        yield process, url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # Postgres's fast shutdown
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
