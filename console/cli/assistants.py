"""`lgconsole assistants [list|show|create|update|versions|activate|delete] … [--json]`: the server's assistants (list
is the default verb), one with its versions, and creating, updating (a new version), activating a version and
deleting one; config and context are checked against the graph's schemas before anything is sent."""

from __future__ import annotations

import argparse
import json
import sys

from lgconsole.console.config import Config
from lgconsole.console.cli.output import print_json

VERBS = ("list", "show", "create", "update", "versions", "activate", "delete")


def add_assistants_command(subparsers) -> argparse.ArgumentParser:
    command = subparsers.add_parser("assistants", help="list, show, create, update, version, activate and delete the "
                                                       "LangGraph server's assistants (default: list)")
    command.add_argument("--json", action="store_true", help="JSON: one object per assistant or version, one a line")
    verbs = command.add_subparsers(dest="verb", metavar="VERB")

    def verb(name: str, help: str) -> argparse.ArgumentParser:
        parser = verbs.add_parser(name, help=help)
        # SUPPRESS: `assistants --json list` and `assistants list --json` both count
        parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON output")
        return parser

    listed = verb("list", "the assistants, per graph (the default)")
    listed.add_argument("--graph", help="only this graph's assistants")
    verb("show", "one assistant: its config, context and versions").add_argument(
        "assistant", help="assistant id, name, or a graph id (its own assistant)")
    create = verb("create", "a new assistant of a graph, with its own config and context")
    create.add_argument("graph", help="the graph id, e.g. report")
    _fields(create, required_name=False)
    update = verb("update", "a new version of an assistant (what is not given is kept), made active")
    update.add_argument("assistant", help="assistant id, name, or a graph id")
    _fields(update, required_name=False)
    verb("versions", "an assistant's versions, newest first").add_argument("assistant")
    activate = verb("activate", "make a version the one runs use")
    activate.add_argument("assistant")
    activate.add_argument("version", type=int)
    delete = verb("delete", "delete an assistant and its versions (asks first; --yes does not)")
    delete.add_argument("assistant")
    delete.add_argument("--yes", action="store_true", help="do not ask")
    return command


def _fields(parser: argparse.ArgumentParser, required_name: bool) -> None:
    parser.add_argument("--name", required=required_name, help="its name (runs can name it)")
    parser.add_argument("--description")
    parser.add_argument("--config", dest="assistant_config", metavar="JSON",
                        help="its run config, e.g. '{\"configurable\": {\"model\": \"x\"}, \"recursion_limit\": 20}'")
    parser.add_argument("--context", dest="assistant_context", metavar="JSON",
                        help="its context (the graph's context schema), a JSON object")


def assistant_row(a) -> dict:
    return {"assistant_id": a.assistant_id, "graph_id": a.graph_id, "name": a.name, "version": a.version,
            "updated_at": a.updated_at, "description": a.description}


def assistant_rows(assistants) -> list[dict]:
    return [assistant_row(a) for a in assistants]


def full_row(a) -> dict:
    """Everything an assistant (or one of its versions) holds, secrets masked (the one masking policy)."""
    from lgconsole.console.model.masking import mask_secrets

    return {**assistant_row(a), "created_at": a.created_at, "config": mask_secrets(a.config),
            "context": mask_secrets(a.context), "metadata": mask_secrets(a.metadata)}


def _table(rows: list[tuple], out) -> None:
    from lgconsole.console.model.sanitise import printable

    rows = [tuple(printable(str(cell)) for cell in row) for row in rows]  # names and configs are anyone's text
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)


def _printable(text: str) -> str:
    from lgconsole.console.model.sanitise import printable

    return printable(text)


def _when(text: str | None) -> str:
    return (text or "")[:19].replace("T", " ")


def _json_lines(rows: list[dict], out) -> None:
    for row in rows:
        print_json(row, out, indent=None)


def cmd_assistants(config: Config, args, out=sys.stdout) -> int:
    """Raises StackError (server down, unknown assistant, refused config); `main` prints it as one line."""
    import asyncio

    from lgconsole.console.sources.assistant_admin import AssistantAdmin
    from lgconsole.console.sources.urls import langgraph_url

    admin = AssistantAdmin(langgraph_url(config))
    verb = getattr(args, "verb", None) or "list"
    return asyncio.run(_VERBS[verb](admin, args, out))


