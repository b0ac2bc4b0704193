"""`__repr__` and `__eq__` exactly as `@dataclass` writes them, written once for many dataclasses: the config's
sections are built by every cold command, and @dataclass generates each method with an exec (~0.05 ms apiece, ~1.5 ms
for console/config.py's ten classes). A class takes them with `@dataclass(repr=False, eq=False)` and this base."""

from __future__ import annotations

from dataclasses import fields


class DataclassMethods:
    """Base of a `@dataclass(repr=False, eq=False)`: repr `Name(field=value, ...)` of the fields with repr=True, equality
    of the same class's fields with compare=True, compared as one tuple; unhashable, as a dataclass with eq is."""

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return f"{type(self).__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        names = [f.name for f in fields(self) if f.compare]
        return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)

    __hash__ = None  # (defining __eq__ already sets it; said here for the reader)
