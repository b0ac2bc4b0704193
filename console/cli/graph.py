"""`lgconsole graph [ASSISTANT] [--xray] [--json]`: an assistant's topology drawn as text, or its JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from lgconsole.console.config import Config


def add_graph_command(subparsers) -> argparse.ArgumentParser:
    graph = subparsers.add_parser("graph", help="draw an assistant's graph (boxes and arrows), or print its topology")
    graph.add_argument("assistant", nargs="?",
                       help="assistant id, graph id or name (default: the first assistant, by graph id)")
    graph.add_argument("--xray", action="store_true", help="expand subgraphs into their nodes (parent:child)")
    graph.add_argument("--json", action="store_true", help="print the topology as the server returns it")
    return graph


def cmd_graph(config: Config, args, out=sys.stdout) -> int:
    """Raises StackError (server down, unknown assistant, timeout); `main` prints it as one line."""
    from lgconsole.stack.server.assistants import AssistantNotFound, get_graph, list_assistants

    from lgconsole.console.model.graph_layout import END, START, Topology, draw_graph
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
        print(json.dumps(topology, indent=2), file=out)
        return 0
    topo = Topology.from_json(topology)
    name = assistant.graph_id if assistant else args.assistant
    nodes = sum(n not in (START, END) for n in topo.nodes)
    conditional = sum(e.conditional for e in topo.edges)
    print(f"{name}: {nodes} nodes, {len(topo.edges)} edges ({conditional} conditional)"
          f"{', subgraphs expanded' if args.xray else ''} · {url}", file=out)
    print(draw_graph(topo).text(), file=out)
    return 0
