"""Values a checkpoint may hold that must never run code when the console reads them: a msgpack extension naming a
class, and a pickle that touches a file when unpickled. The importable module that marks its own import is the
`side_effect_module` fixture in conftest.py."""

from __future__ import annotations

from pathlib import Path

import ormsgpack


def ext(code: int, module: str, name: str, payload) -> ormsgpack.Ext:
    """langgraph's msgpack extension for an instance of module.name built from payload."""
    return ormsgpack.Ext(code, ormsgpack.packb((module, name, payload)))


class TouchOnLoad:
    """Unpickling it creates the file at `path`: proof of whether something unpickled it."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path(self.path).touch, ())
