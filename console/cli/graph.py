"""`lgconsole graph [ASSISTANT] [--xray] [--json]`: an assistant's topology drawn as text, or its JSON."""

from __future__ import annotations

import argparse
import asyncio
import sys

from lgconsole.console.config import Config


def add_graph_command(subparsers) -> argparse.ArgumentParser:
    graph = subparsers.add_parser("graph", help="draw an assistant's graph (boxes and arrows), or print its topology")
    graph.add_argument("assistant", nargs="?",
                       help="assistant id, graph id or name (default: the first assistant, by graph id)")
    graph.add_argument("--xray", action="store_true", help="expand subgraphs into their nodes (parent:child)")
    graph.add_argument("--json", action="store_true", help="print the topology as the server returns it (its nodes "
                       "include the __start__/__end__ markers that the text's node count leaves out)")
    return graph


def cmd_graph(config: Config, args, out=None) -> int:
    """Raises StackError (server down, unknown assistant, timeout); `main` prints it as one line."""
    out = out or sys.stdout
    from lgconsole.stack.server.assistants import AssistantNotFound, get_graph, list_assistants

    from lgconsole.console.sources.urls import langgraph_url

    url = langgraph_url(config)

    async def fetch():
        assistants = await list_assistants(url)
        wanted = args.assistant
        if wanted:
            # an id, graph id or name the list knows; else ask the server (assistants past the listed ones)
            found = next((a for a in assistants if wanted in (a.assistant_id, a.graph_id, a.name)), None)
            assistant_id = found.assistant_id if found else wanted
        elif assistants:
            found, assistant_id = assistants[0], assistants[0].assistant_id
        else:
            raise AssistantNotFound(f"the LangGraph server at {url} serves no graph")
        return found, await get_graph(url, assistant_id, xray=args.xray)

    assistant, topology = asyncio.run(fetch())
    if args.json:
        from lgconsole.console.cli.output import print_json

        print_json(topology, out)
        return 0
    print(graph_text(assistant.graph_id if assistant else args.assistant, topology, args.xray, url), file=out)
    return 0


def graph_text(name: str, topology: dict, xray: bool, url: str) -> str:
    """The header (`demo: 8 nodes, 11 edges (3 conditional) · URL`: nodes without START/END, as the Graph screen
    counts them) and the drawing."""
    from lgconsole.console.model.graph_layout import Topology, draw_graph

    topo = Topology.from_json(topology)
    conditional = sum(e.conditional for e in topo.edges)
    return (f"{name}: {len(topo.real_nodes)} nodes, {len(topo.edges)} edges ({conditional} conditional)"
            f"{', subgraphs expanded' if xray else ''} · {url}\n{draw_graph(topo).text()}")