async def _list(admin, args, out) -> int:
    rows = assistant_rows(await admin.assistants(getattr(args, "graph", None)))
    if args.json:
        _json_lines(rows, out)
        return 0
    if not rows:
        print(f"the LangGraph server at {admin.url} serves no assistants", file=out)
        return 0
    _table([("ASSISTANT ID", "GRAPH", "NAME", "VERSION", "UPDATED")]
           + [(r["assistant_id"], r["graph_id"], r["name"], "" if r["version"] is None else str(r["version"]),
               _when(r["updated_at"])) for r in rows], out)
    return 0


def _say(assistant, out, versions=None) -> None:
    from lgconsole.console.model.sanitise import printable

    row = full_row(assistant)
    print(printable(f"assistant {assistant.assistant_id}  {assistant.label()}"), file=out)
    if assistant.description:
        print(printable(f"  description  {assistant.description}"), file=out)
    print(printable(f"  config       {json.dumps(row['config'], default=str)}"), file=out)
    print(printable(f"  context      {json.dumps(row['context'], default=str)}"), file=out)
    if versions:
        print(f"  versions     {', '.join(str(v.version) for v in versions)} (active: {assistant.version})", file=out)


async def _show(admin, args, out) -> int:
    assistant, versions = await admin.versions(args.assistant)
    if args.json:
        print_json({**full_row(assistant), "versions": [v.version for v in versions]}, out, indent=None)
    else:
        _say(assistant, out, versions)
    return 0


def _given(args) -> dict:
    from lgconsole.console.sources.assistant_admin import parse_object

    return {"name": args.name, "description": args.description,
            "config": parse_object(args.assistant_config, "--config"),
            "context": parse_object(args.assistant_context, "--context")}


async def _create(admin, args, out) -> int:
    created = await admin.create(args.graph, **_given(args))
    if args.json:
        print_json(full_row(created), out, indent=None)
    else:
        print(_printable(f"created assistant {created.assistant_id} ({created.name}) of graph {created.graph_id}, "
                         f"version {created.version}; run it with: lgconsole run {created.assistant_id}"), file=out)
    return 0


async def _update(admin, args, out) -> int:
    updated = await admin.update(args.assistant, **_given(args))
    if args.json:
        print_json(full_row(updated), out, indent=None)
    else:
        print(_printable(f"updated assistant {updated.assistant_id} ({updated.name}): version {updated.version} is "
                         "active"), file=out)
    return 0


async def _versions(admin, args, out) -> int:
    assistant, versions = await admin.versions(args.assistant)
    if args.json:
        _json_lines([{**full_row(v), "active": v.version == assistant.version} for v in versions], out)
        return 0
    _table([("VERSION", "", "NAME", "CREATED", "CONFIG", "CONTEXT")]
           + [(str(v.version), "active" if v.version == assistant.version else "", v.name, _when(v.created_at),
               json.dumps(full_row(v)["config"], default=str)[:60],
               json.dumps(full_row(v)["context"], default=str)[:40]) for v in versions],
           out)
    return 0


async def _activate(admin, args, out) -> int:
    active = await admin.activate(args.assistant, args.version)
    if args.json:
        print_json(full_row(active), out, indent=None)
    else:
        print(_printable(f"assistant {active.assistant_id} ({active.name}): version {active.version} is active"),
              file=out)
    return 0


async def _delete(admin, args, out) -> int:
    from lgconsole.stack.errors import StackError

    assistant = await admin.find(args.assistant)
    what = f"assistant {assistant.assistant_id} ({assistant.label()})"
    if not args.yes:
        if not sys.stdin.isatty():
            raise StackError(f"delete {what}: not asked (stdin is not a terminal); add --yes to delete it")
        answer = input(_printable(f"delete {what} and all its versions? [y/N] "))
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing was deleted", file=out)
            return 1
    await admin.delete(assistant)
    if args.json:
        print_json({"event": "deleted", **assistant_row(assistant)}, out, indent=None)
    else:
        print(_printable(f"deleted {what}"), file=out)
    return 0


_VERBS = {"list": _list, "show": _show, "create": _create, "update": _update, "versions": _versions,
          "activate": _activate, "delete": _delete}
