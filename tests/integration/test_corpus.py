"""The corpus of foreign graphs (tests/corpus/), each project served from its own directory by the real stack, each
graph driven through two consecutive runs by a plain langgraph-sdk client (tests/corpus_client.py), then checked
through lgconsole against LangGraph's own reads of the same thread (the oracle):

- topology: `lgconsole graph G --json` equals the server's `get_graph`, and `lgconsole graph G` draws every node;
- steps: `lgconsole history T --json` lists the root checkpoints of both runs in order, each with the step, source
  and the node(s) that wrote it, as the oracle's history says (a checkpoint is written by the tasks its parent
  checkpoint lists, less the ones that failed);
- statuses: `lgconsole threads --json` after each run says what the server says of the thread (idle, waiting at the
  node the oracle has next, errored at the node that raised);
- states: at EVERY checkpoint lgconsole's read (root and subgraph namespaces) has the values and `next` LangGraph's
  `get_state(checkpoint)` returns. The counts of compared checkpoints and mismatches per graph are printed at the end.

A disagreement is never loosened here: the graph's case is marked xfail(strict=True) with the precise mismatch.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from corpus_client import CORPUS, SCENARIOS, SERVER_TO_LGCONSOLE, Scenario, drive_phase, expected_steps, new_threads, \
    oracle_graph, oracle_history, oracle_state, oracle_thread, wait_for_steps
from stackutil import lgconsole, own_stack

pytestmark = pytest.mark.integration

@dataclass
class Collected:
    """Everything one graph's case compares, read while its project's stack was up."""

    scenario: Scenario
    thread_id: str
    server_status: list[str] = field(default_factory=list)  # the thread's status after each run, from the server
    run_status: list[str] = field(default_factory=list)
    lgc_threads: list[dict] = field(default_factory=list)  # lgconsole threads --json's row for it after each run
    lgc_graph: dict = field(default_factory=dict)
    lgc_graph_text: str = ""  # `lgconsole graph G`, drawn
    lgc_history: dict = field(default_factory=dict)
    lgc_states: dict = field(default_factory=dict)  # (ns, id) -> {"values", "next"} as lgconsole reads them
    # the same, read two at a time as `lgconsole diff` and the Threads screen read them (a checkpoint with its parent)
    lgc_paired: dict = field(default_factory=dict)
    prefix_hits: int = 0  # lists of the pair decoded once (one list's bytes start the other's)
    oracle_graph: dict = field(default_factory=dict)
    oracle_history: list[dict] = field(default_factory=list)  # root namespace, oldest first
    oracle_states: dict = field(default_factory=dict)  # (ns, id) -> get_state(checkpoint) from the server
    oracle_head: dict = field(default_factory=dict)  # threads.get after the last run
    # after each run, the thread's head as LangGraph's get_state(thread) gives it (pending writes of an errored
    # step applied) and as lgconsole reads that checkpoint: [(checkpoint id, lgconsole's, LangGraph's)]
    heads: list[tuple[str, dict, dict]] = field(default_factory=list)
    watched: list[dict] = field(default_factory=list)  # `lgconsole watch T --json` lines, attached mid-run
    watch_error: str = ""


# the server runtime the corpus is served by: LGCONSOLE_CORPUS_RUNTIME=pg runs it all on langgraph-runtime-pg
RUNTIME = os.environ.get("LGCONSOLE_CORPUS_RUNTIME", "dev")


def _config_text(project: str) -> str:
    return f'[project]\npath = "{CORPUS / project}"\n[langgraph]\nruntime = "{RUNTIME}"\n'


def _cli_json(config, *args: str) -> dict:
    done = lgconsole(*args, "--json", config=config, timeout=180)
    assert done.returncode == 0, f"lgconsole {' '.join(args)} --json: {done.stderr.strip()[-800:]}"
    return json.loads(done.stdout)


def _threads_rows(config) -> dict[str, dict]:
    data = _cli_json(config, "threads", "--limit", "200")
    return {row["thread_id"]: row for row in data["threads"]}


def _langgraph_url(config) -> str:
    from lgconsole.stack.services.supervisor import StackSpec, build_services

    return build_services(StackSpec.load(config.state_path))["langgraph"].url()


def collect_project(project: str) -> dict[str, Collected]:
    scenarios = [s for s in SCENARIOS.values() if s.project == project]
    with own_stack(_config_text(project), timeout=900) as config:
        config_file = config.source
        url = _langgraph_url(config)
        thread_ids = asyncio.run(new_threads(url, scenarios))
        found = {s.graph_id: Collected(s, thread_ids[s.graph_id]) for s in scenarios}
        for turn in range(max(len(s.turns) for s in scenarios)):
            watchers = [_attach_later(config_file, url, found[s.graph_id]) for s in scenarios
                        if s.attach and turn == 0]
            results = asyncio.run(drive_phase(url, scenarios, thread_ids, turn))
            for watcher in watchers:
                watcher.join(timeout=90)
            rows = _threads_rows(config_file)
            for graph_id, (run_status, thread_status) in results.items():
                found[graph_id].run_status.append(run_status)
                found[graph_id].server_status.append(thread_status)
                found[graph_id].lgc_threads.append(rows.get(thread_ids[graph_id], {}))
            _read_heads(config, url, [found[g] for g in results])

        def cli_reads(c: Collected) -> None:
            c.lgc_graph = _cli_json(config_file, "graph", c.scenario.graph_id)
            drawn = lgconsole("graph", c.scenario.graph_id, config=config_file, timeout=180)
            c.lgc_graph_text = drawn.stdout if drawn.returncode == 0 else drawn.stderr
            c.lgc_history = _cli_json(config_file, "history", c.thread_id)

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(cli_reads, found.values()))
        from lgconsole.console.cli.threads import open_reader
        from lgconsole.stack.checkpoints.decoder import jsonable

        with open_reader(config) as reader:
            for c in found.values():
                for node in c.lgc_history["checkpoints"]:
                    key = (node["checkpoint_ns"], node["checkpoint_id"])
                    state = reader.state_at(c.thread_id, node["checkpoint_id"], node["checkpoint_ns"])
                    c.lgc_states[key] = {"values": jsonable(state.values), "next": sorted(state.next)}
            _read_pairs(reader, found.values())

        async def oracle(c: Collected) -> None:
            c.oracle_graph = await oracle_graph(url, c.scenario.graph_id)
            c.oracle_history = await oracle_history(url, c.thread_id)
            c.oracle_head = await oracle_thread(url, c.thread_id)
            keys = {(cp["checkpoint"]["checkpoint_ns"], cp["checkpoint"]["checkpoint_id"]) for cp in c.oracle_history}
            keys |= set(c.lgc_states)
            # The thread's newest root checkpoint is read as LangGraph reads a thread now (get_state with no id:
            # finished tasks' writes of an unfinished step applied, only the rest next); any other at its id.
            newest = max((cid for ns, cid in keys if ns == ""), default=None)
            for ns, cid in sorted(keys):
                state = await oracle_state(url, c.thread_id, None if (ns, cid) == ("", newest) else cid, ns)
                c.oracle_states[(ns, cid)] = None if state is None else {
                    "values": state["values"], "next": sorted(state["next"])}

        async def all_oracles() -> None:
            await asyncio.gather(*(oracle(c) for c in found.values()))

        asyncio.run(all_oracles())
    return found


MISMATCH_LINES = 6  # per graph, in the summary
def _attach_later(config_file, url: str, c: Collected) -> threading.Thread:
    """A second client: once the run has saved its first steps, `lgconsole watch THREAD --json` attaches."""

    def attach() -> None:
        if not wait_for_steps(url, c.thread_id, 3):
            c.watch_error = "the run never saved 3 checkpoints"
            return
        try:  # the run has about 4 s left: a watch that only starts after it ends waits for a next run in vain
            done = lgconsole("watch", c.thread_id, "--json", config=config_file, timeout=60)
        except subprocess.TimeoutExpired:
            c.watch_error = "lgconsole watch did not end within 60 s of the attach"
            return
        c.watch_error = "" if done.returncode == 0 else done.stderr.strip()[-500:]
        c.watched = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]

    thread = threading.Thread(target=attach, daemon=True)
    thread.start()
    return thread


def _read_heads(config, url: str, collected: list[Collected]) -> None:
    from lgconsole.console.cli.threads import open_reader
    from lgconsole.stack.checkpoints.decoder import jsonable

    async def theirs() -> list[dict]:
        return await asyncio.gather(*(oracle_state(url, c.thread_id, None) for c in collected))

    with open_reader(config) as reader:
        for c, state in zip(collected, asyncio.run(theirs())):
            cid = state["checkpoint"]["checkpoint_id"]
            mine = reader.state_at(c.thread_id, cid, "")
            c.heads.append((cid, {"values": jsonable(mine.values), "next": sorted(mine.next)},
                            {"values": state["values"], "next": sorted(state["next"])}))


_COLLECTED: dict[str, dict[str, Collected]] = {}
COUNTS: dict[str, tuple[int, int, list[str]]] = {}  # graph -> (checkpoints compared, mismatches, their lines)


@pytest.fixture(scope="module")
def corpus():
    """graph id -> Collected; each project's stack is started once, on first need, and stopped after its reads."""

    def get(graph_id: str) -> Collected:
        project = SCENARIOS[graph_id].project
        if project not in _COLLECTED:
            _COLLECTED[project] = collect_project(project)
        return _COLLECTED[project][graph_id]

    return get


