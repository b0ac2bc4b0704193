"""What the CLI prints, for arbitrary text in state, errors, interrupts, names and log lines: no character a terminal
would act on in text output, valid JSON with none either in --json output, secrets masked unless --show-secrets.
Commands run through `main` (so through the streams every command writes to) on a state dir of the test's own, or
with the checkpoint reader replaced by one that hands back fixed records (no services)."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from hostile_values import HOSTILE, HOSTILE_TEXTS, terminal_unsafe
from lgconsole.console.cli import threads as cli_threads
from lgconsole.console.cli.live import StepPrinter
from lgconsole.console.cli.main import main
from lgconsole.console.cli.output import print_json, show_secrets
from lgconsole.console.model.live_run import LiveRun
from lgconsole.stack.checkpoints.records import CheckpointNode, CheckpointState, SchemaInfo, ThreadStatus, ThreadSummary
from lgconsole.stack.server.runs import RunEvent

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
TEXT = st.text(alphabet=st.characters(blacklist_categories=()), max_size=30) | st.sampled_from(HOSTILE_TEXTS)
VALUE = st.recursive(st.none() | st.integers() | TEXT,
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                     max_leaves=8)
SECRETS = {"api_key": "hunter2-plain", "note": "call with Bearer abc.def123456",
           "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
           "aws": "ASIAIOSFODNN7EXAMPLE", "db": "postgresql://u:s3cr3t-pw@db:5432/x", "nested": {"password": "pw-9"}}
CLEAR = ("hunter2-plain", "abc.def123456", "dozjgNry", "ASIAIOSFODNN7EXAMPLE", "s3cr3t-pw", "pw-9")


def _terminal_safe_json_lines(text: str) -> list:
    assert not terminal_unsafe(text), terminal_unsafe(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class Reader:
    """The checkpoint reader's calls the thread commands make, answered with fixed records."""

    def __init__(self, summaries=(), nodes=(), states=()):
        self.summaries, self.nodes, self.states = list(summaries), list(nodes), list(states)

    def schema_version(self):
        return SchemaInfo(9, 9, "current", "checkpoint schema version 9")

    def list_threads(self, **kwargs):
        return self.summaries

    def count(self, **kwargs):
        return len(self.summaries)

    def has_recent_index(self):
        return True

    def history(self, thread, include_subgraphs=True):
        return self.nodes

    def find_checkpoint(self, thread, prefix):
        return "", prefix

    def state_with_parent(self, thread, cid, ns, parent=None):
        return self.states[1], self.states[0]


def _state(checkpoint_id: str, values: dict, error=None) -> CheckpointState:
    return CheckpointState("t", checkpoint_id, "", None, 1, "loop", NOW, {}, values, {}, [], [], error=error)


