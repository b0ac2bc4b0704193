"""Prune old threads from the Postgres checkpointer's tables, safely.

A thread is old when its latest checkpoint (max `checkpoint_id` over every namespace, subgraphs included) was written
before the cutoff. The ids are time-ordered uuid6, so "latest" and "older than" are string comparisons on the primary
key's column: one GROUP BY finds the old threads without decoding a single checkpoint.

`plan_prune` only reads. `execute_prune` deletes a batch of threads from `checkpoint_writes`, `checkpoint_blobs` and
`checkpoints` in ONE transaction per batch, after locking the three tables against writers (readers are not
blocked) and re-checking, under that lock, that each thread's latest checkpoint is still the one the plan saw. A
thread that got a checkpoint since, or that is protected (a run is pending or running on it), is skipped. The
`store` table is never touched. After each batch's commit the LangGraph server is told to forget the batch's threads
(`forget`, the SDK's `threads.delete`): the dev runtime keeps its own thread records, and without that it goes on
listing pruned threads with their old status and values.

The lock is SHARE ROW EXCLUSIVE, taken blobs -> checkpoints -> writes: the order in which the checkpointer's own
`put` writes (blobs and the checkpoint row in one implicit transaction), so a checkpoint being saved while a batch
starts either commits before the re-check sees it or waits until the batch has committed; it never deadlocks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from lgconsole.stack.checkpoints.ids import checkpoint_id_floor, checkpoint_time
from lgconsole.stack.errors import StackError
from lgconsole.stack.services.service import one_line, redact_url, scrub_password

TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")
LOCK_ORDER = ("checkpoint_blobs", "checkpoints", "checkpoint_writes")
# 100 threads per transaction: measured on 1.08M checkpoints, throughput is the same from 25 to 2000 threads per batch
# (~120-180k rows/s) while the time writers are locked out grows with the batch (max ~0.8 s at 100, ~3.4 s at 500).
DEFAULT_BATCH_THREADS = 100
# Short: while a batch waits for its lock the checkpointer's writers queue behind it; better retry than stall runs.
LOCK_TIMEOUT_S = 2.0
BATCH_RETRIES = 5


class PruneError(StackError):
    """Prune could not plan or delete; one line."""


class PruneDbUnreachable(PruneError):
    """Postgres does not answer or refuses the login."""


class PruneRefused(PruneError):
    """Prune will not delete: it cannot prove that the threads are not in use."""


# --- records ---------------------------------------------------------------------------------------------------------

@dataclass
class PruneCandidate:
    thread_id: str
    last_checkpoint_id: str  # the newest checkpoint of any namespace
    checkpoints: int

    @property
    def last_activity(self) -> datetime:
        return checkpoint_time(self.last_checkpoint_id)

    def to_json(self) -> dict:
        return {"thread_id": self.thread_id, "last_checkpoint_id": self.last_checkpoint_id,
                "last_activity": self.last_activity.isoformat(), "checkpoints": self.checkpoints}


@dataclass
class PrunePlan:
    """What a prune would delete. `candidates` go; `protected` are old too but skipped."""

    older_than: timedelta
    cutoff: datetime
    planned_at: datetime
    candidates: list[PruneCandidate]
    protected: list[PruneCandidate]
    rows: dict[str, int]  # table -> rows that would be deleted (candidates only)
    threads_total: int  # threads in the checkpoint tables
    undated: int  # threads whose latest checkpoint id is not a uuid6: their age is unknown, they are kept
    elapsed_s: float = 0.0

    @property
    def thread_ids(self) -> list[str]:
        return [c.thread_id for c in self.candidates]

    @property
    def oldest_activity(self) -> datetime | None:
        return min((c.last_activity for c in self.candidates), default=None)

    @property
    def newest_activity(self) -> datetime | None:
        return max((c.last_activity for c in self.candidates), default=None)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def to_json(self, list_threads: bool = True) -> dict:
        data: dict[str, Any] = {
            "older_than_s": self.older_than.total_seconds(),
            "cutoff": self.cutoff.isoformat(),
            "planned_at": self.planned_at.isoformat(),
            "threads_total": self.threads_total,
            "threads": len(self.candidates),
            "rows": dict(self.rows),
            "oldest_activity": self.oldest_activity.isoformat() if self.oldest_activity else None,
            "newest_activity": self.newest_activity.isoformat() if self.newest_activity else None,
            "protected": [p.to_json() for p in self.protected],
            "undated_threads": self.undated,
            "elapsed_s": round(self.elapsed_s, 3),
        }
        if list_threads:
            data["thread_ids"] = self.thread_ids
        return data


@dataclass
class PruneProgress:
    batch: int
    batches: int
    threads_done: int  # deleted so far
    threads_skipped: int
    threads_total: int
    rows: dict[str, int]  # deleted so far, per table
    elapsed_s: float


@dataclass
class ServerForget:
    """What the server said to a batch's deletion: (deleted, unknown to it, not deleted, first error or None)."""

    deleted: list[str]
    unknown: list[str]
    failed: list[str]
    error: str | None = None


