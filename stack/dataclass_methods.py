"""`__repr__`, `__eq__` (and for frozen ones `__hash__`) exactly as `@dataclass` writes them, written once for many
dataclasses: @dataclass generates each method with an exec (~0.05-0.15 ms apiece), and every cold command defines
the config's ten classes, the checkpoint records and the services' records. A class takes them with
`@dataclass(repr=False, eq=False)` and DataclassMethods, or `@dataclass(frozen=True, repr=False, eq=False)` and
FrozenDataclassMethods. The shared methods walk `fields()` on each call: for classes compared rarely, not in hot
loops."""

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


class FrozenDataclassMethods(DataclassMethods):
    """Base of a `@dataclass(frozen=True, repr=False, eq=False)`: DataclassMethods, and hashable as a frozen dataclass
    with eq is: the hash of its compared fields, as one tuple."""

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, f.name) for f in fields(self) if f.compare and f.hash is not False))
