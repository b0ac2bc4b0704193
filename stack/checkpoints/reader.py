"""Read LangGraph checkpoints straight from the Postgres checkpointer's tables, with or without the LangGraph server.

`CheckpointReader` lists threads (status from pending writes), one thread's checkpoints with parent links and
subgraph namespaces, and the decoded state at one checkpoint (with its parent's, in one read). Decoding
(stack/checkpoints/decoder.py) never unpickles and never imports the user's graph code.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from lgconsole.stack.checkpoints import thread_walk
from lgconsole.stack.checkpoints.connection import CheckpointDb
from lgconsole.stack import gc_pause
from lgconsole.stack.checkpoints.decoder import get_decoder
from lgconsole.stack.checkpoints.ids import checkpoint_time
from lgconsole.stack.checkpoints.records import (
    CheckpointNode,
    CheckpointReaderError,
    CheckpointState,
    SchemaInfo,
    ServerView,
    ThreadStatus,
    ThreadSummary,
    UnknownCheckpoint,
    UnknownThread,
)
from lgconsole.stack.checkpoints.states import build_state, decode_blobs, graph_shape, raw_values, state_blobs
from lgconsole.stack.checkpoints.thread_sql import (
    RUN_METADATA_JOIN,
    SORT_KEYS,
    due_nodes_sql,
    status_params,
    thread_filters,
    threads_sql,
)
from lgconsole.stack.checkpoints.writes import (
    ERROR,
    INTERRUPT,
    SEND_PREFIX_BYTES,
    SPECIAL_WRITES,
    TASKS,
    WriteRow,
    error_text,
    pick_error,
    sends_by_checkpoint,
    task_node,
    unnamed_tasks,
    writers_by_versions_seen,
    writers_of,
)

# Whether checkpoint `{c}` is the thread's newest root checkpoint: what get_state reads when given no checkpoint id.
LATEST = """{c}.checkpoint_ns = '' AND {c}.checkpoint_id = (SELECT max(m.checkpoint_id) FROM checkpoints m
                              WHERE m.thread_id = %(thread)s AND m.checkpoint_ns = '')"""
# `len(MIGRATIONS) - 1` of langgraph-checkpoint-postgres 3.2.0 (the last migration adds checkpoint_writes.task_path).
KNOWN_SCHEMA_VERSION = 9
MIN_SCHEMA_VERSION = 9  # every query here reads checkpoint_writes.task_path
RUNNING_WINDOW_S = 60.0  # a head saved this recently with a half-saved step is running (see thread_sql.STATUS_SQL)


class CheckpointReader:
    """Read-only access to the langgraph-checkpoint-postgres tables through a small psycopg pool (CheckpointDb).

    Every query runs in a READ ONLY transaction. Connection problems, a database without the tables, unknown ids:
    each raises a `CheckpointReaderError` with a one-line message (the URL in it has no password).
    """

    def __init__(self, url: str, *, connect_timeout: float = 3.0, max_connections: int = 4,
                 statement_timeout_s: float = 30.0, graph_spec: dict | None = None):
        self.db = CheckpointDb(url, connect_timeout=connect_timeout, max_connections=max_connections,
                               statement_timeout_s=statement_timeout_s)
        self.graph_spec = graph_spec  # the served graphs' channels (stack/services/graph_spec.py), when known
        self._recent_index_checked: tuple[float, bool] | None = None  # (when, present)
        self._shape_checked: tuple[float, thread_walk.TableShape] | None = None
        self.thread_walk = "auto"  # newest threads and their count by a primary-key walk: auto, always, never
        self.running_window_s = RUNNING_WINDOW_S

    @property
    def url(self) -> str:
        return self.db.url

    @property
    def public_url(self) -> str:
        return self.db.public_url

    def __enter__(self) -> CheckpointReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def _transaction(self) -> AbstractContextManager[Any]:
        return self.db.transaction()

    # --- schema -------------------------------------------------------------------------------------------------
    def schema_version(self) -> SchemaInfo:
        """The migration level of the tables, compared with the layout this reader knows."""
        with self._transaction() as conn:
            if conn.execute("SELECT to_regclass('checkpoint_migrations')").fetchone()[0] is None:
                return SchemaInfo(None, KNOWN_SCHEMA_VERSION, "missing",
                                  "schema version unknown: the checkpoint tables exist but checkpoint_migrations does "
                                  "not (made by hand or by another tool?); reading them as version "
                                  f"{KNOWN_SCHEMA_VERSION}")
            version = conn.execute("SELECT max(v) FROM checkpoint_migrations").fetchone()[0]
        if version is None:
            return SchemaInfo(None, KNOWN_SCHEMA_VERSION, "unknown",
                              "schema version unknown: checkpoint_migrations is empty; reading the tables as version "
                              f"{KNOWN_SCHEMA_VERSION}")
        if version == KNOWN_SCHEMA_VERSION:
            return SchemaInfo(version, KNOWN_SCHEMA_VERSION, "current", f"checkpoint schema version {version}")
        if version > KNOWN_SCHEMA_VERSION:
            return SchemaInfo(version, KNOWN_SCHEMA_VERSION, "newer",
                              f"checkpoint schema version {version} is newer than the {KNOWN_SCHEMA_VERSION} lgconsole "
                              "knows: reading it anyway; some fields may be missing")
        return SchemaInfo(version, KNOWN_SCHEMA_VERSION, "older",
                          f"checkpoint schema version {version} is older than {MIN_SCHEMA_VERSION}: upgrade "
                          "langgraph-checkpoint-postgres and run setup(); some reads will fail")

    # --- threads ------------------------------------------------------------------------------------------------
    def list_threads(self, limit: int = 50, offset: int = 0, status: ThreadStatus | str | None = None,
                     metadata_filter: dict | None = None, text: str | None = None,
                     sort: str = "-last_activity", server: ServerView | None = None,
                     thread_ids: list[str] | None = None) -> list[ThreadSummary]:
        """One page of threads. `sort` is a key of SORT_KEYS, `-` in front for descending; `text` matches inside the
        thread id; `metadata_filter` must be contained in the thread's metadata: that of its latest checkpoint
        written by a run (where the server copies the thread's metadata), overlaid by its latest checkpoint's.
        `server`: the server's busy threads (they are running); None when the server was not asked or did not
        answer (the status then comes from the tables alone, `unknown` where not). `thread_ids`: only these."""
        descending = sort.startswith("-")
        key = sort.lstrip("-+")
        if key not in SORT_KEYS:
            raise CheckpointReaderError(f"cannot sort threads by {key!r}; choose one of {', '.join(SORT_KEYS)}")
        order = f"{SORT_KEYS[key]} {'DESC' if descending else 'ASC'} NULLS LAST"
        if key != "thread_id":
            order += ", thread_id"
        where_inner, meta_join, where_outer, params = thread_filters(status, metadata_filter, text, thread_ids)
        params.update(status_params(server.busy if server else None, self.running_window_s))
        params.update(limit=max(0, int(limit)), offset=max(0, int(offset)))
        with self._transaction() as conn:
            newest = key == "last_activity" and descending and not (status or metadata_filter or where_inner)
            if newest and (recent := self._newest_thread_ids(conn, params["limit"] + params["offset"])) is not None:
                where_inner = "WHERE thread_id = ANY(%(page_ids)s)"  # found by an index walk: aggregate only those
                params.update(page_ids=recent[params["offset"]:], offset=0)
            page_sql = "ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s".format(order=order)
            if not status and not metadata_filter and key in ("last_activity", "thread_id", "checkpoint_count"):
                # Paged in the GROUP BY: heads and statuses are looked up for one page of threads only.
                page = threads_sql(where_inner, "", "", agg_tail=page_sql)
            else:
                page = f"{threads_sql(where_inner, meta_join, where_outer)} {page_sql}"
            # The run metadata (thread labels) is looked up for the page only, after LIMIT.
            sql = f"""
                WITH page AS ({page})
                SELECT page.thread_id, n, last_id, head_id, parent_id, grandparent_id,
                       coalesce(r.metadata, '{{}}'::jsonb) || coalesce(head_metadata, '{{}}'::jsonb), status,
                       CASE WHEN status IN ('running', 'waiting', 'unknown') THEN {due_nodes_sql("hh")} END
                FROM page {RUN_METADATA_JOIN.format(thread="page.thread_id")}
                LEFT JOIN checkpoints hh ON hh.thread_id = page.thread_id AND hh.checkpoint_ns = ''
                    AND hh.checkpoint_id = page.head_id
                ORDER BY {order}"""
            rows = conn.execute(sql, params).fetchall()
            keys = [(r[0], cid) for r in rows for cid in (r[3], r[4], r[5]) if cid]
            writes = self._writes_at(conn, keys) if keys else []
            by_checkpoint: dict[tuple[str, str], list[WriteRow]] = {}
            for thread_id, row in writes:
                by_checkpoint.setdefault((thread_id, row.checkpoint_id), []).append(row)
            unnamed = self._fill_unnamed_writers(conn, [
                (r[0], "", r[3], r[4]) for r in rows
                if r[3] and r[4] and (r[6] or {}).get("source") == "loop"
                and unnamed_tasks(by_checkpoint.get((r[0], r[4]), []))])
        decoder = get_decoder()
        summaries = []
        for thread_id, n, last_id, head_id, parent_id, grandparent_id, metadata, status_value, due in rows:
            metadata = metadata or {}
            head_rows = by_checkpoint.get((thread_id, head_id), [])
            parent_rows = by_checkpoint.get((thread_id, parent_id), [])
            gp_rows = by_checkpoint.get((thread_id, grandparent_id), [])
            parent_sends = sends_by_checkpoint(parent_rows).get(("", parent_id))
            gp_sends = sends_by_checkpoint(gp_rows).get(("", grandparent_id))
            summary = ThreadSummary(
                thread_id=thread_id,
                last_activity=checkpoint_time(last_id),
                checkpoint_count=n,
                head_checkpoint_id=head_id,
                latest_step=_int_or_none(metadata.get("step")),
                latest_source=metadata.get("source"),
                latest_nodes=unnamed.get((thread_id, "", head_id))
                or writers_of(metadata.get("source"), parent_rows, gp_sends),
                status=ThreadStatus(status_value),
                metadata=metadata,
            )
            errors = [(task_node(r.task_path, parent_sends), error_text(decoder.decode(r.type, r.blob)))
                      for r in head_rows if r.channel == ERROR]
            picked = pick_error(errors)
            if picked and summary.status == ThreadStatus.ERRORED:
                summary.status_node, summary.error = picked
            if summary.status in (ThreadStatus.RUNNING, ThreadStatus.WAITING, ThreadStatus.UNKNOWN):
                summary.status_node = _due_node(due or [], head_rows)
            if summary.status == ThreadStatus.WAITING:
                for r in head_rows:
                    if r.channel == INTERRUPT:
                        if not summary.interrupts:  # the node that asked, before the ones due beside it
                            summary.status_node = task_node(r.task_path, parent_sends) or summary.status_node
                        value = decoder.decode(r.type, r.blob)
                        summary.interrupts.extend(value if isinstance(value, list) else [value])
            summaries.append(summary)
        return summaries

    def _newest_thread_ids(self, conn: Any, wanted: int) -> list[str] | None:
        """The `wanted` newest threads by an index walk: lgconsole's opt-in index where it is there
        (stack/checkpoints/index.py), else a loose index scan of the primary key where the statistics say it beats
        the GROUP BY (stack/checkpoints/thread_walk.py; `thread_walk` "always"/"never" force it); None: neither."""
        if wanted > 0 and self._has_recent_index(conn):
            found = thread_walk.recent_thread_ids(conn, wanted)
            if found is not None:
                return found
        if wanted > 0 and self.thread_walk != "never":
            shape = self._table_shape(conn)
            if self.thread_walk == "always" or shape.newest_walk_pays():
                return thread_walk.newest_thread_ids(conn, wanted, shape.max_walk_steps
                                                     if self.thread_walk == "auto" else 2**31 - 1)
        return None

    def _table_shape(self, conn: Any) -> thread_walk.TableShape:
        """The planner's view of the checkpoints table (looked up at most once a minute)."""
        if self._shape_checked is None or time.monotonic() - self._shape_checked[0] > 60:
            self._shape_checked = (time.monotonic(), thread_walk.table_shape(conn))
        return self._shape_checked[1]

    def has_recent_index(self) -> bool:
        """Whether lgconsole's opt-in index on checkpoint ids is there (checked at most once a minute)."""
        with self._transaction() as conn:
            return self._has_recent_index(conn)

    def _has_recent_index(self, conn: Any) -> bool:
        if self._recent_index_checked is None or time.monotonic() - self._recent_index_checked[0] > 60:
            self._recent_index_checked = (time.monotonic(), thread_walk.has_recent_index(conn))
        return self._recent_index_checked[1]

    def estimated_checkpoints(self) -> int:
        """The planner's row estimate of the checkpoints table (free; 0 before the first ANALYZE; cached a minute)."""
        with self._transaction() as conn:
            return int(self._table_shape(conn).rows)

    def count(self, status: ThreadStatus | str | None = None, metadata_filter: dict | None = None,
              text: str | None = None, server: ServerView | None = None, thread_ids: list[str] | None = None) -> int:
        """How many threads `list_threads` would page through with the same filters."""
        where_inner, meta_join, where_outer, params = thread_filters(status, metadata_filter, text, thread_ids)
        params.update(status_params(server.busy if server else None, self.running_window_s))
        if not status and not metadata_filter:
            sql = f"SELECT count(DISTINCT thread_id) FROM checkpoints {where_inner}"
        else:
            sql = f"SELECT count(*) FROM ({threads_sql(where_inner, meta_join, where_outer)}) AS t"
        with self._transaction() as conn:
            if not (status or metadata_filter or where_inner) and self.thread_walk != "never" and (
                    self.thread_walk == "always" or self._table_shape(conn).count_walk_pays()):
                return thread_walk.thread_count(conn)  # one probe per thread, not a read of every checkpoint
            return conn.execute(sql, params).fetchone()[0]

    def _writes_at(self, conn: Any, keys: list[tuple[str, str]], namespace: str = "") -> list[tuple[str, WriteRow]]:
        rows = conn.execute(
            f"""SELECT w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id, w.task_path, w.idx, w.channel, w.type,
                       CASE WHEN w.channel IN ('{ERROR}', '{INTERRUPT}') THEN w.blob END,
                       CASE WHEN w.channel = '{TASKS}' THEN substring(w.blob FROM 1 FOR {SEND_PREFIX_BYTES}) END
                FROM unnest(%s::text[], %s::text[]) AS k(thread_id, checkpoint_id)
                JOIN checkpoint_writes w ON w.thread_id = k.thread_id AND w.checkpoint_ns = %s
                    AND w.checkpoint_id = k.checkpoint_id""",
            ([k[0] for k in keys], [k[1] for k in keys], namespace)).fetchall()
        return [(r[0], WriteRow(*r[1:])) for r in rows]

    def _fill_unnamed_writers(self, conn: Any, wanted: list[tuple[str, str, str, str]]) -> dict[tuple, list[str]]:
        """(thread, ns, checkpoint, parent) -> writers from `versions_seen`, for checkpoints whose parent's writes
        carry no task path. Reads those checkpoints' JSON, so only for the few that need it."""
        if not wanted:
            return {}
        keys = {(t, ns, c) for t, ns, c, _ in wanted} | {(t, ns, p) for t, ns, _, p in wanted}
        rows = conn.execute(
            """SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.checkpoint -> 'versions_seen'
               FROM unnest(%s::text[], %s::text[], %s::text[]) AS k(thread_id, checkpoint_ns, checkpoint_id)
               JOIN checkpoints c USING (thread_id, checkpoint_ns, checkpoint_id)""",
            ([k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys])).fetchall()
        seen = {(t, ns, c): v for t, ns, c, v in rows}
        return {(t, ns, c): writers_by_versions_seen(seen.get((t, ns, c)), seen.get((t, ns, p)))
                for t, ns, c, p in wanted}

    # --- one thread ---------------------------------------------------------------------------------------------
    def history(self, thread_id: str, include_subgraphs: bool = True, since: str | None = None) -> list[CheckpointNode]:
        """Every checkpoint of a thread (all branches; subgraph namespaces too unless told not to), oldest first;
        `since`: only the checkpoints from that id on (ids are time-ordered: what a run saved after it began)."""
        ns_filter = "" if include_subgraphs else "AND checkpoint_ns = ''"
        ns_filter += " AND checkpoint_id >= %s" if since else ""
        params = (thread_id, since) if since else (thread_id,)
        with self._transaction() as conn:
            rows = conn.execute(
                f"""SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id, metadata FROM checkpoints
                    WHERE thread_id = %s {ns_filter} ORDER BY checkpoint_id, checkpoint_ns""", params).fetchall()
            if not rows:
                raise UnknownThread(f"unknown thread {thread_id!r}: no checkpoint has this thread id")
            write_rows = [WriteRow(*r) for r in conn.execute(
                f"""SELECT checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type,
                           CASE WHEN channel = '{ERROR}' THEN blob END,
                           CASE WHEN channel = '{TASKS}' THEN substring(blob FROM 1 FOR {SEND_PREFIX_BYTES}) END
                    FROM checkpoint_writes WHERE thread_id = %s {ns_filter}""", params).fetchall()]
            writes: dict[tuple[str, str], list[WriteRow]] = {}
            for w in write_rows:
                writes.setdefault((w.checkpoint_ns, w.checkpoint_id), []).append(w)
            unnamed = self._fill_unnamed_writers(conn, [
                (thread_id, ns, cid, parent) for ns, cid, parent, metadata in rows
                if parent and (metadata or {}).get("source") == "loop" and unnamed_tasks(writes.get((ns, parent), []))])
        sends = sends_by_checkpoint(write_rows)
        parent_of = {(ns, cid): parent for ns, cid, parent, _ in rows}
        decoder = get_decoder()
        nodes = []
        for ns, cid, parent, metadata in rows:
            metadata = metadata or {}
            here = writes.get((ns, cid), [])
            grandparent = parent_of.get((ns, parent)) if parent else None
            node = CheckpointNode(
                checkpoint_id=cid, parent_checkpoint_id=parent, checkpoint_ns=ns,
                step=_int_or_none(metadata.get("step")), source=metadata.get("source"),
                writers=unnamed.get((thread_id, ns, cid))
                or writers_of(metadata.get("source"), writes.get((ns, parent), []) if parent else [],
                            sends.get((ns, grandparent)) if grandparent else None),
                created_at=checkpoint_time(cid),
                parents=dict(metadata.get("parents") or {}), metadata=metadata,
            )
            parent_sends = sends.get((ns, parent)) if parent else None
            picked = pick_error([(task_node(w.task_path, parent_sends), error_text(decoder.decode(w.type, w.blob)))
                                  for w in here if w.channel == ERROR])
            if picked:
                node.error_node, node.error = picked
            for w in here:
                if w.channel == INTERRUPT:
                    node.interrupted = True
                    node.interrupt_node = node.interrupt_node or task_node(w.task_path, parent_sends)
            nodes.append(node)
        self._name_sends_after_forks(thread_id, nodes)
        return nodes

    def _name_sends_after_forks(self, thread_id: str, nodes: list[CheckpointNode]) -> None:
        """Writers shown as `send[i]` ran Sends whose TASKS writes are not on the grandparent: the parent is a
        fork or update_state checkpoint, which carries them in its `__pregel_tasks` blob instead. Name them from
        that blob (read only for the few checkpoints that need it)."""
        wanted = {(n.checkpoint_ns, n.parent_checkpoint_id) for n in nodes
                  if n.parent_checkpoint_id and any(w.startswith("send[") for w in n.writers)}
        if not wanted:
            return
        with self._transaction() as conn:
            rows = conn.execute(
                f"""SELECT c.checkpoint_ns, c.checkpoint_id, b.type, b.blob
                    FROM unnest(%s::text[], %s::text[]) AS k(checkpoint_ns, checkpoint_id)
                    JOIN checkpoints c ON c.thread_id = %s AND c.checkpoint_ns = k.checkpoint_ns
                        AND c.checkpoint_id = k.checkpoint_id
                    JOIN checkpoint_blobs b ON b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
                        AND b.channel = '{TASKS}' AND b.version = c.checkpoint -> 'channel_versions' ->> '{TASKS}'""",
                ([ns for ns, _ in wanted], [cid for _, cid in wanted], thread_id)).fetchall()
        decoder = get_decoder()
        names: dict[tuple[str, str], list] = {}
        for ns, cid, type_, blob in rows:
            value = decoder.decode(type_, blob)
            if isinstance(value, list):
                names[(ns, cid)] = [v.get("node") if isinstance(v, dict) else None for v in value]
        for n in nodes:
            found = names.get((n.checkpoint_ns, n.parent_checkpoint_id or ""))
            if not found:
                continue
            renamed: list[str] = []
            for w in n.writers:
                if w.startswith("send[") and w.endswith("]") and w[5:-1].isdigit() and int(w[5:-1]) < len(found):
                    w = found[int(w[5:-1])] or w
                if w not in renamed:
                    renamed.append(w)
            n.writers = renamed

    def find_checkpoint(self, thread_id: str, id_or_prefix: str) -> tuple[str, str]:
        """(namespace, full id) of the one checkpoint of the thread whose id is or starts with `id_or_prefix`."""
        prefix = id_or_prefix.strip()
        if not prefix:
            raise UnknownCheckpoint("an empty checkpoint id matches nothing")
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._transaction() as conn:
            rows = conn.execute(
                "SELECT checkpoint_ns, checkpoint_id FROM checkpoints WHERE thread_id = %s "
                "AND checkpoint_id LIKE %s ESCAPE '\\' ORDER BY checkpoint_ns = '' DESC, checkpoint_id LIMIT 3",
                (thread_id, escaped + "%")).fetchall()
            exact = [r for r in rows if r[1] == prefix]
            if exact:
                return exact[0][0], exact[0][1]
            if not rows:
                self._require_thread(conn, thread_id)
                raise UnknownCheckpoint(f"unknown checkpoint {prefix!r} in thread {thread_id!r}")
        if len({r[1] for r in rows}) > 1:
            raise UnknownCheckpoint(f"checkpoint prefix {prefix!r} matches several checkpoints of thread "
                                    f"{thread_id!r}; give more of the id")
        return rows[0][0], rows[0][1]

    def _require_thread(self, conn: Any, thread_id: str) -> None:
        if conn.execute("SELECT 1 FROM checkpoints WHERE thread_id = %s LIMIT 1", (thread_id,)).fetchone() is None:
            raise UnknownThread(f"unknown thread {thread_id!r}: no checkpoint has this thread id")

    def state_at(self, thread_id: str, checkpoint_id: str, checkpoint_ns: str | None = "") -> CheckpointState:
        """The full state at one checkpoint: inline values plus its blobs, decoded; its pending writes; what runs next.
        `checkpoint_ns=None` looks the id up in every namespace."""
        return self._read_states(thread_id, checkpoint_id, checkpoint_ns, with_parent=False)[0]

    def state_with_parent(self, thread_id: str, checkpoint_id: str, checkpoint_ns: str | None = "",
                          parent: tuple[str, str] | None = None) -> tuple[CheckpointState, CheckpointState | None]:
        """A checkpoint's state and the state it is compared with, in one transaction and as many queries as one
        `state_at`: by default its parent in its own namespace (None for a thread's first checkpoint); `parent`, a
        `(checkpoint_id, checkpoint_ns)`, names another one (the Threads tree puts a subgraph's first checkpoint
        under the enclosing graph's; `lgconsole diff` compares two of its choosing). Equal parts shared: read-only."""
        state, *rest = self._read_states(thread_id, checkpoint_id, checkpoint_ns, with_parent=True, parent=parent)
        return state, (rest[0] if rest else None)

    def _read_states(self, thread_id: str, checkpoint_id: str, checkpoint_ns: str | None, with_parent: bool,
                     parent: tuple[str, str] | None = None) -> list[CheckpointState]:
        """The state at one checkpoint, then (when asked) at its parent or at `parent`: five queries for both."""
        ns_sql = "" if checkpoint_ns is None else "AND checkpoint_ns = %(ns)s"
        params = {"thread": thread_id, "id": checkpoint_id, "ns": checkpoint_ns, "with_parent": with_parent,
                  "parent_id": parent[0] if parent else None, "parent_ns": parent[1] if parent else None}
        with self._transaction() as conn, (get_decoder().sharing() if with_parent else nullcontext()), \
                gc_pause.paused():
            rows = conn.execute(
                f"""WITH c AS (
                        SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint, metadata FROM checkpoints
                        WHERE thread_id = %(thread)s AND checkpoint_id = %(id)s {ns_sql}
                        ORDER BY checkpoint_ns LIMIT 1)
                    SELECT 0, *, {LATEST.format(c="c")} FROM c
                    UNION ALL
                    SELECT 1, p.checkpoint_ns, p.checkpoint_id, p.parent_checkpoint_id, p.checkpoint, p.metadata,
                           {LATEST.format(c="p")}
                    FROM c JOIN checkpoints p ON %(with_parent)s AND p.thread_id = %(thread)s
                        AND p.checkpoint_ns = coalesce(%(parent_ns)s::text, c.checkpoint_ns)
                        AND p.checkpoint_id = coalesce(%(parent_id)s::text, c.parent_checkpoint_id)""",
                params).fetchall()
            rows = [(ns, cid, up, checkpoint if isinstance(checkpoint, dict) else {}, metadata or {}, live)
                    for _, ns, cid, up, checkpoint, metadata, live in sorted(rows, key=lambda r: r[0])]
            if not rows:
                self._require_thread(conn, thread_id)
                where = "" if checkpoint_ns in ("", None) else f" namespace {checkpoint_ns!r} of"
                raise UnknownCheckpoint(f"unknown checkpoint {checkpoint_id!r} in{where} thread {thread_id!r}")
            if parent and len(rows) < 2:
                where = f" namespace {parent[1]!r} of" if parent[1] else ""
                raise UnknownCheckpoint(f"unknown checkpoint {parent[0]!r} in{where} thread {thread_id!r}")
            blobs = state_blobs(conn, thread_id, rows)
            here = list(dict.fromkeys((ns, cid) for ns, cid, *_ in rows))
            unreadable: list[list[str]] = [[] for _ in rows]  # per state: labels of values shown as placeholders
            decoded = decode_blobs(blobs, unreadable)
            raws = [raw_values(conn, thread_id, r, decoded[i], unreadable[i]) for i, r in enumerate(rows)]
            write_rows = [WriteRow(*r) for r in conn.execute(
                f"""SELECT w.checkpoint_ns, w.checkpoint_id, w.task_id, w.task_path, w.idx, w.channel, w.type, w.blob,
                           CASE WHEN w.channel = '{TASKS}' THEN substring(w.blob FROM 1 FOR {SEND_PREFIX_BYTES}) END
                    FROM unnest(%s::text[], %s::text[]) AS k(checkpoint_ns, checkpoint_id)
                    JOIN checkpoint_writes w ON w.thread_id = %s AND w.checkpoint_ns = k.checkpoint_ns
                        AND w.checkpoint_id = k.checkpoint_id""",
                ([k[0] for k in here], [k[1] for k in here], thread_id), binary=True).fetchall()]
            # The Sends written on each one's parent name the `~__pregel_push` tasks that wrote on it.
            parents = list(dict.fromkeys((ns, up) for ns, _, up, *_ in rows if up and (ns, up) not in here))
            send_rows = [WriteRow(*r, None, p) for *r, p in conn.execute(
                f"""SELECT w.checkpoint_ns, w.checkpoint_id, w.task_id, w.task_path, w.idx, w.channel, w.type,
                           substring(w.blob FROM 1 FOR {SEND_PREFIX_BYTES})
                    FROM unnest(%s::text[], %s::text[]) AS k(checkpoint_ns, checkpoint_id)
                    JOIN checkpoint_writes w ON w.thread_id = %s AND w.checkpoint_ns = k.checkpoint_ns
                        AND w.checkpoint_id = k.checkpoint_id AND w.channel = '{TASKS}'""",
                ([k[0] for k in parents], [k[1] for k in parents], thread_id)).fetchall()] if parents else []
        sends = sends_by_checkpoint(write_rows + send_rows)
        states = []
        for i, (ns, cid, up, checkpoint, metadata, live) in enumerate(rows):
            states.append(build_state(
                thread_id, ns, cid, up, checkpoint, metadata, raws[i], live,
                [w for w in write_rows if (w.checkpoint_ns, w.checkpoint_id) == (ns, cid)],
                sends.get((ns, up)) if up else None, unreadable[i], graph_shape(self.graph_spec, metadata, ns)))
        return states


# --- helpers ---------------------------------------------------------------------------------------------------------

def _due_node(due: list[str], head_rows: list[WriteRow]) -> str | None:
    """The first node due at a head whose task has not saved its writes yet (the one running or waited on)."""
    done = {task_node(r.task_path, None) for r in head_rows if r.channel not in SPECIAL_WRITES and r.channel != TASKS}
    left = [n for n in due if n not in done]
    return (left or due or [None])[0]


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
