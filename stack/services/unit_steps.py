"""The supervisor's steps around a launch, as commands for an engine that starts the process itself (the units of
`lgconsole export systemd`): `prepare` before it (initdb, redis.conf, the server's langgraph.json and token) and
`ready` after it (the same health probe until healthy, then the set-up that needs the server up: the database).

    python -m lgconsole.stack.services.unit_steps prepare STATE_DIR SERVICE
    python -m lgconsole.stack.services.unit_steps ready STATE_DIR SERVICE --timeout SECONDS

Both read the stack spec `lgconsole export systemd` saved in STATE_DIR. Errors are one line on stderr, exit 1.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from lgconsole.stack.errors import StackError
from lgconsole.stack.services.file_modes import make_private
from lgconsole.stack.services.service import Service, StackSpec, one_line

POLL_S = 0.5
GRAPH_SPEC_WAIT_S = 60.0  # the served graphs' description is written by a child that ends with this command


def _service(state_dir: Path, name: str) -> Service:
    from lgconsole.stack.services.supervisor import build_services

    services = build_services(StackSpec.load(state_dir))
    if name not in services:
        raise StackError(f"{name}: not a service of the stack saved in {state_dir}")
    return services[name]


def prepare(state_dir: Path, name: str) -> None:
    make_private(state_dir)
    svc = _service(state_dir, name)
    # the service logs to journald; the logs dir takes what the supervisor's helpers write (the graph description)
    svc.paths.logs.mkdir(mode=0o700, exist_ok=True)
    svc.prepare()


def ready(state_dir: Path, name: str, timeout: float) -> str:
    """Wait until the service's health probe passes, then finish its set-up; the probe's detail."""
    svc = _service(state_dir, name)
    deadline = time.monotonic() + timeout
    while True:
        health = svc.health(timeout=2.0)
        if health.ok:
            break
        if time.monotonic() > deadline:
            raise StackError(f"{name}: not healthy after {timeout:.0f}s ({health.detail})")
        time.sleep(POLL_S)
    if name == "langgraph":
        _finish_server(svc, state_dir, deadline)
    else:
        svc.after_healthy()
    return f"{name}: healthy ({health.detail}{', ' + health.version if health.version else ''})"


def _finish_server(svc: Service, state_dir: Path, deadline: float) -> None:
    """The server describes its graphs for the checkpoint readers in a child that dies with its parent (this
    command): wait for the description, as long as the start timeout allows."""
    from lgconsole.stack.services import graph_spec

    needs_build = getattr(svc, "needs_build", None)
    if needs_build is not None:
        needs_build()  # finds the project's environment again (the description runs in it)
    svc.after_healthy()
    until = min(deadline, time.monotonic() + GRAPH_SPEC_WAIT_S)
    while time.monotonic() < until and graph_spec.read_spec(state_dir) is None:
        time.sleep(POLL_S)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    timeout = 90.0
    if "--timeout" in args:
        at = args.index("--timeout")
        try:
            timeout = float(args[at + 1])
        except (IndexError, ValueError):
            args = []
        else:
            del args[at:at + 2]
    if len(args) != 3 or args[0] not in ("prepare", "ready"):
        print("usage: python -m lgconsole.stack.services.unit_steps prepare|ready STATE_DIR SERVICE "
              "[--timeout SECONDS]", file=sys.stderr)
        return 2
    step, state_dir, name = args[0], Path(args[1]), args[2]
    try:
        if step == "prepare":
            prepare(state_dir, name)
        else:
            print(ready(state_dir, name, timeout))
    except StackError as exc:
        print(f"lgconsole {step} {name}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # anything else is one line too: systemd shows the last line of a failed step
        print(f"lgconsole {step} {name}: {one_line(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
