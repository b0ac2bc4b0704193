"""`lgconsole assistants [--json]`: the assistants the LangGraph server serves (id, graph, name, version, updated)."""

from __future__ import annotations

import argparse
import sys

from lgconsole.console.config import Config


def add_assistants_command(subparsers) -> argparse.ArgumentParser:
    command = subparsers.add_parser("assistants", help="list the assistants (graphs) the LangGraph server serves")
    command.add_argument("--json", action="store_true", help="one JSON object per assistant, one a line")
    return command


def assistant_rows(assistants) -> list[dict]:
    return [{"assistant_id": a.assistant_id, "graph_id": a.graph_id, "name": a.name, "version": a.version,
             "updated_at": a.updated_at, "description": a.description} for a in assistants]


def cmd_assistants(config: Config, args, out=sys.stdout) -> int:
    """Raises StackError (server down, timeout); `main` prints it as one line."""
    import asyncio

    from lgconsole.stack.server.assistants import list_assistants

    from lgconsole.console.sources.urls import langgraph_url

    from lgconsole.console.cli.output import print_json

    url = langgraph_url(config)
    rows = assistant_rows(asyncio.run(list_assistants(url)))
    if args.json:
        for row in rows:
            print_json(row, out, indent=None)
        return 0
    if not rows:
        print(f"the LangGraph server at {url} serves no assistants", file=out)
        return 0
    header = ("ASSISTANT ID", "GRAPH", "NAME", "VERSION", "UPDATED")
    table = [header] + [(r["assistant_id"], r["graph_id"], r["name"], "" if r["version"] is None else str(r["version"]),
                         (r["updated_at"] or "")[:19].replace("T", " ")) for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)
    return 0