# --- expected disagreements (lgconsole vs the oracle), each with the precise mismatch ------------------------------

def _xfail(reason: str):
    return pytest.mark.xfail(strict=True, reason=reason)


def cases(known: dict[str, str], graphs=SCENARIOS) -> list:
    return [pytest.param(g, marks=_xfail(known[g])) if g in known else g for g in graphs]


KNOWN_TOPOLOGY: dict[str, str] = {}
KNOWN_STEPS: dict[str, str] = {}
KNOWN_STATUSES: dict[str, str] = {}
KNOWN_STATES: dict[str, str] = {}


# --- checks ----------------------------------------------------------------------------------------------------------

def _edges(graph: dict) -> list[tuple]:
    return sorted((e["source"], e["target"], bool(e.get("conditional"))) for e in graph["edges"])


@pytest.mark.parametrize("graph_id", cases(KNOWN_TOPOLOGY))
def test_topology_matches_the_servers_graph(corpus, graph_id):
    c = corpus(graph_id)
    assert sorted(n["id"] for n in c.lgc_graph["nodes"]) == sorted(n["id"] for n in c.oracle_graph["nodes"])
    assert _edges(c.lgc_graph) == _edges(c.oracle_graph)
    nodes = [n["id"] for n in c.oracle_graph["nodes"] if n["id"] not in ("__start__", "__end__")]
    assert [n for n in nodes if n not in c.lgc_graph_text] == [], c.lgc_graph_text