@pytest.fixture
def reading(monkeypatch, tmp_path):
    """`main` for the thread commands on fixed records: set_reader(Reader(...)), then run(argv) -> (code, out, err)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(cli_threads, "server_view", lambda config: None)
    holder = {}
    monkeypatch.setattr(cli_threads, "open_reader", lambda config: contextlib.nullcontext(holder["reader"]))

    def run(reader: Reader, argv: list[str], capsys) -> tuple[int, str, str]:
        holder["reader"] = reader
        code = main(["--state-dir", str(tmp_path / "state"), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(thread=TEXT, node=TEXT, error=TEXT, question=TEXT, value=VALUE)
def test_threads_history_and_diff_print_nothing_a_terminal_acts_on(reading, capsys, thread, node, error, question,
                                                                    value):
    summaries = [ThreadSummary(thread, NOW, 2, "c2", 1, "loop", [node], ThreadStatus(status), node, error,
                               [{"value": {"question": question}}]) for status in ("errored", "waiting", "idle")]
    nodes = [CheckpointNode("c1", None, "", 0, "input", [node], NOW),
             CheckpointNode("c2", "c1", "", 1, "loop", [node], NOW, error=error, error_node=node)]
    states = [_state("c1", {"k": value}), _state("c2", {"k": [value, error], node: question}, error)]
    reader = Reader(summaries, nodes, states)
    # `--` before the thread id: an id that starts with "-" is an id, not an option (as a user types it)
    for argv in (["threads"], ["history", "--", thread], ["diff", "--", thread, "c1", "c2"]):
        code, out, err = reading(reader, argv, capsys)
        assert code == 0 and not terminal_unsafe(out + err), (argv, terminal_unsafe(out + err))
    for argv in (["threads", "--json"], ["history", "--json", "--", thread],
                 ["diff", "--json", "--", thread, "c1", "c2"]):
        code, out, err = reading(reader, argv, capsys)
        assert code == 0 and not terminal_unsafe(out) and json.loads(out)


def test_history_and_diff_json_are_masked_unless_show_secrets(reading, capsys):
    nodes = [CheckpointNode("c1", None, "", 0, "input", ["n"], NOW, metadata={"writes": SECRETS}),
             CheckpointNode("c2", "c1", "", 1, "loop", ["n"], NOW, error=f"401 {SECRETS['note']}")]
    reader = Reader([], nodes, [_state("c1", {}), _state("c2", SECRETS)])
    for argv in (["history", "t", "--json"], ["diff", "t", "c1", "c2", "--json"], ["diff", "t", "c1", "c2"]):
        _, masked, _ = reading(reader, argv, capsys)
        assert not any(secret in masked for secret in CLEAR), (argv, masked)
    _, clear, _ = reading(reader, ["--show-secrets", "diff", "t", "c1", "c2", "--json"], capsys)
    assert all(secret in clear for secret in CLEAR)
    assert json.loads(clear)["changes"]


def test_logs_are_escaped_and_masked(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    logs = tmp_path / "state" / "logs"
    logs.mkdir(parents=True)
    (logs / "postgres.log").write_text(f"start {HOSTILE}\nconnect password=pw-9 Bearer abc.def123456\n")
    assert main(["--state-dir", str(tmp_path / "state"), "logs", "postgres"]) == 0
    out = capsys.readouterr().out
    assert not terminal_unsafe(out) and "\\u001b]0;pwned" in out
    assert "pw-9" not in out and "abc.def123456" not in out and "password=***" in out
    assert main(["--state-dir", str(tmp_path / "state"), "--show-secrets", "logs", "postgres"]) == 0
    out = capsys.readouterr().out
    assert "pw-9" in out and not terminal_unsafe(out)  # shown, still escaped


def _live(node: str, update, error: str, question: str, token: str) -> LiveRun:
    live = LiveRun()
    asked = [{"value": {"question": question}, "id": "i"}]
    for event in [RunEvent("metadata", {"run_id": "r"}, (), None, 1.0),
                  RunEvent("tasks", {"id": "a", "name": node, "input": {}, "triggers": []}, (), None, 1.1),
                  RunEvent("updates", {node: {"out": update, "note": token}}, (), None, 1.2),
                  RunEvent("tasks", {"id": "a", "name": node, "error": error, "result": {}, "interrupts": asked}, (),
                           None, 1.3)]:
        live.feed(event)
    return live


@settings(max_examples=60)
@given(node=TEXT, update=VALUE, error=TEXT, question=TEXT, token=TEXT, custom=VALUE)
def test_run_and_watch_print_nothing_a_terminal_acts_on(node, update, error, question, token, custom):
    live = _live(node, update, error, question, token)
    for as_json in (False, True):
        out = io.StringIO()
        printer = StepPrinter(as_json, out, tokens=True)
        printer.event(live, RunEvent("custom", custom, (), None, 1.25))
        printer.event(live, RunEvent("messages", [{"content": token}], (), None, 1.26))
        printer.flush(live, final=True)
        if as_json:
            _terminal_safe_json_lines(out.getvalue())
        else:
            assert not terminal_unsafe(out.getvalue())


def test_run_steps_are_masked_in_text_and_json_unless_show_secrets():
    live = _live("n", SECRETS, "401 for Bearer abc.def123456", "key sk-abcdefghijklmnopqrstuv?", "x")
    for as_json in (False, True):
        out = io.StringIO()
        StepPrinter(as_json, out).flush(live, final=True)
        assert not any(secret in out.getvalue() for secret in CLEAR), out.getvalue()
        assert "sk-abcdefghij" not in out.getvalue()
    show_secrets(True)
    try:
        out = io.StringIO()
        StepPrinter(True, out).flush(live, final=True)
        assert "hunter2-plain" in out.getvalue()
    finally:
        show_secrets(False)


def test_print_json_masks_keys_at_any_depth_and_strings_everywhere():
    out = io.StringIO()
    print_json({"a": [{"deep": (SECRETS,)}], "msg": f"see {SECRETS['db']} {HOSTILE}"}, out)
    text = out.getvalue()
    assert not any(secret in text for secret in CLEAR)
    assert json.loads(text)["a"][0]["deep"][0]["api_key"] == "***"
    assert not terminal_unsafe(text)


def test_a_command_that_prints_a_secret_on_purpose_gets_it_escaped_but_whole(capsys):
    from lgconsole.console.cli.output import print_unmasked, run_with_safe_output

    def command() -> int:
        print("export LANGGRAPH_API_KEY=lgc-abc123")  # any other print is masked
        print_unmasked("export LANGGRAPH_API_KEY=lgc-abc123\x1b[2J")
        return 0

    assert run_with_safe_output(command) == 0
    masked, whole = capsys.readouterr().out.splitlines()
    assert masked == "export LANGGRAPH_API_KEY=***"
    assert whole == "export LANGGRAPH_API_KEY=lgc-abc123\\u001b[2J"
