"""The pure checks behind fork, replay, resume and copy (no services): a fork edit checked against the graph's state
schema, only the changed keys sent, `--set KEY=JSON` parsed, and the time-travel commands' arguments."""

from __future__ import annotations

import argparse
import json

import pytest

from lgconsole.console.cli.exit_codes import UsageError
from lgconsole.console.cli.threads import add_thread_commands, parse_sets
from lgconsole.console.rows.threads import EditError, fork_update
from lgconsole.stack.server.time_travel import UpdateRejected, check_update


SCHEMA = {"type": "object", "properties": {
    "task": {"type": "string"}, "delay": {"type": "number"}, "results": {"type": "object"},
    "approved": {"anyOf": [{"type": "boolean"}, {"type": "null"}]}, "messages": {"type": "array"},
    "review": {"additionalProperties": True, "type": "object"}, "custom": {"$ref": "#/$defs/X"}}}


def test_check_update_names_unknown_keys_and_wrong_types():
    assert check_update({"task": "x", "delay": 2, "approved": None, "custom": [1]}, SCHEMA) == []
    assert check_update({"delay": 0.5, "approved": True}, SCHEMA) == []
    assert check_update({"tsak": "x"}, SCHEMA) == [
        "unknown state key 'tsak': the graph's state has approved, custom, delay, messages, results, review, task"]
    assert check_update({"results": "text"}, SCHEMA) == ["state key 'results' must be object, not string"]
    assert check_update({"approved": "yes"}, SCHEMA) == ["state key 'approved' must be boolean or null, not string"]
    assert check_update(["task"], SCHEMA)[0].startswith("the state edit must be a JSON object")
    assert check_update({"anything": 1}, None) == []  # no schema from the server: the server decides


def test_fork_update_sends_only_the_changed_keys():
    original = {"task": "a", "results": {"coder": "x"}, "messages": [{"id": "m1", "type": "human", "content": "a"}]}
    text = json.dumps({**original, "task": "b"})
    assert fork_update(original, text) == {"task": "b"}
    assert fork_update(original, json.dumps({**original, "fail_at": None})) == {"fail_at": None}
    assert fork_update(original, json.dumps(original)) == {}
    with pytest.raises(EditError, match=r"not valid JSON: Expecting .* \(line 1, column \d+\); nothing was sent"):
        fork_update(original, '{"task": b}')
    with pytest.raises(EditError, match="key 'results' was removed"):
        fork_update(original, json.dumps({"task": "a", "messages": original["messages"]}))
    with pytest.raises(EditError, match="must be a JSON object"):
        fork_update(original, "[1, 2]")


def test_parse_sets_reads_key_json_pairs_and_refuses_malformed_json():
    assert parse_sets(['task="new task"', "delay=0.5", 'results={"coder": "x"}', "approved=null"]) == {
        "task": "new task", "delay": 0.5, "results": {"coder": "x"}, "approved": None}
    with pytest.raises(UsageError, match=r"--set task is not valid JSON: .*quote text as JSON.*nothing was sent") \
            as exc:
        parse_sets(["task=new task"])
    assert "\n" not in str(exc.value)
    with pytest.raises(UsageError, match="expected KEY=JSON"):
        parse_sets(["task"])


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lgconsole")
    add_thread_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_parser_adds_the_time_travel_commands():
    args = parse("fork", "T", "--checkpoint", "C", "--set", 'task="x"', "--set", "delay=1", "--as-node", "supervisor")
    assert (args.command, args.thread, args.checkpoint, args.sets, args.as_node) == (
        "fork", "T", "C", ['task="x"', "delay=1"], "supervisor")
    assert parse("replay", "T", "--checkpoint", "C", "--json").json
    assert parse("resume", "T", "true").value == "true"
    assert parse("copy", "T").thread == "T"
    with pytest.raises(SystemExit):
        parse("replay", "T")  # --checkpoint is required