@pytest.mark.parametrize("graph_id", cases(KNOWN_STEPS))
def test_steps_of_both_runs_in_order(corpus, graph_id):
    c = corpus(graph_id)
    root = [n for n in c.lgc_history["checkpoints"] if n["checkpoint_ns"] == ""]
    root.sort(key=lambda n: n["checkpoint_id"])
    got = [(n["step"], n["source"], sorted(n["writers"])) for n in root]
    assert got == expected_steps(c.oracle_history)
    inputs = sum(1 for t in c.scenario.turns if not t.has_resume and t.input is not None)
    assert sum(1 for s in got if s[1] == "input") == inputs


@pytest.mark.parametrize("graph_id", cases(KNOWN_STATUSES))
def test_thread_status_after_each_run(corpus, graph_id):
    c = corpus(graph_id)
    assert c.run_status == [t.run_status for t in c.scenario.turns]
    assert c.server_status == [t.thread_status for t in c.scenario.turns]
    got = [row.get("status") for row in c.lgc_threads]
    assert got == [SERVER_TO_LGCONSOLE[s] for s in c.server_status]
    for row, status in zip(c.lgc_threads, c.server_status):
        if status == "error":
            assert row["status_node"] == _errored_node(c)
    last = c.lgc_threads[-1]
    assert last["head_checkpoint_id"] == c.oracle_history[-1]["checkpoint"]["checkpoint_id"]


