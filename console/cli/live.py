"""`lgconsole run` and `lgconsole watch`: a run's node steps with their state diffs, as text or JSON lines."""

from __future__ import annotations

import asyncio
import sys
import time

from lgconsole.console.cli import exit_codes
from lgconsole.console.cli.breakpoint_args import add_breakpoint_arguments, breakpoints_of
from lgconsole.console.cli.exit_codes import UsageError
from lgconsole.console.cli.json_args import parse_json_arg
from lgconsole.console.cli.output import print_json, secrets_shown
from lgconsole.console.config import Config
from lgconsole.console.model.breakpoints import Breakpoints, stop_text
from lgconsole.console.model.interrupts import interrupt_value, payload_json
from lgconsole.console.model.live_run import LiveRun, NodeStep, step_json
from lgconsole.console.model.masking import StreamMask, mask_diff, mask_secrets, mask_text
from lgconsole.console.model.sanitise import printable
from lgconsole.console.model.status import RunStatus, StepStatus
from lgconsole.console.model.text import format_step_duration
from lgconsole.console.sources.run_follower import RunFollower, locate_server, saved_steps_url
from lgconsole.console.sources.urls import graph_spec, langgraph_url


def add_live_commands(sub) -> None:
    run = sub.add_parser("run", help="start a run and stream its node steps with state diffs")
    run.add_argument("assistant", help="assistant or graph id, e.g. demo")
    run.add_argument("--input", default=None, help="the run's input as JSON, e.g. '{\"task\": \"x\"}'; @FILE reads "
                                                   "it from a file, - from stdin (every JSON option takes these)")
    run.add_argument("--thread", help="run on this thread (default: a new one)")
    run.add_argument("--resume", help="resume the thread's interrupt with this JSON value")
    run.add_argument("--config", dest="run_config", metavar="JSON",
                     help="the run's config, e.g. '{\"configurable\": {\"model\": \"x\"}, \"recursion_limit\": 50}'")
    run.add_argument("--context", dest="run_context", metavar="JSON",
                     help="the run's context (the graph's context schema), e.g. '{\"user_id\": \"u1\"}'")
    add_breakpoint_arguments(run)
    run.add_argument("--json", action="store_true", help="one JSON object per line (token events with --tokens)")
    run.add_argument("--tokens", action="store_true", help="stream the model's tokens as they arrive")
    watch = sub.add_parser("watch", help="attach to a thread's run in progress (waits for the next one)")
    watch.add_argument("thread")
    watch.add_argument("--json", action="store_true", help="one JSON object per line (token events with --tokens)")
    watch.add_argument("--tokens", action="store_true", help="stream the model's tokens as they arrive")


def shown(text: str, multiline: bool = False) -> str:
    """Text from the run (node names, diff lines, errors, tokens, payloads) as it may reach the terminal: masked
    unless --show-secrets, escaped always (it may be printed to any stream, not only the command's stdout)."""
    return printable(text if secrets_shown() else mask_text(text), multiline=multiline)


def step_name(step: NodeStep) -> str:
    """`researcher/tools`: the step's node under the subgraph nodes it runs in."""
    where = "/".join(ns.split(":")[0] for ns in step.namespace)
    return f"{where}/{step.node}" if where else step.node