@dataclass
class PruneResult:
    deleted: list[str]  # thread ids
    rows: dict[str, int]  # deleted rows per table
    skipped_new_activity: list[str]  # got a checkpoint since the plan
    skipped_protected: list[str]  # a run became pending/running on them since the plan
    skipped_gone: list[str]  # no checkpoints any more (deleted by someone else)
    batches: int
    elapsed_s: float
    lock_wait_ms_max: float = 0.0  # longest wait for the table locks
    lock_held_ms_max: float = 0.0  # longest time writers were blocked by one batch
    lock_held_ms_total: float = 0.0
    retries: int = 0  # batches retried after a lock timeout or deadlock
    # the server's own thread records, deleted after the checkpoint rows (see ServerForget)
    server_deleted: list[str] = field(default_factory=list)
    server_unknown: list[str] = field(default_factory=list)  # the server did not know them (nothing to delete)
    server_kept: list[str] = field(default_factory=list)  # not deleted there: the server still lists them
    server_error: str | None = None

    @property
    def lock_held_ms_mean(self) -> float:
        return self.lock_held_ms_total / self.batches if self.batches else 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_s(self) -> float:
        return self.total_rows / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_json(self, list_threads: bool = True) -> dict:
        data: dict[str, Any] = {
            "threads_deleted": len(self.deleted), "rows": dict(self.rows),
            "skipped_new_activity": self.skipped_new_activity, "skipped_protected": self.skipped_protected,
            "skipped_gone": self.skipped_gone, "batches": self.batches, "elapsed_s": round(self.elapsed_s, 3),
            "rows_per_s": round(self.rows_per_s), "lock_wait_ms_max": round(self.lock_wait_ms_max, 1),
            "lock_held_ms_max": round(self.lock_held_ms_max, 1), "lock_held_ms_mean": round(self.lock_held_ms_mean, 1),
            "retries": self.retries,
            "server_threads_deleted": len(self.server_deleted), "server_threads_unknown": len(self.server_unknown),
            "server_still_lists": self.server_kept, "server_error": self.server_error,
        }
        if list_threads:
            data["deleted_thread_ids"] = self.deleted
        return data


# --- connections -----------------------------------------------------------------------------------------------------

def _connect(url: str) -> Any:
    import psycopg

    try:
        return psycopg.connect(url, connect_timeout=5, application_name="lgconsole-prune")
    except Exception as exc:
        text = scrub_password(one_line(exc), url)  # as a word: a password "p" leaves "port 1" whole
        raise PruneDbUnreachable(f"cannot connect to Postgres at {redact_url(url)}: {text}") from None


def _check_tables(conn: Any) -> None:
    row = conn.execute("SELECT to_regclass('checkpoints'), to_regclass('checkpoint_blobs'), "
                       "to_regclass('checkpoint_writes')").fetchone()
    missing = [t for t, found in zip(TABLES, row) if found is None]
    if missing:
        raise PruneError(f"no {', '.join(missing)} table in this database: the LangGraph Postgres checkpointer never "
                         "ran setup() there (wrong database?)")


# --- plan ------------------------------------------------------------------------------------------------------------

# One pass over the checkpoints' primary-key column: max(checkpoint_id) per thread (every namespace). The CTE is
# materialised once and read three times. COLLATE "C": byte order, whatever the database's collation.
_PLAN_SQL = """
WITH last AS MATERIALIZED (
    SELECT thread_id, max(checkpoint_id COLLATE "C") AS last_id, count(*) AS n
    FROM checkpoints GROUP BY thread_id
)
SELECT 'old', thread_id, last_id, n FROM last
    WHERE last_id < %(cutoff)s COLLATE "C" AND substr(last_id, 15, 1) = '6'
UNION ALL SELECT 'total', NULL, NULL, count(*) FROM last
UNION ALL SELECT 'undated', NULL, NULL, count(*) FROM last WHERE substr(last_id, 15, 1) <> '6'
"""

_COUNT_SQL = """
SELECT (SELECT count(*) FROM checkpoint_blobs WHERE thread_id = ANY(%(ids)s)),
       (SELECT count(*) FROM checkpoint_writes WHERE thread_id = ANY(%(ids)s))
"""