def _errored_node(c: Collected) -> str:
    for cp in c.oracle_history:
        for task in cp.get("tasks", []):
            if task.get("error"):
                return task["name"]
    raise AssertionError("the oracle's history has no failed task")


def _waiting_node_checks(c: Collected) -> list[str]:
    """Each run that left the thread interrupted: lgconsole names a node the oracle has due there."""
    problems = []
    for i, (row, status) in enumerate(zip(c.lgc_threads, c.server_status)):
        if status == "interrupted":
            due = _due_at(c, row.get("head_checkpoint_id"))
            if row.get("status_node") not in due:
                problems.append(f"run {i + 1}: waiting at {row.get('status_node')!r}, oracle has next {due}")
    return problems


def _due_at(c: Collected, checkpoint_id: str | None) -> list[str]:
    state = c.oracle_states.get(("", checkpoint_id)) or {}
    return state.get("next", [])


WAITING = [g for g, s in SCENARIOS.items() if any(t.thread_status == "interrupted" for t in s.turns)]


@pytest.mark.parametrize("graph_id", cases(KNOWN_STATUSES, WAITING))
def test_a_waiting_thread_names_the_node_it_waits_at(corpus, graph_id):
    c = corpus(graph_id)
    assert "interrupted" in c.server_status
    assert _waiting_node_checks(c) == []


def _read_pairs(reader, collected) -> None:
    """Every checkpoint read with its parent in one go, as `lgconsole diff` and the Threads screen read them, every
    pair of lists of whatever size through the path that decodes a shared list once (stack/checkpoints/states.py)."""
    from lgconsole.stack.checkpoints import states
    from lgconsole.stack.checkpoints.decoder import jsonable

    hits = 0
    plain, smallest = states._decode_as_prefix, states.PREFIX_MIN_BYTES

    def counted(*args):
        nonlocal hits
        took = plain(*args)
        hits += took
        return took

    states._decode_as_prefix, states.PREFIX_MIN_BYTES = counted, 0
    try:
        for c in collected:
            hits = 0
            for node in c.lgc_history["checkpoints"]:
                state, parent = reader.state_with_parent(c.thread_id, node["checkpoint_id"], node["checkpoint_ns"])
                for read in (state, parent) if parent is not None else (state,):
                    c.lgc_paired.setdefault((read.checkpoint_ns, read.checkpoint_id), []).append(
                        {"values": jsonable(read.values), "next": sorted(read.next)})
            c.prefix_hits = hits
    finally:
        states._decode_as_prefix, states.PREFIX_MIN_BYTES = plain, smallest


