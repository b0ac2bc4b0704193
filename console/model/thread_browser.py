"""What the Threads screen is looking at, as plain state: the list's filters and sort, the page of threads it shows,
the thread and checkpoint selected, which checkpoints our last write added, and the run a time-travel action started.

Records (thread summaries, checkpoint nodes and states) are held as the reader made them; nothing here reads them
beyond their ids, so the screen's decisions (what to select, what is new, what to read again) are tested without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lgconsole.console.model.checkpoint_tree import CheckpointTree

SORTS = ("last_activity", "checkpoint_count", "step", "status", "thread_id")
SORT_TITLES = {"last_activity": "last activity", "checkpoint_count": "checkpoints", "step": "step",
               "status": "status", "thread_id": "thread id"}
LATEST = "latest"  # a pending selection: the thread's head, whichever it is once read


def checkpoint_key(checkpoint_id: str, ns: str = "") -> str:
    """The tree's key of a checkpoint: its id, `@namespace` for a subgraph's."""
    return f"{checkpoint_id}@{ns}" if ns else checkpoint_id


def split_key(key: str) -> tuple[str, str]:
    """(checkpoint id, namespace) of a tree key."""
    cid, _, ns = key.partition("@")
    return cid, ns


def latest_checkpoint(nodes: list[Any]) -> str | None:
    """The thread's current head: its newest root-graph checkpoint (what a plain run continues from)."""
    root = [n.checkpoint_id for n in nodes if not n.checkpoint_ns]
    return max(root) if root else None


@dataclass
class ListQuery:
    """What the thread table lists: a status ("" for all), the filter text (words in the thread id, `KEY=VALUE`
    metadata: model/thread_filter.py), a sort, and where the page starts (back to the first page when any of the
    others changes)."""

    status: str = ""
    text: str = ""
    sort_key: str = "last_activity"
    descending: bool = True
    offset: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        """(status, text, sort) as the source takes them; a `-` before the sort for newest/most first."""
        return self.status, self.text, ("-" if self.descending else "") + self.sort_key

    @property
    def sort_title(self) -> str:
        return f"{SORT_TITLES[self.sort_key]} {'↓' if self.descending else '↑'}"

    def toggle_status(self, status: str) -> None:
        """The same status key twice lists all threads again."""
        self.status = "" if status == self.status else status
        self.offset = 0

    def set_text(self, text: str) -> None:
        self.text, self.offset = text, 0

    def next_sort(self) -> None:
        self.sort_key = SORTS[(SORTS.index(self.sort_key) + 1) % len(SORTS)]
        self.descending = self.sort_key != "thread_id"
        self.offset = 0

    def reverse(self) -> None:
        self.descending = not self.descending
        self.offset = 0

    def next_page(self, shown: int, page_size: int, total: int | None) -> bool:
        """Move to the page after the `shown` rows; False (staying) when this page is the last."""
        if shown < page_size or (total is not None and self.offset + shown >= total):
            return False
        self.offset += shown
        return True

    def previous_page(self, page_size: int) -> bool:
        if self.offset == 0:
            return False
        self.offset = max(0, self.offset - page_size)
        return True


@dataclass
class ThreadFocus:
    """The selected thread, its checkpoints, the selected checkpoint and its state; and what a write of ours is
    expected to add (`before`: the keys that existed before it, `pending`: where the cursor goes once it is read)."""

    thread_id: str | None = None
    nodes: list[Any] | None = None
    tree: CheckpointTree | None = None
    checkpoint: str | None = None  # the selected tree key
    state: Any = None  # the selected checkpoint's CheckpointState, once read
    pending: str | None = None  # a tree key, or LATEST
    pending_thread: str | None = None  # a thread (a copy's) to put the table's cursor on once listed
    before: set[str] | None = None
    new: set[str] = field(default_factory=set)

    def open(self, thread_id: str | None) -> None:
        """Another thread selected: nothing of the last one stays (but a selection waiting for this thread)."""
        self.thread_id, self.nodes, self.tree, self.checkpoint, self.state = thread_id, None, None, None, None
        self.before, self.new = None, set()
        if self.pending is not None and thread_id != self.pending_thread:
            self.pending = None

    def expect_new(self, thread_id: str, select: str | None) -> None:
        """Mark the checkpoints that exist now; what the coming write adds shows as new, `select` gets the cursor."""
        if thread_id == self.thread_id and self.nodes is not None:
            self.before = {checkpoint_key(n.checkpoint_id, n.checkpoint_ns) for n in self.nodes}
        self.pending = select

    def history_read(self, nodes: list[Any]) -> tuple[str | None, str | None]:
        """Take the thread's checkpoints; (its head, the key the cursor should move to, if any)."""
        self.nodes = nodes
        self.tree = CheckpointTree(nodes)
        keys = {checkpoint_key(n.checkpoint_id, n.checkpoint_ns) for n in nodes}
        if self.before is not None:
            self.new = keys - self.before
        latest = latest_checkpoint(nodes)
        select = None
        if self.pending == LATEST:
            select, self.pending = latest, None
        elif self.pending is not None and self.pending in keys:  # else not written yet: keep waiting for it
            select, self.pending = self.pending, None
        if select is None and self.checkpoint is None:
            select = latest
        return latest, select

    def to_read(self) -> tuple[str, str | None] | None:
        """(the selected checkpoint's key, its parent's key or None for a first checkpoint) to read the state and
        diff of; None when nothing selected is in the tree."""
        if self.tree is None or self.checkpoint is None or self.thread_id is None:
            return None
        cid, ns = split_key(self.checkpoint)
        try:
            parent = self.tree.parent(cid, ns)
        except KeyError:
            return None
        if parent is None:
            return self.checkpoint, None
        return self.checkpoint, checkpoint_key(parent.checkpoint_id, parent.checkpoint_ns)

    def node_at(self, key: str) -> Any:
        """The checkpoint node of a tree key, None when not in the tree."""
        cid, ns = split_key(key)
        return self.tree.node(cid, ns).checkpoint if self.tree is not None and cid in self.tree else None

    def writers(self) -> list[str]:
        """The root graph's node names (what a fork may write as)."""
        return sorted({w for n in self.nodes or [] if not n.checkpoint_ns for w in n.writers
                       if not w.startswith(("__", "send["))})


@dataclass
class ThreadList:
    """The page of threads on screen and what is known about reading it."""

    page: Any = None  # the source's ThreadsPage
    server: Any = None  # the source's ServerState: None until probed
    read_error: str | None = None
    count_error: str | None = None  # why the last count failed
    answered: tuple[str, str, str] = ("", "", "")  # the ListQuery.key the page answered
    reading: bool = False  # a read is on its way: a tick does not start another
    history_stale: bool = False  # the followed run wrote checkpoints of the selected thread

    def summary(self, thread_id: str | None) -> Any:
        if thread_id is None or self.page is None:
            return None
        return next((s for s in self.page.summaries if s.thread_id == thread_id), None)


@dataclass
class FollowedRun:
    """The run a replay, fork or resume started, for the status line: `run` is None until it has started."""

    label: str | None = None
    run: Any = None
    note: str | None = None


@dataclass
class ThreadsView:
    """All the Threads screen's state, in the parts above."""

    query: ListQuery = field(default_factory=ListQuery)
    threads: ThreadList = field(default_factory=ThreadList)
    focus: ThreadFocus = field(default_factory=ThreadFocus)
    followed: FollowedRun = field(default_factory=FollowedRun)