class StepPrinter:
    """Prints each node step once, when it is finished (at the end, every step not printed yet); progress (custom)
    events as they arrive, under the step that emitted them; tokens as they arrive when `tokens`. `count` is how many
    steps it printed: the number the end line says."""

    def __init__(self, as_json: bool, out=None, tokens: bool = False):
        self.as_json = as_json
        self.out = out or sys.stdout
        self.tokens = tokens
        self.printed: set[int] = set()
        self._token_step: NodeStep | None = None  # the step whose tokens the open text line shows
        self._stream_mask = StreamMask()

    @property
    def count(self) -> int:
        return len(self.printed)

    def flush(self, live: LiveRun, final: bool = False) -> None:
        for step in live.all_steps():
            if id(step) in self.printed:
                continue
            finished = step.status != StepStatus.RUNNING and (step.diff is not None or step.error or step.interrupts)
            if not (finished or final):
                continue
            self.printed.add(id(step))
            self._print(step)

    def event(self, live: LiveRun, event) -> None:
        """Say a progress or token event at once (before the steps that finished with it)."""
        step = live.last_target
        if event.mode == "custom":
            self._custom(step, event.data)
        elif event.mode == "messages" and self.tokens and step is not None:
            chunk = event.data[0] if isinstance(event.data, (list, tuple)) and event.data else None
            text = chunk.get("content") if isinstance(chunk, dict) else None
            if isinstance(text, str) and text:
                self._token(step, text)

    def _custom(self, step: NodeStep | None, data) -> None:
        if self.as_json:
            self._json({"event": "custom", "node": step.node if step else None,
                        "namespace": list(step.namespace) if step else [], "data": data})
            return
        self._end_tokens()
        where = step_name(step) if step else "(run)"
        data = data if secrets_shown() else mask_secrets(data)
        print(shown(f"      … {where}: {payload_json(data, limit=200)}"), file=self.out, flush=True)

    def _token(self, step: NodeStep, text: str) -> None:
        if self._token_step is not step:
            self._end_tokens()
            if not self.as_json:
                print(shown(f"      » {step_name(step)}: "), end="", file=self.out)
            self._token_step = step
        # A word at a time: a secret split over two tokens is masked whole (StreamMask holds the unfinished word).
        # JSON token events too: a consumer joins their texts, so no event may hold half a secret; a word is let
        # out with the token that ends it (or with the step).
        if self.as_json:
            released = text if secrets_shown() else self._stream_mask.feed(text)
            if released:
                self._json_token(step, released)
            return
        text = text.replace("\n", " ")
        print(printable(text if secrets_shown() else self._stream_mask.feed(text)), end="", file=self.out, flush=True)

    def _end_tokens(self) -> None:
        if self._token_step is None:
            return
        rest = self._stream_mask.end()
        if not self.as_json:
            print(printable(rest), file=self.out)
        elif rest:
            self._json_token(self._token_step, rest)
        self._token_step = None

    def _json_token(self, step: NodeStep, text: str) -> None:
        self._json({"event": "token", "node": step.node, "namespace": list(step.namespace), "text": text})

    def _json(self, data: dict) -> None:
        print_json(data, self.out, indent=None)

    def _print(self, step: NodeStep) -> None:
        diff = step.diff if step.diff is None or secrets_shown() else mask_diff(step.diff)
        self._end_tokens()  # the held end of the tokens before the step they belong to
        if self.as_json:
            self._json({"event": "step", **step_json(step), "diff": diff.to_json() if diff is not None else None})
            return
        took = format_step_duration(step.duration) if step.duration is not None else ""
        print(f"[{step.superstep:>3}] {shown(step_name(step)):<24} {step.status:<11} {took}", file=self.out)
        for line in (diff.lines(100) if diff is not None else []):
            print(f"      {shown(line)}", file=self.out)
        if step.error:
            print(f"      ! {shown(step.error, multiline=True)}", file=self.out)
        if step.closed_by:
            print(f"      · no end event: closed when {shown(step.closed_by)} ended", file=self.out)
        for interrupt in step.interrupts:
            value = interrupt_value(interrupt)
            value = value if secrets_shown() else mask_secrets(value)
            print(f"      ? interrupt: {shown(payload_json(value, limit=300))}", file=self.out)
        self.out.flush()


async def follow(follower: RunFollower, printer: StepPrinter, breakpoints: Breakpoints | None = None) -> LiveRun:
    """Follow the follower's run to its end, printing each finished step, then one end line (or JSON object) and,
    for a run that waits, how to go on."""
    def on_event(event) -> None:
        if event.mode == "reconnecting" and not printer.as_json:
            print(f"  … {follower.live.notes[-1]}", file=sys.stderr)
        printer.event(follower.live, event)
        printer.flush(follower.live)

    follower.on_event = on_event
    follower.on_change = lambda live: printer.flush(live)  # steps folded from saved checkpoints come without events
    outcome = await follower.follow()
    live = follower.live
    printer.flush(live, final=True)
    end = {"event": "end", "run_id": outcome.run_id, "thread_id": outcome.thread_id, "status": outcome.status,
           "thread_status": outcome.thread_status, "error": outcome.error, "interrupts": outcome.interrupts,
           "steps": printer.count, "steps_dropped": live.steps_dropped, "events": live.events, "next": outcome.next}
    printer._end_tokens()
    if printer.as_json:
        print_json(end, indent=None)
    else:
        thread = f"; thread {outcome.thread_id} is {outcome.thread_status}" if outcome.thread_status else ""
        dropped = f" (and {live.steps_dropped} older ones not kept)" if live.steps_dropped else ""
        print(f"run {outcome.run_id} {live.status}: {printer.count} node steps{dropped}, {live.events} events{thread}"
              + (f"; {outcome.error}" if outcome.error else ""))
        if live.status == RunStatus.WAITING and live.interrupts:
            print(f"waiting for input; answer with: lgconsole resume {outcome.thread_id} VALUE")
        elif live.status == RunStatus.WAITING:
            last = next((s.node for s in reversed(live.steps)), None)
            print(f"stopped at a breakpoint {stop_text(outcome.next, breakpoints or Breakpoints(), last)}; "
                  f"continue with: lgconsole resume {outcome.thread_id}")
    return live