def compare_states(c: Collected) -> tuple[int, list[str]]:
    """Checkpoints compared and a line per mismatch (values or next), over every checkpoint either side knows, plus
    the thread's head after each run (where LangGraph applies an errored step's successful writes)."""
    keys = sorted(set(c.lgc_states) | set(c.oracle_states))
    pairs = [(f"{ns or 'root'} {cid[-8:]}", c.lgc_states.get((ns, cid)), c.oracle_states.get((ns, cid)))
             for ns, cid in keys]
    pairs += [(f"head after run {i + 1} {cid[-8:]}", mine, theirs) for i, (cid, mine, theirs) in enumerate(c.heads)]
    mismatches = []
    for where, mine, theirs in pairs:
        if mine is None or theirs is None:
            mismatches.append(f"{where}: only {'lgconsole' if theirs is None else 'the oracle'} has it")
            continue
        values = theirs["values"] if theirs["values"] is not None else {}
        if isinstance(values, dict) and isinstance(mine["values"], dict):
            for key in sorted(set(values) | set(mine["values"])):
                a, b = mine["values"].get(key, "<missing>"), values.get(key, "<missing>")
                if a != b:
                    mismatches.append(f"{where}: {key}: lgconsole {_short(a)} vs LangGraph {_short(b)}")
        elif mine["values"] != values:
            mismatches.append(f"{where}: values: lgconsole {_short(mine['values'])} vs LangGraph {_short(values)}")
        if mine["next"] != theirs["next"]:
            mismatches.append(f"{where}: next: lgconsole {mine['next']} vs LangGraph {theirs['next']}")
    return len(pairs), mismatches


def _short(value) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


@pytest.mark.parametrize("graph_id", cases(KNOWN_STATES))
def test_state_at_every_checkpoint_equals_langgraphs(corpus, graph_id):
    c = corpus(graph_id)
    compared, mismatches = compare_states(c)
    COUNTS[graph_id] = (compared, len(mismatches), mismatches)
    assert compared >= len(c.oracle_history) > 0
    assert mismatches == []


@pytest.mark.parametrize("graph_id", SCENARIOS)
def test_a_checkpoint_read_with_its_parent_is_what_each_read_alone_is(corpus, graph_id):
    """The pair (a checkpoint and its parent, read together and sharing what they hold alike) gives each state the
    values and next that reading it alone gives, which the test above holds to LangGraph's get_state."""
    c = corpus(graph_id)
    assert c.lgc_paired
    for key, reads in c.lgc_paired.items():
        for read in reads:
            assert read == c.lgc_states.get(key), key
    if graph_id in ("chat", "agent", "supervisor", "swarm"):  # messages appended from one checkpoint to the next
        assert c.prefix_hits > 0


ATTACHED = [g for g, s in SCENARIOS.items() if s.attach]


@pytest.mark.parametrize("graph_id", ATTACHED)
def test_a_second_client_attached_mid_run_sees_every_step(corpus, graph_id):
    """`lgconsole watch` attached after the run saved its first steps: every node step of the run, the ones before
    the attach included, named as LangGraph's history names them, in order, and the run's end."""
    c = corpus(graph_id)
    assert c.watch_error == ""
    steps = [line for line in c.watched if line.get("event") == "step"]
    first_run = [s for s in expected_steps(c.oracle_history) if s[1] == "loop"]
    first_run = first_run[:next(i for i, s in enumerate(first_run[1:], 1) if s[2] == ["__start__"])]
    want = [w for _, _, writers in first_run for w in writers if w != "__start__"]
    got = [s["node"] for s in sorted(steps, key=lambda s: (s["superstep"] is None, s["superstep"] or 0, s["node"]))]
    assert got == want, c.watched
    ends = [line for line in c.watched if line.get("event") == "end"]
    assert [e["status"] for e in ends] == ["success"]


def test_corpus_summary(capsys):
    """Per graph: checkpoints compared with LangGraph's own get_state, and the mismatches (printed, not judged)."""
    with capsys.disabled():
        print("\ncorpus: checkpoints compared with LangGraph's get_state / mismatches")
        for graph_id in SCENARIOS:
            if graph_id in COUNTS:
                compared, bad, first = COUNTS[graph_id]
                print(f"  {graph_id:20s} {compared:4d} compared  {bad:3d} mismatches")
                for line in first[:MISMATCH_LINES]:
                    print(f"      {line}")
            else:
                print(f"  {graph_id:20s}  (not compared in this run)")
