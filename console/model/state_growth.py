"""A thread's state size over its checkpoints: bytes and message count per checkpoint, the largest keys, the keys
that grew, and whether it keeps growing (the "state explosion" triage names).

Plain Python over size records (anything with `checkpoint_id`, `bytes_by_key` and `items_by_key`, such as the
stack's `CheckpointSize`), oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

MESSAGES = "messages"


@dataclass(frozen=True)
class GrowthRule:
    min_checkpoints: int = 8  # a shorter history says nothing about a trend
    min_head_bytes: int = 1024 * 1024  # small states are not worth a warning, whatever their trend
    min_rising: float = 0.7  # share of consecutive checkpoints at which the size went up
    min_factor: float = 2.0  # the newest size against the oldest in the window


@dataclass
class StateGrowth:
    thread_id: str
    checkpoint_ids: list[str]
    totals: list[int]  # bytes per checkpoint, oldest first
    messages: list[int | None]  # message count per checkpoint (None: no message list)
    head_keys: dict[str, int]  # bytes per key at the newest checkpoint
    first_keys: dict[str, int]  # bytes per key at the oldest checkpoint of the window

    @property
    def head_bytes(self) -> int:
        return self.totals[-1] if self.totals else 0

    def largest_keys(self, n: int = 5) -> list[tuple[str, int]]:
        return sorted(self.head_keys.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    def growing_keys(self, n: int = 3) -> list[tuple[str, int]]:
        """Keys by how many bytes they gained over the window, most first (only those that gained)."""
        grown = {k: v - self.first_keys.get(k, 0) for k, v in self.head_keys.items()}
        return sorted(((k, d) for k, d in grown.items() if d > 0), key=lambda kv: (-kv[1], kv[0]))[:n]

    def rising_share(self) -> float:
        pairs = list(zip(self.totals, self.totals[1:]))
        return sum(b > a for a, b in pairs) / len(pairs) if pairs else 0.0

    def keeps_growing(self, rule: GrowthRule | None = None) -> bool:
        rule = rule or GrowthRule()
        if len(self.totals) < rule.min_checkpoints or self.head_bytes < rule.min_head_bytes:
            return False
        first = max(self.totals[0], 1)
        return self.rising_share() >= rule.min_rising and self.head_bytes >= rule.min_factor * first

    def to_json(self) -> dict:
        return {"thread_id": self.thread_id, "checkpoints": len(self.totals), "head_bytes": self.head_bytes,
                "bytes": list(self.totals), "messages": list(self.messages),
                "largest_keys": [{"key": k, "bytes": b} for k, b in self.largest_keys()],
                "growing_keys": [{"key": k, "gained_bytes": b} for k, b in self.growing_keys()],
                "keeps_growing": self.keeps_growing()}


def state_growth(thread_id: str, sizes: Sequence[Any]) -> StateGrowth:
    """The growth of one thread's state from its size records, oldest first."""
    return StateGrowth(
        thread_id,
        [s.checkpoint_id for s in sizes],
        [sum(s.bytes_by_key.values()) for s in sizes],
        [s.items_by_key.get(MESSAGES) for s in sizes],
        dict(sizes[-1].bytes_by_key) if sizes else {},
        dict(sizes[0].bytes_by_key) if sizes else {},
    )