def succeeded(live: LiveRun) -> bool:
    """The exit status of a followed run: 0 when it succeeded, also when it stopped at an interrupt."""
    return live.status in (RunStatus.SUCCESS, RunStatus.WAITING)


async def assistant_to_run(url: str, wanted: str) -> str:
    """What the server takes for an assistant given by name (its id); an id or graph id as given."""
    from lgconsole.stack.errors import StackError
    from lgconsole.stack.server.assistants import list_assistants

    from lgconsole.console.sources.assistant_admin import pick

    try:
        found = pick(await list_assistants(url), wanted)
    except StackError:
        return wanted
    return found.assistant_id if found is not None and wanted not in (found.assistant_id, found.graph_id) else wanted


def cmd_run(config: Config, args) -> int:
    payload = parse_json_arg(args.input, "--input")
    resume = parse_json_arg(args.resume, "--resume")
    if resume is not None and not args.thread:
        raise UsageError("--resume needs --thread THREAD (the thread waiting on the interrupt)")
    run_config = parse_json_arg(getattr(args, "run_config", None), "--config")
    run_context = parse_json_arg(getattr(args, "run_context", None), "--context")
    breakpoints = breakpoints_of(args)
    url = langgraph_url(config)

    async def go() -> int:
        from lgconsole.console.sources.assistant_admin import check_breakpoints
        from lgconsole.console.sources.assistants import check_run_arguments

        from lgconsole.console.model.input_template import unknown_input_keys

        # checked against the graph's schemas before anything is created (an unknown assistant lists the server's)
        schemas = await check_run_arguments(url, args.assistant, payload, run_config, run_context)
        unknown = unknown_input_keys(payload, schemas.input_schema)
        if unknown:
            print(f"lgconsole: warning: {unknown}", file=sys.stderr)
        await check_breakpoints(url, args.assistant, breakpoints)
        follower = RunFollower(url, locate=locate_server(config), postgres_url=saved_steps_url(config))
        target = await assistant_to_run(url, args.assistant)
        session = await follower.start(target, input=payload, thread_id=args.thread,
                                       command={"resume": resume} if resume is not None else None,
                                       config=run_config, context=run_context, **breakpoints.run_kwargs())
        if not args.json:
            # at once, also into a pipe: `lgconsole run … | tee` shows which run to attach to while it runs
            print(f"run {session.run_id} on thread {session.thread_id}", flush=True)
        live = await follow(follower, StepPrinter(args.json, tokens=args.tokens), breakpoints)
        return exit_codes.OK if succeeded(live) else exit_codes.FAILED

    return asyncio.run(go())


def cmd_watch(config: Config, args) -> int:
    url = langgraph_url(config)

    async def go() -> int:
        def waiting() -> None:
            if not args.json:
                print(f"waiting for a run on thread {args.thread} (ctrl+c to stop)…")

        follower = RunFollower(url, postgres_url=saved_steps_url(config), locate=locate_server(config),
                               graph_spec=graph_spec(config))
        session = await follower.attach(args.thread, wait=True, waiting=waiting)
        if not args.json:
            print(f"attached to run {session.run_id} on thread {session.thread_id}")
        t0 = time.monotonic()
        live = await follow(follower, StepPrinter(args.json, tokens=args.tokens))
        if not args.json:
            print(f"watched for {time.monotonic() - t0:.1f}s")
        return exit_codes.OK if succeeded(live) else exit_codes.FAILED

    return asyncio.run(go())