def plan_prune(conn_or_url: Any, older_than: timedelta, protected_thread_ids: Iterable[str] = (),
               now: datetime | None = None) -> PrunePlan:
    """The threads whose latest checkpoint is older than `older_than` (protected ones listed apart), with the rows
    per table a prune would delete. Reads only."""
    if older_than <= timedelta(0):
        raise PruneError("the age window must be longer than 0")
    t0 = time.monotonic()
    now = now or datetime.now(timezone.utc)
    cutoff = now - older_than
    protected_ids = set(protected_thread_ids)
    own = isinstance(conn_or_url, str)
    conn = _connect(conn_or_url) if own else conn_or_url
    try:
        import psycopg

        try:
            _check_tables(conn)
            rows = conn.execute(_PLAN_SQL, {"cutoff": checkpoint_id_floor(cutoff)}).fetchall()
            old = [PruneCandidate(r[1], r[2], r[3]) for r in rows if r[0] == "old"]
            counts = {r[0]: r[3] for r in rows if r[0] != "old"}
            candidates = [c for c in old if c.thread_id not in protected_ids]
            ids = [c.thread_id for c in candidates]
            blobs, writes = conn.execute(_COUNT_SQL, {"ids": ids}).fetchone() if ids else (0, 0)
        except psycopg.OperationalError as exc:
            where = redact_url(conn_or_url) if own else "the database"
            raise PruneDbUnreachable(f"Postgres at {where} failed while planning the prune: {one_line(exc)}") from None
        finally:
            if not own:
                conn.rollback()  # leave the caller's connection as we found it: no open transaction
    finally:
        if own:
            conn.close()
    candidates.sort(key=lambda c: c.last_checkpoint_id)
    return PrunePlan(
        older_than=older_than, cutoff=cutoff, planned_at=now, candidates=candidates,
        protected=sorted((c for c in old if c.thread_id in protected_ids), key=lambda c: c.last_checkpoint_id),
        rows={"checkpoints": sum(c.checkpoints for c in candidates), "checkpoint_blobs": blobs,
              "checkpoint_writes": writes},
        threads_total=counts.get("total", 0), undated=counts.get("undated", 0), elapsed_s=time.monotonic() - t0,
    )


# --- execute ---------------------------------------------------------------------------------------------------------

_RECHECK_SQL = """
SELECT thread_id, max(checkpoint_id COLLATE "C") FROM checkpoints WHERE thread_id = ANY(%(ids)s) GROUP BY thread_id
"""


def execute_prune(url: str, plan: PrunePlan, batch_threads: int = DEFAULT_BATCH_THREADS,
                  progress: Callable[[PruneProgress], None] | None = None,
                  still_protected: Callable[[], Iterable[str]] | None = None,
                  lock_timeout_s: float = LOCK_TIMEOUT_S,
                  forget: Callable[[list[str]], ServerForget] | None = None,
                  server_down: str | None = None) -> PruneResult:
    """Delete the plan's threads, `batch_threads` per transaction.

    `still_protected` is asked before every batch for the threads that must not be touched now (the server's busy
    threads); an exception from it stops the prune between batches (what was deleted stays deleted). `forget` is
    given each batch's deleted threads after its commit, to delete the server's records of them; once it fails, or
    with no `forget` (`server_down` says why), the rest are listed in `server_kept`: the server still shows them."""
    import psycopg

    if batch_threads < 1:
        raise PruneError("the batch size must be at least 1 thread")
    t0 = time.monotonic()
    planned = {c.thread_id: c.last_checkpoint_id for c in plan.candidates}
    cutoff_id = checkpoint_id_floor(plan.cutoff)
    ids = list(planned)
    batches = [ids[i:i + batch_threads] for i in range(0, len(ids), batch_threads)]
    result = PruneResult([], dict.fromkeys(TABLES, 0), [], [], [], len(batches), 0.0)
    conn = _connect(url)
    try:
        conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{int(lock_timeout_s * 1000)}ms",))
        conn.commit()
        _check_tables(conn)
        conn.commit()
        for number, batch in enumerate(batches, 1):
            try:
                protected = set(still_protected()) if still_protected is not None else set()
            except StackError as exc:
                raise PruneRefused(f"{exc}: stopped before batch {number}/{len(batches)}; {len(result.deleted)} "
                                   "thread(s) were deleted before it, nothing else was touched") from None
            deleted_before = len(result.deleted)
            for attempt in range(BATCH_RETRIES + 1):
                try:
                    _delete_batch(conn, batch, planned, cutoff_id, protected, result)
                    break
                except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected) as exc:
                    conn.rollback()
                    if attempt == BATCH_RETRIES:
                        raise PruneError(f"batch {number}/{len(batches)} could not lock the checkpoint tables "
                                         f"({one_line(exc)}); {len(result.deleted)} thread(s) were deleted before it; "
                                         "run prune again later") from None
                    result.retries += 1
                    time.sleep(0.5 * (attempt + 1))
            _forget_on_server(result, result.deleted[deleted_before:], forget, server_down)
            if progress is not None:
                skipped = (len(result.skipped_new_activity) + len(result.skipped_protected)
                           + len(result.skipped_gone))
                progress(PruneProgress(number, len(batches), len(result.deleted), skipped, len(ids),
                                       dict(result.rows), time.monotonic() - t0))
    except psycopg.OperationalError as exc:
        raise PruneDbUnreachable(f"Postgres at {redact_url(url)} failed during the prune ({one_line(exc)}); "
                                 f"{len(result.deleted)} thread(s) were deleted before it") from None
    finally:
        conn.close()
    result.elapsed_s = time.monotonic() - t0
    return result


