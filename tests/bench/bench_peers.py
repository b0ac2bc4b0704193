"""lgconsole against its peers, on the same data, in the same run: ONE table, each row lgconsole vs a peer and the ratio.

Not a test; asserts nothing. Brings up a stack of its own in /tmp (timed: that is the bring-up row), fills its
Postgres with the shared generator (tests/bench/checkpoint_data.py: templates by real demo runs through the server,
cloned in SQL; QUICK = 200 threads x ~20 checkpoints, `--big` = 10k x ~100 = ~1M), makes the server know the
generated threads (so its `threads.search` sees the same threads), writes a thread with 10k messages at two
checkpoints, then measures:

  (a) cold start, from process start (spawn) in a fresh process: the console headless (`run_test`, Threads screen,
      key 4) to its first painted frame and to the threads listed; vs the server's `threads.search` round trip from a
      fresh process and `langgraph-checkpoint threads --db URL` (PyPI langgraph-checkpoint-cli 0.1.0, in a venv of
      its own: `--peer-venv`, default .venv-peer, created when missing); `lgconsole threads` (CLI) vs the latter too
  (b) warm, median of `--repeat`: 50 most recent threads, one thread's history, state at a checkpoint: the SQL reader
      (CheckpointReader) vs the server API (threads.search / get_history / get_state); and the cold CLIs
      (`lgconsole history` vs `langgraph-checkpoint history`)
  (c) diff two checkpoints of a thread with 10k messages: read both + diff_states vs get_state x2 + a Python
      comparison of the two `values` (the server has no diff endpoint); `lgconsole diff` vs `langgraph-checkpoint diff`
  (d) peak RSS of the console process after listing the threads (the 1M database with --big), vs the peer CLI's
  (e) bench_bringup.timed_up vs bench_bringup.langgraph_dev_alone; bench_live.run_at_rate (highest sustained event
      rate) vs the server's own emission rate; bench_live.long_stream_rss

Ratio = lgconsole / peer: below 1 lgconsole is faster (or smaller); for event rates it is peer / lgconsole.

    .venv/bin/python tests/bench/bench_peers.py            # quick, a few minutes on 2 cores
    .venv/bin/python tests/bench/bench_peers.py --big      # ~1M checkpoints (~5 min to generate, ~10 GB)
    .venv/bin/python tests/bench/bench_peers.py --big --keep                 # ... and leave that stack running
    .venv/bin/python tests/bench/bench_peers.py --big --reuse STATE_DIR      # measure again on it, nothing generated
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/, for stackutil (and bench_live's fixtures)
sys.path.insert(0, str(HERE))  # tests/bench/

import bench_bringup  # noqa: E402
import bench_live  # noqa: E402
from checkpoint_data import (FULL, QUICK, attach, bench_thread_ids, generate_dataset,  # noqa: E402
                             make_message_thread, shape, table_sizes)
from stackutil import make_config, new_state_dir, remember_server, remove_state_dir, stop_stack  # noqa: E402
from results import Table, write_block  # noqa: E402
from timing import timed, timed_together  # noqa: E402

from lgconsole.console.model.state_diff import diff_states  # noqa: E402
from lgconsole.stack.checkpoints.reader import CheckpointReader  # noqa: E402
from lgconsole.stack.services.supervisor import StackSpec, build_services  # noqa: E402

REPO = HERE.parents[1]
PEER_PACKAGE = "langgraph-checkpoint-cli[postgres]==0.1.0"  # [postgres]: without it `--db postgresql://` fails

# The console in a fresh process: time.time() marks against the parent's spawn time, printed as JSON.
CONSOLE_CHILD = r"""
import asyncio, json, sys, time
from pathlib import Path
T0 = float(sys.argv[2])
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import load_config

