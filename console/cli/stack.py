"""`lgconsole up | down | status | logs`: bring the stack up and down, show each service's state and its log."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from lgconsole.console.cli import exit_codes
from lgconsole.console.config import Config
from lgconsole.console.model.sanitise import printable
from lgconsole.console.model.text import format_duration
from lgconsole.stack.services.service import SERVICE_NAMES


def add_stack_commands(sub) -> None:
    up = sub.add_parser("up", help="start the stack (Postgres, Redis when something uses it, vLLM if configured, LangGraph server); external services are only checked")
    up.add_argument("--no-wait", action="store_true", help="return once the supervisor runs; do not wait for health")
    up.add_argument("--rotate-token", action="store_true",
                    help="replace the LangGraph server's token (at once, also while it runs); clients need the new one")
    sub.add_parser("down", help="stop every service of the stack; nothing is left running")
    status = sub.add_parser("status", help="each service's state, pid, port, url, version and uptime")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    logs = sub.add_parser("logs", help="show a service's log")
    logs.add_argument("service", choices=[*SERVICE_NAMES, "supervisor"])
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("-n", "--lines", type=_line_count, default=50, metavar="N",
                      help=f"how many last lines, 1 to {MAX_LOG_LINES:,} (default 50)")


# --- up / down -----------------------------------------------------------------------------------------------

MAX_LOG_LINES = 100_000  # `logs -n` reads about 400 bytes per line asked for


def _line_count(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a whole number of lines") from None
    if not 1 <= value <= MAX_LOG_LINES:
        raise argparse.ArgumentTypeError(f"{value} lines: give 1 to {MAX_LOG_LINES:,} (-f keeps following)")
    return value


def bring_up(config: Config, wait: bool = True, out=sys.stdout) -> int:
    """Start the supervisor and report each service as it becomes healthy. 0 when all are healthy."""
    from lgconsole.stack.services import supervisor
    from lgconsole.stack.services.service import ServiceState

    from lgconsole.console.sources.stack import spec_for_up

    t0 = time.monotonic()
    if supervisor.supervisor_running(config.state_path):
        state = supervisor.read_state(config.state_path)
        print(f"stack already running (supervisor pid {state.supervisor_pid}, state dir {config.state_path}); "
              "nothing to do", file=out)
        return 0
    from lgconsole.console.sources.runtime_preflight import runtime_problems

    if problems := runtime_problems(config):  # before anything starts
        for problem in problems:
            print(f"lgconsole: langgraph runtime \"image\": {problem}", file=sys.stderr)
        return exit_codes.FAILED
    state = supervisor.read_state(config.state_path)
    if elsewhere := _run_elsewhere(config, state):
        return _owned_elsewhere(config, elsewhere, out)
    left = state.unsupervised
    spec, adopt = spec_for_up(config)
    services = supervisor.build_services(spec)
    if not any(svc.enabled and not svc.external for svc in services.values()):
        return _nothing_to_start(config, spec, out)
    supervisor.launch(spec, adopt)
    print(f"supervisor started; state dir {config.state_path}", file=out)
    _print_uses(spec, out)
    if left:
        kept = [f"{s.name} (pid {s.pid}, port {s.port})" for s in left if s.name in adopt]
        restarted = [s.name for s in left if s.name not in adopt]
        print("  the previous supervisor had died; " + (f"adopted {', '.join(kept)}" if kept else "adopted none")
              + (f"; started again (configuration changed, or a dependency was): {', '.join(restarted)}"
                 if restarted else ""), file=out)
    if config.project.path:
        print(f"  langgraph  project {config.project.path}: {project_env_line(config)}", file=out)
    if not wait:
        return 0
    timeout = sum(float(s.get("startup_timeout") or 60) for s in spec.services.values()) + 30
    if config.project.path and not config.project.python:
        timeout += BUILD_TIMEOUT_S  # the project's environment may have to be built first
    seen: dict[str, str] = {}
    last_progress = 0.0
    build = BuildProgress(out)
    crash_seen: dict[str, float] = {}
    while time.monotonic() - t0 < timeout:
        state = supervisor.read_state(config.state_path)
        if not state.supervisor_alive:
            print("supervisor exited; see `lgconsole logs supervisor`", file=out)
            return exit_codes.FAILED
        pending = False
        for svc in state.services:
            key = f"{svc.state.value}:{svc.restarts}"
            elapsed = time.monotonic() - t0
            if (svc.state == ServiceState.CRASHED and svc.last_error is None
                    and time.monotonic() - crash_seen.setdefault(svc.name, time.monotonic()) < 5):
                # read_state sees a dead process at once, the supervisor writes why on its next tick: wait for it
                pending = True
                continue
            if svc.state in (ServiceState.FAILED, ServiceState.CRASHED) and seen.get(svc.name) != key:
                print(f"  {svc.name:<10} {svc.state.value}: {svc.last_error}", file=out)
                if svc.name == "langgraph" and config.project.path:
                    # the project itself is at fault (langgraph.json, a dependency, a graph): stop everything, so
                    # the next `up` after the fix starts clean
                    supervisor.shutdown(config.state_path)
                    print(f"lgconsole: {svc.last_error}\nlgconsole: the project could not be served; the stack is "
                          "stopped (nothing left running). Fix it and run `lgconsole up` again.", file=sys.stderr)
                    return exit_codes.FAILED
                print(f"lgconsole: {svc.name} could not start; the supervisor retries with backoff. "
                      f"See `lgconsole logs {svc.name}`; `lgconsole down` stops everything.", file=sys.stderr)
                return exit_codes.FAILED
            if svc.name == "langgraph":
                build.show(svc.detail or "", elapsed)
            if seen.get(svc.name) != key:
                seen[svc.name] = key
                if svc.state == ServiceState.HEALTHY:
                    where = f"pid {svc.pid}" if svc.managed else "external"
                    print(f"  {svc.name:<10} healthy   {elapsed:5.1f}s  {svc.version or ''}  {svc.url or ''}  ({where})",
                          file=out)
                elif svc.state not in (ServiceState.DISABLED, ServiceState.STOPPED):
                    print(f"  {svc.name:<10} {svc.state.value}", file=out)
            if svc.state not in (ServiceState.HEALTHY, ServiceState.DISABLED):
                pending = True
                if (svc.state == ServiceState.STARTING and time.monotonic() - last_progress > 10 and elapsed > 10
                        and not (svc.detail or "").startswith(BuildProgress.PREFIX)):
                    last_progress = time.monotonic()
                    print(f"  {svc.name:<10} {svc.detail}", file=out)
        if not pending:
            print(f"stack healthy in {time.monotonic() - t0:.1f}s", file=out)
            return 0
        time.sleep(0.05)  # the supervisor writes its state every 50 ms while services start
    print("lgconsole: timed out waiting for the stack to become healthy; see `lgconsole status`", file=sys.stderr)
    return exit_codes.FAILED


BUILD_TIMEOUT_S = 900.0


def _print_uses(spec, out) -> None:
    """Who uses Redis or why it is not started, and why any other service is not (Postgres beside an external
    server)."""
    for name, section in spec.services.items():
        if section.get("use") and (name == "redis" or section.get("enabled") is False):
            print(f"  {name:<10} {printable(section['use'])}", file=out)  # it may name a project's file


def _run_elsewhere(config: Config, state) -> dict:
    """The stack's services that answer on their ports while no supervisor of lgconsole's runs: name -> probe."""
    from lgconsole.console.sources.external import probe_run_elsewhere

    return probe_run_elsewhere(config, state)


def _owned_elsewhere(config: Config, found: dict, out) -> int:
    """`up` where another manager runs the stack: nothing started (a second copy would fight it for the ports);
    each service as its probe finds it, and those of the stack that do not run. 0 when every one runs healthy."""
    from lgconsole.stack.services import supervisor
    from lgconsole.stack.services.service import StackSpec

    from lgconsole.console.sources.external import ELSEWHERE, run_elsewhere_status

    print(f"nothing started: {', '.join(found)} already run here without lgconsole's supervisor; "
          f"{ELSEWHERE}: start and stop the stack there", file=out)
    for name, probe in found.items():
        row = run_elsewhere_status(probe)
        said = f"healthy   {row.version or ''}" if probe.ok else f"down: {row.detail}"
        print(f"  {name:<10} not supervised · {said}  {row.url}", file=out)
    services = supervisor.build_services(StackSpec.load(config.state_path))  # found from it: it loads
    missing = [name for name, svc in services.items() if svc.enabled and not svc.external and name not in found]
    for name in missing:
        print(f"  {name:<10} not running: start it where the others are started", file=out)
    return exit_codes.OK if all(p.ok for p in found.values()) and not missing else exit_codes.FAILED


def _nothing_to_start(config: Config, spec, out) -> int:
    """`up` where every service is external or not used: no supervisor, nothing started; each external service as
    its probe finds it now. 0 when all answer."""
    from lgconsole.console.sources.external import external_status, probe_external

    print("nothing to start: every service is external or not used; lgconsole only checks them", file=out)
    found = probe_external(config)
    for name, probe in found.items():  # the services' own words: sanitised (external_status)
        row = external_status(probe)
        said = f"healthy   {row.version or ''}" if probe.ok else f"down: {row.detail}"
        print(f"  {name:<10} external · {said}  {row.url}", file=out)
    _print_uses(spec, out)
    return exit_codes.OK if all(p.ok for p in found.values()) else exit_codes.FAILED


def project_env_line(config: Config) -> str:
    """Which environment the project is served from, and whether it is reused or still to build."""
    from lgconsole.stack.services import project_env

    if config.project.python:
        return f"served by [project] python {config.project.python}"
    if config.langgraph.runtime == "image":
        return "built into the server image by `langgraph build`"
    from lgconsole.stack.services.pg_runtime import PG_PINS

    try:  # the pg runtime's environment holds its own server packages: another environment
        plan = project_env.plan_env(config.project.path, pins=PG_PINS if config.langgraph.runtime == "pg" else None)
    except project_env.ProjectEnvError as exc:
        return str(exc)
    root = project_env.env_cache_root() if not config.project.env_dir else Path(config.project.env_dir).expanduser()
    ready = project_env.ready_env(plan, root)
    if ready:
        return f"reusing environment {ready.path} (its inputs are unchanged)"
    return (f"building environment {project_env.env_path(plan, root)} from langgraph.json "
            f"({len(plan.sources)} dependency entries + the server packages)")


class BuildProgress:
    """The project environment's build, as `up` prints it: each phase once, then pip's latest line every few
    seconds (the supervisor's status detail carries both: "building environment: PHASE: LINE")."""

    PREFIX = "building environment: "

    def __init__(self, out, every_s: float = 3.0):
        self.out, self.every_s = out, every_s
        self.phase = ""
        self.line = ""
        self.printed_at = 0.0

    def show(self, detail: str, elapsed: float) -> None:
        if not detail.startswith(self.PREFIX):
            return
        phase, _, line = detail[len(self.PREFIX):].partition(": ")
        now = time.monotonic()
        if phase != self.phase:
            self.phase, self.line, self.printed_at = phase, line, now
            print(f"  langgraph  {elapsed:5.1f}s  {phase}" + (f": {line}" if line else ""), file=self.out, flush=True)
        elif line and line != self.line and now - self.printed_at >= self.every_s:
            self.line, self.printed_at = line, now
            print(f"  langgraph  {elapsed:5.1f}s    {line}", file=self.out, flush=True)


def cmd_up(config: Config, args) -> int:
    if args.rotate_token:
        from lgconsole.stack.server.credentials import rotate_token, token_path

        rotate_token(token_path(config.state_path))
        print("the LangGraph server has a new token (`lgconsole token` prints it); the old one no longer works")
    return bring_up(config, wait=not args.no_wait)


def cmd_down(config: Config, args) -> int:
    from lgconsole.stack.services import supervisor

    from lgconsole.console.sources.external import ELSEWHERE

    state = supervisor.read_state(config.state_path)
    if not state.supervisor_alive and (elsewhere := _run_elsewhere(config, state)):
        print(f"lgconsole did not start {', '.join(elsewhere)}, {ELSEWHERE}: nothing stopped; stop them there "
              "(the exported units: `systemctl [--user] stop lgconsole-stack.target`)")
        return exit_codes.FAILED
    if not state.supervisor_alive:
        killed = supervisor.stop_leftovers(config.state_path)
        if killed:
            print(f"supervisor was not running; stopped leftover processes by PID: {', '.join(killed)}")
        else:
            print("stack is not running")
        return 0
    t0 = time.monotonic()
    leftovers = supervisor.shutdown(config.state_path)
    if leftovers:
        print(f"stopped by PID after the supervisor: {', '.join(leftovers)}")
    print(f"stack stopped in {time.monotonic() - t0:.1f}s")
    return 0


# --- status / logs -------------------------------------------------------------------------------------------

def status_json(config: Config) -> dict:
    """What `status` shows: the supervisor's state, each external service as lgconsole's own probe finds it now (one
    probe each, side by side, at most ~2 s for a host that does not answer), and who uses Redis."""
    from lgconsole.stack.services import supervisor

    from lgconsole.console.stack_spec import redis_use_of
    from lgconsole.console.sources.external import (merged_services, needs_supervisor, probe_external,
                                                    probe_run_elsewhere, run_elsewhere)

    state = supervisor.read_state(config.state_path)
    services = merged_services(state.services, config, probe_external(config), probe_run_elsewhere(config, state))
    now = time.time()
    redis = redis_use_of(config)
    return {
        "state_dir": str(config.state_path),
        "config": config.source,
        "supervisor": {"pid": state.supervisor_pid if state.supervisor_alive else None,
                       "running": state.supervisor_alive,
                       # it died (killed, crashed) while these services went on running: nothing restarts them
                       "died_pid": state.supervisor_pid if state.unsupervised else None,
                       "unsupervised": [s.name for s in state.unsupervised],
                       # the stack's services that answer while no supervisor of lgconsole's runs them (systemd)
                       "run_elsewhere": [s.name for s in run_elsewhere(services)],
                       # False when every service is external or not used: nothing for `up` to run
                       "needed": needs_supervisor(services)},
        "services": [{**svc.to_json(now), "label": state_label(svc.state.value, svc.managed, svc.run_elsewhere)}
                     for svc in services],
        "redis_use": {"started": redis.started, "why": redis.why},
    }


def state_label(state: str, managed: bool, elsewhere: bool = False) -> str:
    """A service's state as `status` and the Stack screen write it: "external · healthy" for one lgconsole probes,
    "running · not supervised" for one of the stack that another manager runs."""
    if elsewhere:
        return "running · not supervised" if state == "healthy" else f"{state} · not supervised"
    return state if managed or state == "disabled" else f"external · {state}"


def cmd_status(config: Config, args) -> int:
    from lgconsole.stack.services.service import ServiceState

    from lgconsole.console.sources.external import ELSEWHERE

    data = status_json(config)
    services = data["services"]
    sup = data["supervisor"]
    if args.json:
        from lgconsole.console.cli.output import print_json

        print_json(data)
    else:
        print(f"state dir {data['state_dir']}  supervisor: "
              + (f"pid {sup['pid']}" if sup["running"] else "not running" if sup["needed"]
                 else f"none; {', '.join(sup['run_elsewhere'])} run without it; {ELSEWHERE}" if sup["run_elsewhere"]
                 else "not needed (every service is external or not used)"))
        if sup["unsupervised"]:
            print(f"supervisor pid {sup['died_pid']} has died; {', '.join(sup['unsupervised'])} still run unsupervised "
                  "(nothing restarts them): `lgconsole up` starts a new supervisor that adopts them")
        width = max([9, *(len(s["label"]) for s in services)])
        print(f"{'SERVICE':<10} {'STATE':<{width}} {'PID':>7} {'PORT':>6} {'UPTIME':>8} {'RESTARTS':>8}  VERSION / URL")
        for s in services:
            uptime = format_duration(s["uptime_s"]) if s["uptime_s"] is not None else "-"
            print(f"{s['name']:<10} {s['label']:<{width}} {s['pid'] or '-':>7} {s['port'] or '-':>6} {uptime:>8} "
                  f"{s['restarts']:>8}  {s['version'] or ''} {s['url'] or ''}")
            if s["state"] == "starting" and (s["detail"] or "").startswith(BuildProgress.PREFIX):
                print(f"{'':<10} {s['detail']}")
            if s["state"] == "down":
                print(f"{'':<10} down: {s['detail']}")
            elif s["last_error"] and s["state"] not in ("healthy", "disabled"):
                print(f"{'':<10} last error: {s['last_error']}")
            if s["name"] == "redis":
                print(f"{'':<10} {printable(data['redis_use']['why'])}")
            elif s["state"] == "disabled" and s["detail"]:  # why it is not started (Postgres beside an external server)
                print(f"{'':<10} {printable(s['detail'])}")
    if not sup["running"] and sup["needed"]:
        return exit_codes.NOT_RUNNING
    unhealthy = [s for s in services if s["state"] not in (ServiceState.HEALTHY.value, ServiceState.DISABLED.value)]
    return exit_codes.FAILED if unhealthy else exit_codes.OK


def cmd_logs(config: Config, args) -> int:
    from lgconsole.console.cli.output import reader_gone
    from lgconsole.stack.services.service import tail_lines

    path = config.paths.log(args.service)
    if not path.exists():
        print(f"lgconsole: no log for {args.service} yet ({path})", file=sys.stderr)
        return exit_codes.FAILED
    for line in tail_lines(path, args.lines, max_bytes=max(65536, args.lines * 400)):
        print(line)
    if not args.follow:
        return 0
    import codecs

    from lgconsole.stack.services.log_rotation import LogFollower

    follower = LogFollower(path)  # across a rotation, every line once
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    try:
        while True:
            chunk = follower.read()
            if chunk:
                # whole lines only: the masking of what is printed sees a secret in one piece
                complete, _, pending = (pending + decoder.decode(chunk)).rpartition("\n")
                if complete:
                    sys.stdout.write(complete + "\n")
                    sys.stdout.flush()
            else:
                if reader_gone(sys.stdout):  # `logs -f | head`: end as `tail -f` does, not at the next log line
                    return exit_codes.CLOSED_PIPE
                time.sleep(0.2)
    finally:
        follower.close()