def _forget_on_server(result: PruneResult, batch: list[str], forget: Callable[[list[str]], ServerForget] | None,
                      server_down: str | None) -> None:
    """The batch's deleted threads, deleted from the server's records too (after the rows: a failure here leaves the
    server listing threads that have no checkpoints, never checkpoints without a thread)."""
    if not batch:
        return
    if forget is None or result.server_error is not None:
        result.server_kept.extend(batch)
        result.server_error = result.server_error or server_down or "no LangGraph server to tell"
        return
    answer = forget(batch)
    result.server_deleted.extend(answer.deleted)
    result.server_unknown.extend(answer.unknown)
    result.server_kept.extend(answer.failed)
    if answer.error:
        result.server_error = answer.error


def _delete_batch(conn: Any, batch: list[str], planned: dict[str, str], cutoff_id: str, protected: set[str],
                  result: PruneResult) -> None:
    t_lock = time.monotonic()
    with conn.transaction():
        conn.execute(f"LOCK TABLE {', '.join(LOCK_ORDER)} IN SHARE ROW EXCLUSIVE MODE")
        t_locked = time.monotonic()
        latest = dict(conn.execute(_RECHECK_SQL, {"ids": batch}).fetchall())
        doomed, new_activity, now_protected, gone = [], [], [], []
        for tid in batch:
            if tid in protected:
                now_protected.append(tid)
            elif tid not in latest:
                gone.append(tid)
            elif latest[tid] != planned[tid] or not latest[tid] < cutoff_id:
                new_activity.append(tid)
            else:
                doomed.append(tid)
        counts = {}
        if doomed:
            for table in ("checkpoint_writes", "checkpoint_blobs", "checkpoints"):
                counts[table] = conn.execute(f"DELETE FROM {table} WHERE thread_id = ANY(%(ids)s)",
                                             {"ids": doomed}).rowcount
    t_done = time.monotonic()
    # only after the commit: a rolled-back batch leaves the result as it was
    result.deleted.extend(doomed)
    result.skipped_new_activity.extend(new_activity)
    result.skipped_protected.extend(now_protected)
    result.skipped_gone.extend(gone)
    for table, n in counts.items():
        result.rows[table] += n
    result.lock_wait_ms_max = max(result.lock_wait_ms_max, (t_locked - t_lock) * 1000)
    result.lock_held_ms_max = max(result.lock_held_ms_max, (t_done - t_locked) * 1000)
    result.lock_held_ms_total += (t_done - t_locked) * 1000


# --- durations -------------------------------------------------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> timedelta:
    """'90m', '36h', '7d', '2w', '1d12h' -> timedelta; PruneError (one line) for anything else."""
    import re

    raw = text.strip().lower()
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([smhdw])", raw)
    if not raw or not parts or re.sub(r"(\d+(?:\.\d+)?)\s*([smhdw])", "", raw).strip():
        raise PruneError(f"cannot read {text!r} as an age: use a number and a unit, e.g. 90m, 36h, 7d, 2w")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise PruneError(f"the age {text!r} must be longer than 0")
    try:
        age = timedelta(seconds=seconds)
    except (OverflowError, ValueError):  # past timedelta's 999,999,999 days
        raise PruneError(f"the age {text[:40]!r} is longer than any checkpoint can be old") from None
    if age <= timedelta(0):  # under a microsecond
        raise PruneError(f"the age {text[:40]!r} must be longer than 0")
    return age


def format_age(age: timedelta) -> str:
    """The age in its largest whole unit up to days: 7d, 36h, 90m (what `parse_age` reads back)."""
    seconds = age.total_seconds()
    for unit in ("d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:.6f}".rstrip("0").rstrip(".") + "s"  # no exponent (1e+06s would not read back)
