"""A stand-in for `AssistantAdmin` (console/sources/assistant_admin.py) on fixed assistants and versions, for the
Assistants view's snapshots and Pilot tests: it keeps what it is asked to create, update, activate and delete, and
checks config and context with the same function the real one uses, on recorded schemas
(tests/fixtures/assistants/<graph>.schemas.json)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from lgconsole.console.sources.assistant_admin import AssistantRefused, fields_error, pick
from lgconsole.stack.server.assistants import Assistant, AssistantSchemas

SCHEMAS = Path(__file__).parent / "fixtures" / "assistants"
WHEN = "2026-11-24T05:53:12+00:00"


def _assistant(n: int, graph: str, name: str, version: int = 1, system: bool = False, **fields) -> Assistant:
    return Assistant(f"00000000-0000-4000-8000-0000000000{n:02d}", graph, name, version=version, created_at=WHEN,
                     updated_at=WHEN, metadata={"created_by": "system"} if system else {}, **fields)


class FixedAssistants:
    """Two graphs' own assistants and one made from `report` with three versions (the second active)."""

    def __init__(self) -> None:
        tight = _assistant(3, "report", "tight", version=2, config={"recursion_limit": 4}, description="short runs")
        self.current = {a.assistant_id: a for a in (_assistant(1, "demo", "demo", system=True),
                                                    _assistant(2, "report", "report", system=True), tight)}
        self.history = {a.assistant_id: [a] for a in self.current.values()}
        self.history[tight.assistant_id] = [
            replace(tight, version=3, config={"recursion_limit": 8}), tight,
            replace(tight, version=1, config={"recursion_limit": 2}, description=None)]
        self.calls: list[tuple] = []

    async def assistants(self, graph_id: str | None = None) -> list[Assistant]:
        return [a for a in self.current.values() if graph_id in (None, a.graph_id)]

    async def find(self, wanted: str) -> Assistant:
        found = pick(list(self.current.values()), wanted)
        if found is None:
            raise AssistantRefused(f"no assistant {wanted!r}")
        return found

    async def versions(self, wanted: str):
        found = await self.find(wanted)
        return found, list(self.history[found.assistant_id])

    def _check(self, graph: str, config, context) -> None:
        schemas = AssistantSchemas.from_api(json.loads((SCHEMAS / f"{graph}.schemas.json").read_text()))
        error = fields_error(schemas, config, context)
        if error:
            raise AssistantRefused(f"{graph}: {error}; nothing was sent")

    async def create(self, graph_id: str, **fields) -> Assistant:
        self._check(graph_id, fields.get("config"), fields.get("context"))
        self.calls.append(("create", graph_id, fields))
        made = _assistant(10 + len(self.current), graph_id, fields.get("name") or "Untitled",
                          config=fields.get("config") or {}, context=fields.get("context") or {})
        self.current[made.assistant_id] = made
        self.history[made.assistant_id] = [made]
        return made

    async def update(self, wanted: str, **fields) -> Assistant:
        found = await self.find(wanted)
        self._check(found.graph_id, fields.get("config"), fields.get("context"))
        self.calls.append(("update", found.assistant_id, fields))
        newest = max(v.version for v in self.history[found.assistant_id])
        kept = {k: v for k, v in fields.items() if v is not None}
        made = replace(found, version=newest + 1, **kept)
        self.current[found.assistant_id] = made
        self.history[found.assistant_id].insert(0, made)
        return made

    async def activate(self, wanted: str, version: int) -> Assistant:
        found = await self.find(wanted)
        self.calls.append(("activate", found.assistant_id, version))
        chosen = next(v for v in self.history[found.assistant_id] if v.version == version)
        self.current[found.assistant_id] = chosen
        return chosen

    async def delete(self, assistant: Assistant) -> None:
        self.calls.append(("delete", assistant.assistant_id))
        self.current.pop(assistant.assistant_id)
