"""`threads`, `history` and `diff`, called as the CLI will call them (argparse Namespace in, text or JSON out)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import uuid

import pytest

from lgconsole.console.cli.threads import add_thread_commands, cmd_diff, cmd_history, cmd_threads, postgres_url
from lgconsole.stack.checkpoints.records import CheckpointDbUnreachable, UnknownCheckpoint, UnknownThread
from lgconsole.stack.errors import StackError
from lgconsole.stack.services.ports import free_port
from lgconsole.stack.services.supervisor import StackSpec, build_services
from stackutil import make_config, new_state_dir, remove_state_dir

pytestmark = pytest.mark.integration


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lgconsole")
    add_thread_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def demo_threads(live_stack):
    """One waiting, one errored, one approved thread, made through the server."""
    from lgconsole.stack.server.credentials import sdk_sync_client

    lg_url = build_services(StackSpec.load(live_stack.state_path))["langgraph"].url()
    client = sdk_sync_client(url=lg_url, timeout=120)
    batch = uuid.uuid4().hex[:8]
    ids = {}
    try:
        for label, payload, answer in [
            ("waiting", {"task": "cli waits", "delay": 0}, None),
            ("errored", {"task": "cli fails", "fail_at": "coder", "delay": 0}, None),
            ("done", {"task": "cli done", "delay": 0}, {"approved": True, "note": "ok"}),
        ]:
            tid = client.threads.create(metadata={"lgc_cli": batch, "graph_id": "demo"})["thread_id"]
            client.runs.wait(tid, "demo", input=payload, raise_error=False)
            if answer is not None:
                client.runs.wait(tid, "demo", command={"resume": answer}, raise_error=False)
            ids[label] = tid
    finally:
        client.close()
    return ids


def test_parser_adds_the_three_commands():
    args = parse("threads", "--status", "errored", "--limit", "5", "--json")
    assert (args.command, args.status, args.limit, args.json) == ("threads", "errored", 5, True)
    args = parse("history", "T1")
    assert (args.command, args.thread, args.json) == ("history", "T1", False)
    args = parse("diff", "T1", "A", "B", "--json")
    assert (args.thread, args.checkpoint_a, args.checkpoint_b, args.json) == ("T1", "A", "B", True)
    with pytest.raises(SystemExit):
        parse("threads", "--status", "busy")
    with pytest.raises(SystemExit):
        parse("threads", "--limit", "0")


def test_threads_lists_statuses_as_a_table(live_stack, demo_threads, capsys):
    assert cmd_threads(live_stack, parse("threads", "--limit", "200")) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines()[1:-1]}
    assert out.splitlines()[0].split()[:2] == ["THREAD", "STATUS"]
    assert "waiting" in lines[demo_threads["waiting"]] and "approval: Approve the team's result" in \
        lines[demo_threads["waiting"]]
    assert "errored" in lines[demo_threads["errored"]]
    assert "coder: RuntimeError('demo failure requested at coder')" in lines[demo_threads["errored"]]
    assert "idle" in lines[demo_threads["done"]] and "finalize" in lines[demo_threads["done"]]
    assert "threads (read from Postgres)" in out.splitlines()[-1]


def test_threads_status_filter_and_json(live_stack, demo_threads, capsys):
    assert cmd_threads(live_stack, parse("threads", "--status", "errored", "--limit", "200", "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == {"version": 9, "status": "current"}
    assert {t["status"] for t in data["threads"]} == {"errored"}
    mine = [t for t in data["threads"] if t["thread_id"] == demo_threads["errored"]]
    assert mine[0]["status_node"] == "coder" and mine[0]["latest_nodes"] == ["supervisor"]
    assert data["total"] >= 1
    assert cmd_threads(live_stack, parse("threads", "--search", demo_threads["waiting"], "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["thread_id"] for t in data["threads"]] == [demo_threads["waiting"]] and data["total"] == 1
    assert data["threads"][0]["interrupts"][0]["value"]["question"].startswith("Approve")


def test_threads_totals_agree_whether_counted_or_read_off_the_page(live_stack, demo_threads, capsys):
    """The total is counted (a scan) only when the page may not hold the rest: every way of paging says the same."""
    assert cmd_threads(live_stack, parse("threads", "--limit", "1000", "--json")) == 0
    everything = json.loads(capsys.readouterr().out)
    total = everything["total"]
    assert total == len(everything["threads"]) >= 3
    for args in (("--limit", "1"), ("--limit", "2", "--offset", "1"), ("--offset", str(total + 5)),
                 ("--limit", str(total)), ("--offset", str(total - 1))):
        assert cmd_threads(live_stack, parse("threads", *args, "--json")) == 0
        assert json.loads(capsys.readouterr().out)["total"] == total, args
        assert cmd_threads(live_stack, parse("threads", *args)) == 0
        assert capsys.readouterr().out.splitlines()[-1].endswith(f"of {total} threads (read from Postgres)"), args


def test_history_prints_the_tree(live_stack, demo_threads, capsys):
    assert cmd_history(live_stack, parse("history", demo_threads["done"])) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("● ") and "step -1  input" in lines[0]
    assert any(line.startswith("┊ ● ") and "[review:" in line for line in lines)
    assert "finalize  (head)" in lines[-2]
    assert lines[-1].endswith("1 head(s), 0 fork(s)") and "1 subgraph call(s)" in lines[-1]


def test_history_json(live_stack, demo_threads, capsys):
    assert cmd_history(live_stack, parse("history", demo_threads["waiting"], "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    checkpoints = data["checkpoints"]
    assert data["thread_id"] == demo_threads["waiting"]
    assert checkpoints[0]["parent_checkpoint_id"] is None and checkpoints[0]["source"] == "input"
    assert any(c["checkpoint_ns"].startswith("review:") for c in checkpoints)
    root = [c for c in checkpoints if not c["checkpoint_ns"]]
    assert data["tree"]["heads"] == [root[-1]["checkpoint_id"]]
    assert root[-1]["interrupted"] and root[-1]["interrupt_node"] == "approval"


def test_diff_between_two_checkpoints(live_stack, demo_threads, capsys):
    cmd_history(live_stack, parse("history", demo_threads["done"], "--json", "--no-subgraphs"))
    root = json.loads(capsys.readouterr().out)["checkpoints"]
    step1, step2, head = root[2], root[3], root[-1]
    assert (step1["step"], step2["step"]) == (1, 2)
    assert cmd_diff(live_stack, parse("diff", demo_threads["done"], step1["checkpoint_id"],
                                      step2["checkpoint_id"][:30])) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"--- {step1['checkpoint_id']}  step 1" and out[1] == f"+++ {step2['checkpoint_id']}  step 2"
    # `results` is a dict reducer whose empty value {} the served graph describes: each worker's entry is added
    assert any(line.startswith("+ results.coder = ") for line in out), out
    assert any(line.startswith("+ messages: appended ai (coder): ") for line in out)
    assert cmd_diff(live_stack, parse("diff", demo_threads["done"], step2["checkpoint_id"], head["checkpoint_id"],
                                      "--json")) == 0
    data = json.loads(capsys.readouterr().out)
    changes = {c["path"]: c for c in data["changes"]}
    assert changes["approved"]["new"] is True and changes["outcome"]["new"] == "approved"
    assert changes["approval_note"]["new"] == "ok"
    assert [m["kind"] for m in data["messages"][0]["changes"]][-1] == "appended"
    assert cmd_diff(live_stack, parse("diff", demo_threads["done"], head["checkpoint_id"], head["checkpoint_id"])) == 0
    assert "(no differences in the state)" in capsys.readouterr().out


def test_unknown_thread_and_checkpoint_raise_one_line_errors(live_stack, demo_threads):
    with pytest.raises(UnknownThread, match="unknown thread 'no-such-thread'"):
        cmd_history(live_stack, parse("history", "no-such-thread"))
    with pytest.raises(UnknownCheckpoint, match="unknown checkpoint 'abc'"):
        cmd_diff(live_stack, parse("diff", demo_threads["done"], "abc", "def"))
    with pytest.raises(UnknownCheckpoint, match="matches several"):
        cmd_diff(live_stack, parse("diff", demo_threads["done"], "1", "1"))


def test_a_stack_never_brought_up_is_said_in_one_line(capsys):
    state_dir = new_state_dir()
    try:
        config = make_config(state_dir)
        with pytest.raises(StackError, match="it was never brought up") as exc:
            cmd_threads(config, parse("threads"))
        assert "\n" not in str(exc.value) and str(state_dir) in str(exc.value)
    finally:
        remove_state_dir(state_dir)


def test_a_managed_postgres_that_is_down_says_to_check_the_stack(live_stack):
    state_dir = new_state_dir()
    try:
        spec = json.loads(live_stack.paths.spec_file.read_text())
        spec["state_dir"] = str(state_dir)
        spec["services"]["postgres"]["port"] = free_port()
        (state_dir / "spec.json").write_text(json.dumps(spec))
        (state_dir / "secrets.json").write_text(live_stack.paths.secrets_file.read_text())
        with pytest.raises(CheckpointDbUnreachable) as exc:
            cmd_threads(make_config(state_dir), parse("threads"))
        message = str(exc.value)
        assert message.startswith("cannot connect to Postgres at postgresql://lgconsole:***@127.0.0.1:")
        assert message.endswith("(is the stack up? see `lgconsole status`)") and "\n" not in message
    finally:
        remove_state_dir(state_dir)


def test_an_external_postgres_url_is_used_and_its_password_never_shown(live_stack):
    real = build_services(StackSpec.load(live_stack.state_path))["postgres"].url()
    external = dataclasses.replace(live_stack, postgres=dataclasses.replace(live_stack.postgres, url=real))
    assert postgres_url(external) == real
    wrong = real.split("//", 1)[0] + "//lgconsole:sw0rdfish-secret@" + real.rsplit("@", 1)[1]
    broken = dataclasses.replace(live_stack, postgres=dataclasses.replace(live_stack.postgres, url=wrong))
    with pytest.raises(CheckpointDbUnreachable) as exc:
        cmd_threads(broken, parse("threads"))
    assert "sw0rdfish" not in str(exc.value) and "lgconsole:***@" in str(exc.value)


# --- a user's graph, not the demo ------------------------------------------------------------------------------------

ESC, CSI8, RLO = "\x1b", "\x9b", "\u202e"  # a colour/clear-screen escape, the 8-bit CSI, a right-to-left override
DECIDE = f"decide_{ESC}[1mnode"  # a node name as a user may write one (LangGraph takes any string)


@pytest.fixture(scope="module")
def foreign_threads(live_stack):
    """A small graph written the way users write them, checkpointed straight into the stack's Postgres by LangGraph's
    own saver: messages under `conversation`, a pydantic-like dict, a 300-key value, text with control characters;
    no `task`, no `messages`. Threads: done, errored (a 3,000-character error), waiting (an interrupt without a
    `question`). Ids are any strings, here with escapes in them."""
    import operator
    from typing import Annotated, TypedDict

    from langchain_core.messages import AIMessage, HumanMessage
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.graph import END, START, StateGraph
    from langgraph.graph.message import add_messages
    from langgraph.types import interrupt

    State = TypedDict("State", {"conversation": Annotated[list, add_messages], "profile": dict, "blob": dict,
                                "note": str, "mode": str, "seen": Annotated[list, operator.add]}, total=False)

    def intake(state):
        return {"conversation": [AIMessage(f"hello {ESC}[31mred{ESC}[0m [bold]not markup[/bold]\nsecond line")],
                "profile": {"model_config": {"frozen": True}, "name": "Ada", "tags": ["a", "b"]},
                "blob": {f"k{i}": "v" * 50 for i in range(300)}, "note": f"tab\there{CSI8}2J {RLO}txt", "seen": [1]}

    def decide(state):
        if state["mode"] == "fail":
            raise ValueError(f"bad {ESC}[2J clear\n[red]not markup[/red] " + "x" * 3000)
        if state["mode"] == "ask":
            return {"note": str(interrupt({"prompt": f"pick {ESC}[31mone {RLO}", "options": list(range(200))}))}
        return {"note": "done"}

    builder = StateGraph(State)
    builder.add_node("intake", intake)
    builder.add_node(DECIDE, decide)
    builder.add_edge(START, "intake")
    builder.add_edge("intake", DECIDE)
    builder.add_edge(DECIDE, END)
    batch = uuid.uuid4().hex[:8]
    ids = {mode: f"user-{mode}-{ESC}[31m{RLO}{batch}" for mode in ("done", "fail", "ask")}
    url = build_services(StackSpec.load(live_stack.state_path))["postgres"].url()
    with PostgresSaver.from_conn_string(url) as saver:
        graph = builder.compile(checkpointer=saver)
        for mode, tid in ids.items():
            config = {"configurable": {"thread_id": tid}}
            try:
                graph.invoke({"mode": mode, "conversation": [HumanMessage("hi")]}, config)
            except ValueError:
                assert mode == "fail"
        history = {mode: [c.config["configurable"]["checkpoint_id"] for c in saver.list({"configurable": {
            "thread_id": tid, "checkpoint_ns": ""}})][::-1] for mode, tid in ids.items()}  # LangGraph's own reading
    return ids, batch, history


def _safe_on_a_terminal(text: str) -> bool:
    return not any(ch in text for ch in (ESC, CSI8, RLO, "\x07"))


def test_threads_of_a_users_graph_one_escaped_line_each(live_stack, foreign_threads, capsys):
    ids, batch, _ = foreign_threads
    assert cmd_threads(live_stack, parse("threads", "--search", batch)) == 0
    out = capsys.readouterr().out
    assert _safe_on_a_terminal(out)
    header, *rows, total = out.splitlines()
    assert len(rows) == 3 and total.startswith("1-3 of 3 threads")
    by_status = {row.split()[1]: row for row in rows}
    assert set(by_status) == {"idle", "errored", "waiting"}
    shown = "user-{}-\\u001b[31m\\u202e" + batch  # the whole id, escaped: pasted into $'...' it is the id again
    assert by_status["idle"].startswith(shown.format("done")) and by_status["errored"].startswith(shown.format("fail"))
    for row in rows:  # columns aligned under the header, the DETAIL cut
        assert row.index(row.split()[1]) == header.index("STATUS")
        assert len(row) <= header.index("DETAIL") + 60
    assert "decide_\\u001b[1…" in by_status["idle"]
    errored = by_status["errored"][header.index("DETAIL"):]
    assert errored.startswith("decide_\\u001b[1mnode: ValueError('bad \\x1b[2J clear") and errored.endswith("…")
    waiting = by_status["waiting"][header.index("DETAIL"):]
    assert waiting.startswith('decide_\\u001b[1mnode: {"prompt": "pick \\u001b[31mone') and waiting.endswith("…")


def test_threads_json_of_a_users_graph_is_whole_and_escaped(live_stack, foreign_threads, capsys):
    ids, batch, history = foreign_threads
    assert cmd_threads(live_stack, parse("threads", "--search", batch, "--json")) == 0
    out = capsys.readouterr().out
    assert _safe_on_a_terminal(out)
    threads = {t["thread_id"]: t for t in json.loads(out)["threads"]}
    assert set(threads) == set(ids.values())
    waiting = threads[ids["ask"]]
    assert waiting["status"] == "waiting" and waiting["status_node"] == DECIDE
    assert waiting["interrupts"][0]["value"] == {"prompt": f"pick {ESC}[31mone {RLO}", "options": list(range(200))}
    assert threads[ids["fail"]]["error"].startswith("ValueError('bad \\x1b[2J clear")  # LangGraph saves the repr
    assert len(threads[ids["fail"]]["error"]) > 3000, "JSON carries the whole error"
    assert threads[ids["done"]]["checkpoint_count"] == len(history["done"])


def test_history_and_diff_of_a_users_graph(live_stack, foreign_threads, capsys):
    ids, _, history = foreign_threads
    assert cmd_history(live_stack, parse("history", ids["fail"])) == 0
    out = capsys.readouterr().out
    assert _safe_on_a_terminal(out)
    lines = out.splitlines()
    assert [line.split()[1] for line in lines[:-1]] == history["fail"], "LangGraph's own list, oldest first"
    assert "✗ decide_\\u001b[1mnode: ValueError('bad \\x1b[2J clear" in lines[-2] and lines[-2].endswith("…  (head)")
    assert len(lines[-2]) < 300
    assert cmd_history(live_stack, parse("history", ids["ask"], "--json")) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert _safe_on_a_terminal(out) and data["thread_id"] == ids["ask"]
    assert [c["checkpoint_id"] for c in data["checkpoints"]] == history["ask"]
    assert data["checkpoints"][-1]["interrupted"] and data["checkpoints"][-1]["interrupt_node"] == DECIDE

    first, head = history["done"][0], history["done"][-1]
    assert cmd_diff(live_stack, parse("diff", ids["done"], first, head)) == 0
    out = capsys.readouterr().out
    assert _safe_on_a_terminal(out)
    changes = out.splitlines()[2:]
    assert all(len(line) < 400 for line in changes), "a 300-key value is one cut line"
    assert any(line.startswith("+ blob = {'k0': ") for line in changes)
    assert any(line.startswith("+ conversation: appended ai: 'hello \\x1b[31mred") for line in changes)
    assert any(line.startswith("+ profile = {") and "'name': 'Ada'" in line for line in changes)