async def visit(t0):
    # first frame, key 4, the rows, the newest thread's detail: seconds from t0 to each
    app = LgConsoleApp(load_config(Path(sys.argv[1]), env={}), triage_first=False)
    marks = {}
    async with app.run_test(size=(120, 40)) as pilot:
        marks["first_frame"] = time.time() - t0  # run_test returns once the first screen is mounted and painted
        # The key in a task of its own: Pilot's press returns only when the app is idle, i.e. after the newest
        # thread's tree, state and diff were read too. What the user sees is polled here instead, every 2 ms.
        pressed = time.time()
        press = asyncio.create_task(pilot.press("4"))
        while type(app.screen).__name__ != "ThreadsScreen":
            await asyncio.sleep(0.002)
        marks["screen_mounted"] = time.time() - t0
        deadline = time.time() + 600
        while time.time() < deadline:
            try:
                if app.screen.query_one("ThreadTable").row_count > 0:
                    break
            except Exception:  # not composed yet
                pass
            await asyncio.sleep(0.002)
        marks["threads_listed"] = time.time() - t0  # in the table; painted at the next refresh
        marks["key4"] = time.time() - pressed
        while time.time() < deadline and getattr(app.screen, "state", None) is None:  # the newest thread's state
            await asyncio.sleep(0.002)
        marks["detail"] = time.time() - t0
        await press
        marks["rows"] = app.screen.table.row_count
    return marks

async def main():
    marks = await visit(T0)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            marks["hwm_mb"] = int(line.split()[1]) / 1024
    # warm: a second console in the same process (imports done, Postgres's buffers warm), key 4 to the rows
    marks["warm_key4"] = (await visit(time.time()))["key4"]
    print("LGC-MARKS " + json.dumps(marks), flush=True)

asyncio.run(main())
"""

# The console's floor: a Textual hello-world (header, one line, footer) in a fresh process, to its first frame.
HELLO_CHILD = r"""
import asyncio, sys, time
T0 = float(sys.argv[1])
from textual.app import App
from textual.widgets import Footer, Header, Static

class Hello(App):
    def compose(self):
        yield Header()
        yield Static("hello")
        yield Footer()

async def main():
    async with Hello().run_test(size=(120, 40)):
        print("LGC-MARKS " + '{"first_frame": %f}' % (time.time() - T0), flush=True)

