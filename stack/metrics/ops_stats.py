"""Operational numbers for triage: checkpoint-table size and growth, disk, Redis memory, runs in flight.

Every reader returns plain records and raises `StackError` subclasses with one-line messages; none of them
decodes checkpoints, so they stay cheap on tables with millions of rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from lgconsole.stack.checkpoints.ids import checkpoint_id_floor
from lgconsole.stack.errors import StackError
from lgconsole.stack.services.service import one_line, redact_url

CHECKPOINT_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


class OpsStatsError(StackError):
    """A triage reader could not answer; one line."""


@dataclass
class TableStats:
    """Size of the checkpoint tables and how fast they grow."""

    bytes_by_table: dict[str, int] = field(default_factory=dict)
    rows_estimate: dict[str, int] = field(default_factory=dict)
    threads: int = 0
    checkpoints_last_day: int = 0
    checkpoints_last_week: int = 0
    max_checkpoints_per_thread: int = 0
    max_thread_id: str | None = None
    data_dir: str | None = None
    disk_free_bytes: int | None = None
    disk_total_bytes: int | None = None

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes_by_table.values())

    @property
    def bytes_per_checkpoint(self) -> float:
        rows = self.rows_estimate.get("checkpoints") or 0
        return self.total_bytes / rows if rows else 0.0

    @property
    def growth_bytes_per_day(self) -> float:
        """Bytes a day at the last week's pace (the last day's when it is faster)."""
        per_day = max(self.checkpoints_last_day, self.checkpoints_last_week / 7)
        return per_day * self.bytes_per_checkpoint


def checkpoint_table_stats(url: str, data_dir: str | None = None, now: datetime | None = None) -> TableStats:
    """Sizes from the catalog, growth by counting checkpoints whose time-ordered ids are newer than a day/week."""
    import psycopg

    now = now or datetime.now(timezone.utc)
    stats = TableStats(data_dir=data_dir)
    try:
        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SET statement_timeout = '20s'")
            present = {row[0] for row in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY(%s)",
                (list(CHECKPOINT_TABLES),))}
            if "checkpoints" not in present:
                raise OpsStatsError("no checkpoint tables in this database (has the LangGraph server run yet?)")
            for table in CHECKPOINT_TABLES:
                if table in present:
                    size, rows = conn.execute(
                        "SELECT pg_total_relation_size(c.oid), greatest(c.reltuples, 0)::bigint FROM pg_class c "
                        "WHERE c.oid = to_regclass(%s)", (table,)).fetchone()
                    stats.bytes_by_table[table] = int(size)
                    stats.rows_estimate[table] = int(rows)
            week = checkpoint_id_floor(now - timedelta(days=7))
            day = checkpoint_id_floor(now - timedelta(days=1))
            stats.checkpoints_last_week, stats.checkpoints_last_day = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE checkpoint_id >= %s) FROM checkpoints "
                "WHERE checkpoint_id >= %s", (day, week)).fetchone()
            top = conn.execute(
                "SELECT thread_id, count(*) AS n, count(*) OVER () AS threads FROM checkpoints "
                "GROUP BY thread_id ORDER BY n DESC LIMIT 1").fetchone()
            if top:
                stats.max_thread_id, stats.max_checkpoints_per_thread, stats.threads = top[0], int(top[1]), int(top[2])
            if not stats.rows_estimate.get("checkpoints"):  # never analysed: count for real
                stats.rows_estimate["checkpoints"] = conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
    except OpsStatsError:
        raise
    except Exception as exc:
        raise OpsStatsError(f"checkpoint tables at {redact_url(url)}: {one_line(exc)}") from None
    if data_dir:
        try:
            vfs = os.statvfs(data_dir)
            stats.disk_free_bytes = vfs.f_bavail * vfs.f_frsize
            stats.disk_total_bytes = vfs.f_blocks * vfs.f_frsize
        except OSError:
            pass
    return stats


@dataclass
class RedisMemory:
    used_bytes: int
    max_bytes: int  # 0: no limit
    evicted_keys: int = 0
    keys: int = 0


def redis_memory(url: str) -> RedisMemory:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            memory = client.info("memory")
            stats = client.info("stats")
            keys = client.dbsize()
        finally:
            client.close()
    except Exception as exc:
        raise OpsStatsError(f"redis at {redact_url(url)}: {one_line(exc)}") from None
    return RedisMemory(int(memory.get("used_memory", 0)), int(memory.get("maxmemory", 0)),
                       int(stats.get("evicted_keys", 0)), int(keys))


@dataclass
class ActiveRun:
    thread_id: str
    run_id: str
    status: str  # pending | running
    created_at: datetime


def active_runs(url: str) -> list[ActiveRun]:
    """Runs pending or running on the LangGraph server, with when each was created."""
    from lgconsole.stack.server.busy import busy_threads_sync

    try:
        busy = busy_threads_sync(url)
    except StackError as exc:
        raise OpsStatsError(f"runs in flight: {exc}") from None
    return [ActiveRun(thread.thread_id, run_id, status, _parse_time(thread.created_at.get(run_id)))
            for thread in busy.values() for run_id, status in thread.runs]


def _parse_time(value) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(timezone.utc)  # unknown: treated as just created, never as stuck
