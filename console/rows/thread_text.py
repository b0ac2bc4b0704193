"""A thread summary as one line of text, for the thread table and `lgconsole threads` alike. Light on purpose: the
CLI imports it without Textual or the checkpoint reader."""

from __future__ import annotations

from typing import Any

from lgconsole.console.model.interrupts import question_text
from lgconsole.console.model.masking import mask_secrets, mask_text
from lgconsole.console.model.sanitise import printable

SUMMARY_DETAIL_CHARS = 60  # `lgconsole threads`' DETAIL column


def cut(text: Any, limit: int) -> str:
    """The text on one line, at most `limit` characters (an ellipsis where it was cut), control characters escaped
    (model/sanitise.py's printable: a node name or error from a user's graph cannot recolour or clear the terminal)."""
    flat = printable(" ".join(str(text).split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def thread_detail(summary: Any, limit: int = SUMMARY_DETAIL_CHARS) -> str:
    """`node: error` of an errored thread, `node: question` of a waiting one, on one line, secrets masked; "" for
    the rest. `summary`: the checkpoint reader's ThreadSummary."""
    if summary.status.value == "errored":
        return cut(mask_text(f"{summary.status_node or '?'}: {summary.error or ''}"), limit)
    if summary.status.value == "waiting":
        question = question_text(mask_secrets(summary.interrupts)) if summary.interrupts else \
            "paused before it (a static breakpoint or a stopped step: resumes with no input)"
        return cut(f"{summary.status_node or '?'}: {question}", limit)
    if summary.status.value == "unknown":
        return cut(f"{summary.status_node or '?'}: due, just saved (a step starting, or paused)", limit)
    return ""


def last_node(summary: Any) -> str:
    """The LAST NODE of the thread table and `lgconsole threads` alike: the node that failed, waits, runs or is due
    when there is one, else the node(s) that wrote the latest checkpoint (its source for a checkpoint no node
    wrote: input, update)."""
    return summary.status_node or ", ".join(summary.latest_nodes) or (summary.latest_source or "-")
