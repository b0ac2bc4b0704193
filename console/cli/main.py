"""`lgconsole`: the entry point: the parser of every command group (console/cli/<group>.py), the demo, the console.

Each command's module is imported only when that command runs, so `status`, `threads`, `doctor`... load no Textual."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from lgconsole.console.cli import exit_codes
from lgconsole.console.config import Config, ConfigError, load_config, select_context, state_dir_path

# Each command group's module (console/cli/<module>.py), the function adding its parsers, and its commands: a command
# builds only its own group's parser, so it imports only that module (help and errors build them all).
COMMAND_GROUPS = {
    "stack": ("add_stack_commands", ("up", "down", "status", "logs")),
    "live": ("add_live_commands", ("run", "watch")),
    "threads": ("add_thread_commands", ("threads", "history", "diff", "replay", "fork", "resume", "copy")),
    "ops": ("add_ops_commands", ("prune", "drill")),
    "doctor": ("add_doctor_command", ("doctor",)),
    "gpu": ("add_gpu_command", ("gpu",)),
    "graph": ("add_graph_command", ("graph",)),
    "assistants": ("add_assistants_command", ("assistants",)),
    "trace": ("add_trace_command", ("trace",)),
    "store": ("add_store_commands", ("store", "redis")),
    "auth": ("add_auth_commands", ("token", "env")),
    "contexts": ("add_contexts_command", ("contexts",)),
    "export": ("add_export_command", ("export",)),
}
OPTIONS_WITH_VALUES = ("--config", "--state-dir", "--context")
# One-shot reads: run as the program, they keep the garbage collector paused to the end (console/collector.py).
# The console gets it back after its first frame; commands that follow, stream or wait, once parsed.
SHORT_COMMANDS = frozenset({"threads", "history", "diff", "status", "token", "env", "contexts"})


def _command_group(argv: list[str]) -> str | None:
    """The group of the command named in argv; None for the console, `demo`, help or anything unclear."""
    expects_value = False
    for token in argv:
        if expects_value:
            expects_value = False
        elif token in ("-h", "--help"):
            return None
        elif token.startswith("-"):  # an option, maybe abbreviated (`--conf FILE`) and followed by its value
            expects_value = "=" not in token and any(o.startswith(token) for o in OPTIONS_WITH_VALUES)
        else:
            return next((group for group, (_, commands) in COMMAND_GROUPS.items() if token in commands), None)
    return None


def _add_group(sub: Any, group: str) -> None:
    from importlib import import_module

    add_function, _ = COMMAND_GROUPS[group]
    getattr(import_module(f"lgconsole.console.cli.{group}"), add_function)(sub)


class OneLineParser(argparse.ArgumentParser):
    """argparse with its errors in one line (the usage is one `--help` away), exit code USAGE; the subcommands'
    parsers are of this class too (add_subparsers makes them of the parent's class)."""

    def error(self, message: str):
        self.exit(exit_codes.USAGE, f"{self.prog}: {message.splitlines()[0] if message else 'error'} "
                         f"(see `{self.prog} --help`)\n")


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser: every command's, or (`only`) one group's."""
    parser = OneLineParser(prog="lgconsole", description=__doc__, epilog=exit_codes.epilog(),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="config file (default: ./lgconsole.toml, else the XDG config dir)")
    parser.add_argument("--state-dir", help="where the stack keeps data, logs and PIDs (overrides the config)")
    parser.add_argument("--context", metavar="NAME",
                        help="the deployment to act on: a [contexts.NAME] of the config, or `local` (the managed "
                             "stack); default: $LGCONSOLE_CONTEXT, else the config's `context`, else local")
    parser.add_argument("--show-secrets", action="store_true",
                        help="print API keys, tokens and passwords in clear (masked as *** in every output otherwise)")
    sub = parser.add_subparsers(dest="command")
    if only:
        _add_group(sub, only)
        return parser
    _add_group(sub, "stack")
    demo = sub.add_parser("demo", help="bring the stack up with the demo graph, start demo runs, open the console")
    demo.add_argument("--no-console", action="store_true", help="do not open the console afterwards")
    demo.add_argument("--model", choices=["auto", "scripted", "tiny-cpu"], default="auto",
                      help="auto (default): the configured [vllm] model when there is one, else a real vLLM on CPU "
                           "with a tiny local model when it is built (`make vllm-cpu`; `make demo` builds it), else "
                           "the scripted model")
    for group in ("live", "threads", "ops", "doctor", "gpu", "graph", "assistants", "trace", "store", "auth",
                  "contexts", "export"):
        _add_group(sub, group)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The command's exit code; a reader that goes away (`lgconsole graph | head -1`) ends it quietly with 141.
    Without `argv` it runs as the program (the `lgconsole` script, `python -m lgconsole.console`): the process ends
    when it returns."""
    from lgconsole.console import collector
    from lgconsole.console.cli.output import quiet_when_reader_goes

    if argv is not None:
        return quiet_when_reader_goes(lambda: _main(argv))
    collector.pause()
    try:
        return quiet_when_reader_goes(lambda: _main(None))
    finally:
        collector.freeze_for_exit()


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser(_command_group(argv)).parse_args(argv)
    if args.command is not None and args.command not in SHORT_COMMANDS:
        from lgconsole.console import collector

        collector.resume()  # (nothing when not paused)
    try:
        config = load_config(args.config)
        if args.state_dir:
            config.state_dir = str(state_dir_path(args.state_dir, "--state-dir").resolve())
        config = select_context(config, args.context, "--context")
    except ConfigError as exc:
        from lgconsole.console.model.sanitise import printable

        print(f"lgconsole: config error: {printable(str(exc), multiline=True)}", file=sys.stderr)
        return exit_codes.CONFIG
    handlers = {None: cmd_console, "up": _lazy("cli.stack", "cmd_up"), "down": _lazy("cli.stack", "cmd_down"),
                "status": _lazy("cli.stack", "cmd_status"), "logs": _lazy("cli.stack", "cmd_logs"), "demo": cmd_demo,
                "run": _lazy("cli.live", "cmd_run"), "watch": _lazy("cli.live", "cmd_watch"),
                "threads": _lazy("cli.threads", "cmd_threads"), "history": _lazy("cli.threads", "cmd_history"),
                "diff": _lazy("cli.threads", "cmd_diff"), "replay": _lazy("cli.threads", "cmd_replay"),
                "fork": _lazy("cli.threads", "cmd_fork"), "resume": _lazy("cli.threads", "cmd_resume"),
                "copy": _lazy("cli.threads", "cmd_copy"), "doctor": _lazy("cli.doctor", "cmd_doctor"),
                "gpu": _lazy("cli.gpu", "cmd_gpu"), "graph": _lazy("cli.graph", "cmd_graph"),
                "assistants": _lazy("cli.assistants", "cmd_assistants"),
                "prune": _lazy("cli.ops", "cmd_prune"), "drill": _lazy("cli.ops", "cmd_drill"),
                "store": _lazy("cli.store", "cmd_store"), "redis": _lazy("cli.store", "cmd_redis"),
                "token": _lazy("cli.auth", "cmd_token"), "env": _lazy("cli.auth", "cmd_env")}
    handlers["trace"] = _lazy("cli.trace", "cmd_trace")
    handlers["contexts"] = _lazy("cli.contexts", "cmd_contexts")
    handlers["export"] = _lazy("cli.export", "cmd_export")
    if args.command in ("up", "down", "demo"):
        from lgconsole.console.contexts import stack_verb_refusal

        refusal = stack_verb_refusal(config, args.command)
        if refusal:
            print(f"lgconsole: {refusal}", file=sys.stderr)
            return exit_codes.FAILED
    from lgconsole.console.cli.output import run_with_safe_output, show_secrets

    show_secrets(args.show_secrets)
    command = handlers[args.command]
    try:
        if args.command in (None, "demo"):  # the console draws on the terminal itself (its panes are sanitised)
            return _run_command(command, config, args)
        return run_with_safe_output(lambda: _run_command(command, config, args))
    finally:
        show_secrets(False)


def _run_command(command, config: Config, args) -> int:
    from lgconsole.stack.errors import StackError

    try:
        return command(config, args)
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


def demo_model(requested: str, configured: bool, tiny_ready: bool, gpu: bool) -> tuple[str, str]:
    """Which model the demo's workers call ("configured", "tiny-cpu" or "scripted") and a line saying why when
    it is not the obvious one. `auto`: the model the config names (a GPU host's own), else the tiny CPU model when
    it is built, else the scripted one."""
    if requested != "auto":
        return requested, ""
    if configured:
        return "configured", ""
    if tiny_ready:
        note = "no [vllm] model configured for this GPU; " if gpu else ""
        return "tiny-cpu", note + "serving the tiny local model on a CPU vLLM (its text is noise; the numbers are real)"
    hint = "set [vllm] model to serve one on this GPU" if gpu else "`make vllm-cpu` builds a real vLLM on CPU"
    return "scripted", f"no model server: the workers use the scripted model ({hint})"


def nvidia_gpu_here() -> bool:
    return Path("/dev/nvidiactl").exists() or shutil.which("nvidia-smi") is not None


def tiny_cpu_model_ready(config: Config) -> bool:
    """The CPU vLLM and the tiny model it serves are built here (`make vllm-cpu`)."""
    python = Path(config.vllm.python or ".venv-vllm/bin/python").absolute()
    return python.exists() and (Path(config.vllm.model or ".models/tiny-llama") / "config.json").exists()


def use_tiny_cpu_model(config: Config) -> None:
    """Point the stack's vLLM at the tiny local model, served by the CPU build (built by `make vllm-cpu`)."""
    from lgconsole.stack.demo.tiny_model import TINY_MODEL_NAME
    from lgconsole.stack.errors import StackError

    python = Path(config.vllm.python or ".venv-vllm/bin/python").absolute()  # not resolve(): keep the venv
    model = Path(config.vllm.model or ".models/tiny-llama").resolve()
    if not python.exists() or not (model / "config.json").exists():
        raise StackError(f"the tiny CPU model needs {python} and {model}: run `make vllm-cpu` first")
    v = config.vllm
    v.model, v.python, v.launcher, v.device = str(model), str(python), "module", "cpu"
    v.served_model_name = v.served_model_name or TINY_MODEL_NAME
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
    from lgconsole.console.cli.output import run_with_safe_output

    # what it prints before the console (service errors, the runs' labels) goes through the one escaping writer
    code = run_with_safe_output(lambda: _demo_stack(config, args))
    if code or args.no_console:
        return code
    # the demo fails one run on purpose: open on the Stack screen, not on the Triage page it would trigger
    return cmd_console(config, args, triage_first=False)


def _demo_stack(config: Config, args) -> int:
    """The demo's stack up and its runs done; 0 when the console may open."""
    from lgconsole.stack.services import supervisor
    from lgconsole.stack.demo.runs import start_demo_runs

    from lgconsole.console.cli.stack import bring_up
    from lgconsole.console.sources.urls import langgraph_url

    if config.project.path:
        print(f"demo: serving the bundled demo graph instead of {config.project.path}")
        config.project.path = ""
    model, note = demo_model(args.model, bool(config.vllm.model or config.vllm.url), tiny_cpu_model_ready(config),
                             nvidia_gpu_here())
    if note:
        print(f"demo: {note}")
    if model == "tiny-cpu":
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
    return 0


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