asyncio.run(main())
"""

# The cold floor of a CLI read: python + psycopg, connect, one query, print (the thread's checkpoint count).
FLOOR_CHILD = r"""
import sys
import psycopg
with psycopg.connect(sys.argv[1]) as conn:
    print(conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s", (sys.argv[2],)).fetchone()[0])
"""

SEARCH_CHILD = r"""
import sys
from langgraph_sdk import get_sync_client
client = get_sync_client(url=sys.argv[1], timeout=600)
found = client.threads.search(limit=50)
print(len(found))
"""


# --- helpers -----------------------------------------------------------------------------------------------------

def spawn(argv: list[str], env: dict | None = None) -> dict:
    """Run argv to its end; seconds from spawn to exit, peak RSS (MiB) of that process, its stdout, rc."""
    t0 = time.time()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                             env={**os.environ, **(env or {})})
    out, err = child.communicate(timeout=900)
    took = time.time() - t0
    # communicate() reaped it; its peak RSS is in the children's rusage delta
    return {"s": took, "rc": child.returncode, "out": out, "err": err, "t0": t0}


def _hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def spawn_rss(argv: list[str], env: dict | None = None, timeout: float | None = None,
              max_rss_mb: float | None = None) -> dict:
    """Like spawn, with the process's peak RSS: its VmHWM, polled every 5 ms until it exits (wait4's ru_maxrss is
    no good here: it keeps the forking parent's high-water mark across exec). Past `timeout` seconds the process is
    killed, and so is one whose RSS passes `max_rss_mb` (before the box runs out of memory); `killed` then says
    why and its "s" and "rss_mb" are lower bounds."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.time()
        child = subprocess.Popen([*argv[:1], *[a.replace("{T0}", repr(t0)) for a in argv[1:]]], stdout=out,
                                 stderr=err, text=True, cwd=REPO, env={**os.environ, **(env or {})})
        peak = 0.0
        killed = ""
        while child.poll() is None:
            peak = max(peak, _hwm_mb(child.pid) or 0.0)
            if timeout is not None and time.time() - t0 > timeout:
                killed = f"after {time.time() - t0:.0f} s (--peer-timeout)"
            elif max_rss_mb is not None and peak > max_rss_mb:
                killed = f"at {peak:,.0f} MiB RSS after {time.time() - t0:.0f} s (--peer-max-rss)"
            if killed:
                child.kill()
                child.wait()
                break
            time.sleep(0.005)
        took = time.time() - t0
        out.seek(0)
        err.seek(0)
        return {"s": took, "rc": child.returncode, "out": out.read(), "err": err.read(), "t0": t0, "rss_mb": peak,
                "killed": killed}


def with_floor(argv: list[str], pg_url: str, thread_id: str, runs: int) -> tuple[list[dict], float]:
    """`argv` run cold `runs` times, each run next to one of the cold floor (FLOOR_CHILD), so that the load of a
    shared box falls on both alike: the command's runs and the floor's median in ms."""
    ours, floor = [], []
    for _ in range(runs):
        floor.append(spawn([sys.executable, "-c", FLOOR_CHILD, pg_url, thread_id])["s"])
        ours.append(spawn_rss(argv))
    return ours, statistics.median(floor) * 1000


def _half_the_memory_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 2
    return 8192.0


def median_of(fn, repeat: int) -> tuple[float, object]:
    samples, result = timed(fn, repeat)
    return statistics.median(samples), result


def peer_cli(venv: Path) -> tuple[Path | None, str]:
    """The peer's executable in its own venv (created when missing), or None and why not."""
    exe = venv / "bin" / "langgraph-checkpoint"
    ready = [str(venv / "bin" / "python"), "-c", "import langgraph.checkpoint.postgres, langgraph_checkpoint_cli"]
    if exe.exists() and subprocess.run(ready, capture_output=True, timeout=120, check=False).returncode == 0:
        return exe, ""
    print(f"installing {PEER_PACKAGE} into {venv} ...", flush=True)
    try:
        if not (venv / "bin" / "pip").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
        done = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", PEER_PACKAGE],
                              capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"venv {venv}: {exc}"
    if done.returncode != 0 or not exe.exists():
        last = ([x for x in done.stderr.strip().splitlines() if not x.startswith("WARNING: Location")]
                or ["no output"])[-1]
        return None, f"pip install {PEER_PACKAGE} failed: {last}"
    return exe, ""


# --- the measurements ------------------------------------------------------------------------------------------

def measure(args, table: Table, config_path: Path, pg_url: str, lg_url: str, data: dict,
            msgs: tuple[str, str, str], peer: Path | None, peer_why: str) -> None:
    from lgconsole.stack.server.credentials import credentials_for, sdk_sync_client

    py = sys.executable
    newest = data["ids"][-1]
    lgc = [py, "-m", "lgconsole.console", "--config", str(config_path)]

    failed: dict[str, str] = {}  # peer command -> why it gave no number
    cut: dict[str, str] = {}  # peer command -> when and why it was killed
    peer_runs = args.peer_runs or min(args.cold, 3)  # (the peers are 3-10x off: three runs tell that)

    def cut_note(command: str) -> str:
        return f"; KILLED {cut[command]}: a lower bound" if command in cut else ""

    def peer_run(*cli_args: str) -> dict | None:
        if peer is None:
            return None
        got = spawn_rss([str(peer), *cli_args, "--db", pg_url], timeout=args.peer_timeout,
                        max_rss_mb=args.peer_max_rss)
        if got["killed"]:  # a lower bound: the row says so
            cut[cli_args[0]] = got["killed"]
            print(f"  peer {cli_args[0]} killed {got['killed']}", flush=True)
            return got
        if got["rc"] != 0:
            why = " ".join((got["err"].strip().splitlines() or ["?"])[-1].split())[:160]
            failed[cli_args[0]] = f"exit {got['rc']}: {why}"
            print(f"  peer {cli_args[0]} failed, {failed[cli_args[0]]}", flush=True)
            return None
        return got

    def peer_na(command: str) -> str:
        return f" (n/a: {peer_why or failed.get(command, 'failed')})"

    def best(runs: list[dict | None], key: str = "s") -> float | None:
        ok = [r[key] for r in runs if r]
        return statistics.median(ok) if ok else None

    # (a) cold start
    print("(a) cold starts ...", flush=True)
    console, hello = [], []
    for _ in range(args.cold):  # in turns with the hello-world floor, so a shared box's load falls on both alike
        for child, runs in ((CONSOLE_CHILD, console), (HELLO_CHILD, hello)):
            got = spawn_rss([py, "-c", child, *([str(config_path)] if child is CONSOLE_CHILD else []), "{T0}"])
            line = next((x for x in got["out"].splitlines() if x.startswith("LGC-MARKS ")), None)
            if got["rc"] != 0 or line is None:
                raise RuntimeError(f"console child failed rc={got['rc']}: {got['err'][-2000:]}")
            marks = json.loads(line[len("LGC-MARKS "):])
            runs.append({**marks, "rss_mb": marks.get("hwm_mb") or got["rss_mb"]})
    key = {"LANGGRAPH_API_KEY": credentials_for(lg_url).bearer_token or ""}  # a fresh client, as an application
    search = [spawn([py, "-c", SEARCH_CHILD, lg_url], env=key) for _ in range(args.cold)]
    peer_threads = [peer_run("threads") for _ in range(peer_runs)]
    lgc_threads, threads_floor = with_floor([*lgc, "threads", "--limit", "50"], pg_url, newest, args.cold)
    first = statistics.median(c["first_frame"] for c in console) * 1000
    listed = statistics.median(c["threads_listed"] for c in console) * 1000
    search_ms = statistics.median(s["s"] for s in search) * 1000
    peer_ms = best(peer_threads)
    peer_ms = peer_ms * 1000 if peer_ms else None
    why = peer_na("threads")[7:-1]
    peer_lines = len(peer_threads[0]["out"].strip().splitlines()) if peer_threads and peer_threads[0] else 0
    table.section(f"(a) cold start, fresh process, spawn -> done (median of {args.cold}"
                  + (f"; the peer CLI: {peer_runs}" if peer_runs != args.cold else "") + ")")
    hello_ms = statistics.median(h["first_frame"] for h in hello) * 1000
    table.add("console: first painted frame", first, search_ms, "server threads.search(50), fresh process",
              floor=hello_ms, floor_name="a Textual hello-world's first frame, in turns with it")
    mounted = statistics.median(c["screen_mounted"] for c in console) * 1000
    table.add("console: key 4 -> Threads screen current (no rows yet)", mounted, search_ms,
              "server threads.search(50), fresh process")
    table.add(f"console: Threads screen listed ({console[0]['rows']} rows)", listed, search_ms,
              "server threads.search(50), fresh process")
    detail = statistics.median(c["detail"] for c in console) * 1000
    table.add("console: ... and the newest thread's tree, state and diff", detail, search_ms,
              "server threads.search(50), fresh process")
    table.add("console: Threads screen listed", listed, peer_ms,
              "langgraph-checkpoint threads --db" + (f" (n/a: {why})" if not peer_ms else
                                                     f" ({peer_lines} lines out: every thread)") + cut_note("threads"))
    table.add("lgconsole threads --limit 50 (CLI)", best(lgc_threads) * 1000, peer_ms,
              "langgraph-checkpoint threads --db" + (f" (n/a: {why})" if not peer_ms else "") + cut_note("threads"),
              floor=threads_floor)
    table.target("console: first frame / a Textual hello-world's", first / hello_ms, "<= 1.10", first <= 1.1 * hello_ms)
    key4 = statistics.median(c["key4"] for c in console) * 1000
    warm_key4 = statistics.median(c["warm_key4"] for c in console) * 1000
    table.add("console: key 4 -> rows listed (cold process)", key4, None, "no peer")
    table.add("console: key 4 -> rows listed (warm: a second console in the process)", warm_key4, None, "no peer")
    table.target("console: key 4 -> rows listed, warm (ms)", warm_key4,
                 "<= 250 ms (at 1M)" if args.big else "<= 250 ms (set at 1M)", warm_key4 <= 250)
    cli_target(table, "threads", best(lgc_threads) * 1000, threads_floor, peer_ms)

    # (b) warm reads, same data
    print("(b) warm reads ...", flush=True)
    client = sdk_sync_client(lg_url, timeout=600)
    reader = CheckpointReader(pg_url, statement_timeout_s=600)
    try:
        history = reader.history(newest)
        root = [n for n in history if not n.checkpoint_ns]
        head = max(root, key=lambda n: n.checkpoint_id)
        table.section(f"(b) warm reads, median of {args.repeat} (thread {newest[:8]}: {len(history)} checkpoints, "
                      f"{len(root)} root)")
        page = reader.list_threads(limit=50)
        ours, sql_floor = raw_sql_floor(pg_url, args.repeat, lambda: reader.list_threads(limit=50))
        theirs, found = median_of(lambda: client.threads.search(limit=50), args.repeat)
        table.add("50 most recent threads: list_threads(50)", ours, theirs,
                  f"threads.search(limit=50) ({len(page)} vs {len(found)} threads)", floor=sql_floor,
                  floor_name="raw SQL: the 50 newest thread ids and counts, the faster of GROUP BY and the key walk")
        table.target("50 newest threads with counts / raw-SQL floor", ours / sql_floor,
                     "<= 1.50 (at 1M, no index)" if args.big else "<= 1.50 (set at 1M; at 4k the floor is 1-2 ms)",
                     ours <= 1.5 * sql_floor)
        ours, nodes = median_of(lambda: reader.history(newest, include_subgraphs=False), args.repeat)
        theirs, found = median_of(lambda: client.threads.get_history(newest, limit=1000), args.repeat)
        table.add("one thread's history: history(root only)", ours, theirs,
                  f"threads.get_history(limit=1000) ({len(nodes)} vs {len(found)} checkpoints)")
        ours, _ = median_of(lambda: reader.history(newest), args.repeat)
        table.add("one thread's history, subgraphs incl.", ours, theirs,
                  "threads.get_history (root only: it has no all-namespace history)")
        ours, _ = median_of(lambda: reader.state_at(newest, head.checkpoint_id), args.repeat)
        theirs, _ = median_of(lambda: client.threads.get_state(newest, checkpoint_id=head.checkpoint_id),
                              args.repeat)
        table.add("state at a checkpoint: state_at(head)", ours, theirs, "threads.get_state(checkpoint_id=head)")
        lgc_hist, hist_floor = with_floor([*lgc, "history", newest], pg_url, newest, args.cold)
        peer_hist = [peer_run("history", newest) for _ in range(peer_runs)]
        ph = best(peer_hist)
        table.add("lgconsole history THREAD (CLI, cold)", best(lgc_hist) * 1000, ph * 1000 if ph else None,
                  "langgraph-checkpoint history THREAD --db" + ("" if ph else peer_na("history")) + cut_note("history"),
                  floor=hist_floor)
        cli_target(table, "history", best(lgc_hist) * 1000, hist_floor, ph * 1000 if ph else None)

        # (c) diff of two checkpoints with 10k messages
        print("(c) diff, 10k messages ...", flush=True)
        tid, a, b = msgs

        def ours_diff():
            sa, sb = reader.state_at(tid, a), reader.state_at(tid, b)
            return diff_states(sa.values, sb.values)

        def peer_diff():
            va = client.threads.get_state(tid, checkpoint_id=a)["values"]
            vb = client.threads.get_state(tid, checkpoint_id=b)["values"]
            changed = sorted(k for k in set(va) | set(vb) if va.get(k) != vb.get(k))
            ids_a = {m.get("id") for m in va.get("messages") or []}
            added = [m for m in vb.get("messages") or [] if m.get("id") not in ids_a]
            return changed, added

        repeat = max(3, args.repeat // 2)
        ours, _ = median_of(ours_diff, repeat)
        theirs, (changed, added) = median_of(peer_diff, repeat)
        sa, sb = reader.state_at(tid, a), reader.state_at(tid, b)
        only, _ = median_of(lambda: diff_states(sa.values, sb.values), repeat)
        n_msgs = len(sb.values.get("messages") or [])
        table.section(f"(c) diff two checkpoints, {n_msgs:,} messages, median of {repeat}")
        table.add("read both states + diff_states", ours, theirs,
                  f"get_state x2 + Python compare of values ({len(changed)} keys, {len(added)} msgs added); "
                  "the server has no diff endpoint")
        table.add("diff_states alone (states in memory)", only, None, "no peer: the comparison is the client's")
        lgc_diff, diff_floor = with_floor([*lgc, "diff", tid, a, b], pg_url, tid, args.cold)
        peer_d = [peer_run("diff", tid, "--from", a, "--to", b) for _ in range(peer_runs)]
        pd = best(peer_d)
        table.add("lgconsole diff THREAD A B (CLI, cold)", best(lgc_diff) * 1000, pd * 1000 if pd else None,
                  "langgraph-checkpoint diff THREAD --from A --to B" + ("" if pd else peer_na("diff"))
                  + cut_note("diff"), floor=diff_floor)
        cli_target(table, "diff", best(lgc_diff) * 1000, diff_floor, pd * 1000 if pd else None)
    finally:
        reader.close()
        client.close()

    # (d) memory
    size = "1M-checkpoint" if args.big else f"{data['sizes'][0]:,}-checkpoint"
    table.section(f"(d) peak RSS with the {size} database open (MiB)")
    table.add("console process, Threads screen listed", statistics.median(c["rss_mb"] for c in console),
              best(peer_threads, "rss_mb"), "langgraph-checkpoint threads process" + cut_note("threads") +
              ("" if peer_ms else f" (n/a: {why})"), unit="MiB")
    table.add("lgconsole threads (CLI) process", best(lgc_threads, "rss_mb"), best(peer_threads, "rss_mb"),
              "langgraph-checkpoint threads process" + ("" if peer_ms else f" (n/a: {why})"), unit="MiB")
    if args.big:
        index_rows(args, table, lgc, config_path, pg_url, newest)


def index_rows(args, table: Table, lgc: list[str], config_path: Path, pg_url: str, newest: str) -> None:
    """At 1M: the thread list again with lgconsole's opt-in index (`lgconsole threads --create-index`), built here and
    dropped at the end (a --reuse run starts without it): the warm list, the cold CLI, key 4 in a warm console."""
    import psycopg
    from lgconsole.stack.checkpoints.index import RECENT_INDEX, create_recent_index

    print("(f) with lgconsole's opt-in index ...", flush=True)
    built = create_recent_index(pg_url)
    try:
        reader = CheckpointReader(pg_url, statement_timeout_s=600)
        try:
            ours, _ = median_of(lambda: reader.list_threads(limit=50), args.repeat)
        finally:
            reader.close()
        lgc_threads, threads_floor = with_floor([*lgc, "threads", "--limit", "50"], pg_url, newest, args.cold)
        console = []
        for _ in range(args.cold):
            got = spawn_rss([sys.executable, "-c", CONSOLE_CHILD, str(config_path), "{T0}"])
            line = next((x for x in got["out"].splitlines() if x.startswith("LGC-MARKS ")), None)
            if got["rc"] != 0 or line is None:
                raise RuntimeError(f"console child failed rc={got['rc']}: {got['err'][-2000:]}")
            console.append(json.loads(line[len("LGC-MARKS "):]))
        table.section(f"(f) with lgconsole's opt-in index ({built.size}, built CONCURRENTLY in {built.seconds:.1f} s)")
        table.add("50 most recent threads: list_threads(50), warm", ours, None, "no peer")
        table.add("lgconsole threads --limit 50 (CLI)", best_of(lgc_threads) * 1000, None, "no peer",
                  floor=threads_floor)
        cold4 = statistics.median(c["key4"] for c in console) * 1000
        warm4 = statistics.median(c["warm_key4"] for c in console) * 1000
        table.add("console: key 4 -> rows listed (cold process)", cold4, None, "no peer")
        table.add("console: key 4 -> rows listed (warm: a second console in the process)", warm4, None, "no peer")
        table.target("with the opt-in index: 50 newest threads (ms, warm)", ours, "<= 20 ms", ours <= 20)
        table.target("with the opt-in index: key 4 -> rows listed, warm (ms)", warm4, "<= 250 ms", warm4 <= 250)
        cold = best_of(lgc_threads) * 1000
        table.target("with the opt-in index: lgconsole threads (cold CLI) / python+psycopg floor", cold / threads_floor,
                     "<= 1.30", cold <= 1.3 * threads_floor)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP INDEX IF EXISTS {RECENT_INDEX}")


def best_of(runs: list[dict]) -> float:
    return statistics.median(r["s"] for r in runs)


def cli_target(table: Table, command: str, ours: float, floor: float, peer: float | None) -> None:
    table.target(f"lgconsole {command} (cold CLI) / python+psycopg floor", ours / floor, "<= 1.30", ours <= 1.3 * floor)
    table.target(f"lgconsole {command} (cold CLI) / peer CLI", ours / peer if peer else None, "< 1.00",
                 bool(peer) and ours < peer)


def raw_sql_floor(pg_url: str, repeat: int, ours) -> tuple[float, float]:
    """`ours` and bench_threads_1m's raw-SQL floors of the 50 newest threads with their counts (nothing decoded),
    measured in turns (at 1M a read's time moves with Postgres's cache by a third from one minute to the next): the
    median ms of `ours` and of the faster floor."""
    import psycopg
    from bench_threads_1m import FLOOR_GROUP_BY, FLOOR_WALK

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SET jit = off")  # the floor at its best, as lgconsole's own sessions run (JIT costs ~0.1 s at 1M)
        samples = timed_together({
            "ours": ours,
            "group by": lambda: conn.execute(FLOOR_GROUP_BY).fetchall(),
            "walk": lambda: conn.execute(FLOOR_WALK, {"max_steps": 2**31 - 1, "wanted": 50}).fetchall()}, repeat)
    ours_ms = statistics.median(samples.pop("ours"))
    return ours_ms, min(statistics.median(v) for v in samples.values())


def timed_throwaway_up() -> dict[str, float]:
    """bench_bringup.timed_up on a stack of its own, stopped and removed at once."""
    state_dir = new_state_dir()
    config = make_config(state_dir)
    try:
        return bench_bringup.timed_up(config)
    finally:
        stop_stack(config)
        remove_state_dir(state_dir)


def live_rows(args, table: Table) -> None:
    """bench_live's own functions, fewer rates and a shorter stream than its default run."""
    print("(e) live pipeline ...", flush=True)
    rates = [int(r) for r in args.live_rates.split(",")]

    async def go():
        return [await bench_live.run_at_rate(r, args.live_seconds) for r in rates]

    rows = asyncio.run(go())
    sustained = [r for r in rows if r["achieved"] >= 0.95 * r["rate"] and r["p95_ms"] < 250]
    best = max(sustained, key=lambda r: r["rate"]) if sustained else None
    low = [r for r in rows if r["rate"] <= 1000]
    worst = max((r["p95_ms"] for r in low), default=None)
    if worst is not None:
        table.add("live: worst p95 arrival -> paint up to 1,000 ev/s", worst, None,
                  f"rates {', '.join(str(r['rate']) for r in low)}: the screen's repaint done")
        table.add("  ... -> the frame written to the terminal, p95", max(r["screen_p95_ms"] for r in low), None,
                  "Textual's next screen update (up to 1/60 s later), its layout and render included")
    table.target("live: sustained >= 10,000 events/s", best["rate"] if best else 0, ">= 10,000 ev/s",
                 bool(best) and best["rate"] >= 10_000)
    table.target("live: p95 arrival -> paint <= 33 ms up to 1,000 ev/s", worst, "<= 33 ms",
                 worst is not None and worst <= 33)
    server = bench_live.SERVER_RATES["langgraph dev + Postgres checkpointer"]
    table.add("live screen: highest sustained event rate", best["rate"] if best else None, server,
              f"the server's own emission (Postgres checkpointer, shared/facts); rates tried {args.live_rates}",
              unit="ev/s", inverse=True)
    if best:
        table.add("  added latency at that rate, p95", best["p95_ms"], None, "no peer (the server adds none)")
    long = bench_live.long_stream_rss(args.long_events)
    table.add(f"RSS after a {long['events']:,}-event stream (this process)", long["rss_after_mb"], None,
              f"no peer; RSS before {long['rss_before_mb']:.0f} MiB, steps kept {long['steps_kept']}", unit="MiB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", action="store_true", help="10k threads x ~100 checkpoints (~1M) instead of 200 x ~20")
    parser.add_argument("--threads", type=int, help="override the size's thread count")
    parser.add_argument("--checkpoints", type=int, help="override the size's checkpoints a thread")
    parser.add_argument("--attach", type=int, default=1000, help="generated threads made known to the server")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--cold", type=int, default=7, help="fresh processes per cold measurement (their median; "
                                                          "with 3, a shared 2-core box moved a ratio by 0.1 between "
                                                          "runs, as much as a target's margin)")
    parser.add_argument("--peer-runs", type=int, help="fresh peer CLI processes per row (default: --cold; 1 with "
                                                      "--big, where its `threads` reads every checkpoint: ~19 min)")
    parser.add_argument("--peer-timeout", type=float, default=1800, help="seconds before a peer CLI process is killed "
                                                                         "(its row then says so: a lower bound)")
    parser.add_argument("--peer-max-rss", type=float, default=_half_the_memory_mb(),
                        help="MiB of RSS at which a peer CLI process is killed (default: half this machine's memory)")
    parser.add_argument("--live-rates", default="300,1000,4000,10000,16000")
    parser.add_argument("--live-seconds", type=float, default=2.0)
    parser.add_argument("--long-events", type=int, default=50_000)
    parser.add_argument("--peer-venv", default=str(REPO / ".venv-peer"),
                        help="the peer CLI's own venv (created with pip when missing)")
    parser.add_argument("--keep", action="store_true", help="leave the stack and its data running (prints its state "
                                                            "dir) for --reuse")
    parser.add_argument("--reuse", metavar="STATE_DIR", help="measure again on a stack left by --keep (same --big/"
                                                             "--threads): nothing is generated; bring-up is timed on "
                                                             "a throwaway stack")
    args = parser.parse_args()
    threads, checkpoints = FULL if args.big else QUICK
    threads, checkpoints = args.threads or threads, args.checkpoints or checkpoints
    if args.big and args.peer_runs is None:
        args.peer_runs = 1

    started = datetime.now(UTC)
    table = Table()
    peer, peer_why = peer_cli(Path(args.peer_venv))
    print(f"peer CLI: {peer or 'n/a: ' + peer_why}", flush=True)
    state_dir = Path(args.reuse) if args.reuse else new_state_dir()
    config = None if args.reuse else make_config(state_dir)
    try:
        if args.reuse:
            print(f"reusing the stack in {state_dir}", flush=True)
            up = timed_throwaway_up()
        else:
            print(f"starting a stack in {state_dir} (timed) ...", flush=True)
            up = bench_bringup.timed_up(config)
        services = build_services(StackSpec.load(state_dir))
        pg_url, lg_url = services["postgres"].url(), services["langgraph"].url()
        remember_server(state_dir)  # this process's SDK clients send the (reused) stack's token
        attached = min(args.attach, threads)
        if args.reuse:
            data = {"ids": bench_thread_ids(threads), "sizes": table_sizes(pg_url)}
            print(f"  {data['sizes'][0]:,} checkpoints, {data['sizes'][1]:,} blobs, {data['sizes'][2]:,} writes, "
                  f"{data['sizes'][3]}", flush=True)
        else:
            print(f"generating {threads:,} threads x ~{checkpoints} checkpoints ...", flush=True)
            data = generate_dataset(pg_url, lg_url, threads, checkpoints)
            attach_s = asyncio.run(attach(lg_url, data["ids"][-attached:]))
            sizes = data["sizes"]
            print(f"  {sizes[0]:,} checkpoints, {sizes[1]:,} blobs, {sizes[2]:,} writes, {sizes[3]}; templates "
                  f"{data['templates_s']:.0f}s, generated {data['generate_s']:.0f}s, vacuum {data['vacuum_s']:.0f}s, "
                  f"{attached} attached to the server in {attach_s:.0f}s", flush=True)
            print(f"  shape: {shape(pg_url)}", flush=True)
        sizes = data["sizes"]
        print(f"a thread with {args.messages:,} messages ...", flush=True)
        msgs = make_message_thread(lg_url, args.messages)
        measure(args, table, state_dir / "lgconsole.toml", pg_url, lg_url, data, msgs, peer, peer_why)
    finally:
        if args.keep or args.reuse:
            print(f"stack left running: {state_dir} (`lgconsole --state-dir {state_dir} down` stops it)", flush=True)
        else:
            stop_stack(config)
            remove_state_dir(state_dir)
    print("(e) langgraph dev alone ...", flush=True)
    dev = bench_bringup.langgraph_dev_alone()
    table.section("(e) bring-up (s) and the live pipeline (bench_bringup, bench_live functions)")
    table.add("lgconsole up, whole stack, cold (initdb incl.)", up["stack"], dev, "langgraph dev alone, in-memory",
              unit="s", note=", ".join(f"{k} {v:.1f}s" for k, v in up.items() if k != "stack"))
    table.target("bring-up cold / langgraph dev alone", up["stack"] / dev, "<= 1.50", up["stack"] <= 1.5 * dev)
    live_rows(args, table)

    print(f"\nlgconsole vs peers, {started:%Y-%m-%d %H:%M} UTC, {platform.machine()} "
          f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}, Python {platform.python_version()}; "
          f"data: {threads:,} threads x ~{checkpoints} = {sizes[0]:,} checkpoints ({sizes[3]}), "
          f"{attached} known to the server")
    table.print()
    title = (f"`make bench`{' (`--big`)' if args.big else ''}, {started:%Y-%m-%d %H:%M} UTC, {platform.machine()} "
             f"{os.cpu_count()} CPUs, Python {platform.python_version()}; {threads:,} threads x ~{checkpoints} = "
             f"{sizes[0]:,} checkpoints ({sizes[3]}). Ratios below 1: lgconsole is faster or smaller (for event "
             "rates: peer / lgconsole).")
    block = "peers-1m" if args.big else "peers"
    if write_block(block, f"{title}\n\n{table.markdown_text()}"):
        print(f"README.md: the `{block}` numbers block rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
