"""The `pg` server runtime: LangGraph's API server on the open langgraph-runtime-pg backend (`langhost serve`), which
keeps assistants, threads, runs and checkpoints in the stack's Postgres and run streams in its Redis.

It pins an older langgraph-api than lgconsole runs, so it is always served from an environment of its own
(project_env.py builds it with these pins instead of lgconsole's), also for the bundled demo.
"""

from __future__ import annotations

from pathlib import Path

from lgconsole.stack.services.ports import LOOPBACK

RUNTIMES = ("dev", "pg", "image")
LANGHOST_VERSION = "0.11.1.post1"  # evaluated against the foreign-graph corpus (README, "Server runtimes")
# the environment's server packages: langhost pins langgraph-runtime-pg, which pins langgraph-api 0.11.1 and
# langgraph-checkpoint-postgres 3.1.0; redis for the demo's tool cache, python-dotenv for langgraph.json's "env"
PG_PINS = (
    f"langhost=={LANGHOST_VERSION}",
    f"langgraph-runtime-pg=={LANGHOST_VERSION}",
    "langgraph-api==0.11.1",
    "redis>=5",
    "python-dotenv",
)


def serve_argv(python: str, port: int, config: Path, n_jobs_per_worker: int, allow_blocking: bool) -> list[str]:
    """`langhost serve` bound to loopback on the stack's port (one worker process: the queue runs inside it)."""
    argv = [python, "-m", "langhost", "serve", "--host", LOOPBACK, "--port", str(port), "--config", str(config),
            "--no-browser", "--n-jobs-per-worker", str(n_jobs_per_worker)]
    if allow_blocking:
        argv.append("--allow-blocking")
    return argv


# A run's worker refreshes a Redis key every HEARTBEAT/2 s that lives 2*HEARTBEAT s, and the queue sweeps runs whose
# key expired every 2*HEARTBEAT s, back to pending. The default (120 s) left a run of a killed server unclaimed for
# 6.7 minutes in the drill; 5 s brings it back within about 20 s ([langgraph] env can set LG_BG_JOB_HEARTBEAT).
HEARTBEAT_S = 5


def server_env(dependency_env: dict[str, str]) -> dict[str, str]:
    """DATABASE_URI and REDIS_URI: the stack's Postgres and Redis (both required by the runtime); the run heartbeat."""
    from lgconsole.stack.errors import StackError

    database, redis = dependency_env.get("LGCONSOLE_POSTGRES_URL"), dependency_env.get("LGCONSOLE_REDIS_URL")
    if not database or not redis:
        missing = " and ".join(n for n, u in (("Postgres", database), ("Redis", redis)) if not u)
        raise StackError(f"langgraph: runtime \"pg\" needs the stack's {missing} (DATABASE_URI, REDIS_URI)")
    return {"DATABASE_URI": database, "REDIS_URI": redis, "LG_BG_JOB_HEARTBEAT": str(HEARTBEAT_S),
            "LGCONSOLE_AUTH_PLAIN_USER": "1"}  # token_auth.py says why


def lgconsole_import_path(workdir: Path) -> Path:
    """A directory that makes `lgconsole.stack` importable in an environment without lgconsole (the demo graph
    imports its chat model from there): a bare `lgconsole` package holding a link to this install's `stack`."""
    import lgconsole.stack

    root = workdir / "import-path"
    package = root / "lgconsole"
    package.mkdir(mode=0o700, parents=True, exist_ok=True)
    (package / "__init__.py").touch()
    link = package / "stack"
    target = Path(lgconsole.stack.__file__).resolve().parent
    if link.is_symlink() and link.resolve() != target:
        link.unlink()
    if not link.exists():
        link.symlink_to(target, target_is_directory=True)
    return root
