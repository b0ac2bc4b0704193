"""Regenerate screenshots/ from a real demo stack: SVG of every screen, and PNG where `rsvg-convert` is installed.

Usage: .venv/bin/python tests/make_screenshots.py OUTDIR   (what `make screenshots` runs)
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stackutil import make_config, new_state_dir, remove_state_dir, start_stack, stop_stack  # noqa: E402

from lgconsole.console.app import LgConsoleApp  # noqa: E402
from lgconsole.stack.demo_runs import start_demo_runs  # noqa: E402
from lgconsole.stack.supervisor import StackSpec, build_services  # noqa: E402

SIZE = (120, 32)


async def capture(app: LgConsoleApp, outdir: Path) -> list[Path]:
    shots = []
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(50):
            await pilot.pause(0.1)
            if app.snapshot is not None and app.snapshot.supervisor_running:
                break
        await pilot.pause(0.5)

        async def shot(name: str) -> None:
            await pilot.pause(0.3)
            path = outdir / f"{name}.svg"
            app.save_screenshot(filename=path.name, path=str(outdir))
            shots.append(path)

        await pilot.press("down", "down", "down")  # the LangGraph server row
        await shot("stack")
        await pilot.press("l")
        await pilot.pause(1.0)
        await shot("stack-logs")
        await pilot.press("escape", "question_mark")
        await shot("help")
    return shots


def main() -> int:
    outdir = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots").resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    state_dir = new_state_dir()
    config = make_config(state_dir)
    try:
        start_stack(config)
        start_demo_runs(build_services(StackSpec.load(config.state_path))["langgraph"].url())
        shots = asyncio.run(capture(LgConsoleApp(config, triage_first=False), outdir))
    finally:
        stop_stack(config)
        remove_state_dir(state_dir)
    converter = shutil.which("rsvg-convert")
    for svg in shots:
        # the state dir is a random temp path: keep screenshots stable across runs
        svg.write_text(svg.read_text().replace(str(state_dir), "~/.local/state/lgconsole"))
        if converter:
            subprocess.run([converter, "-o", str(svg.with_suffix(".png")), str(svg)], check=True)
    print(f"wrote {len(shots)} screenshots to {outdir}" + ("" if converter else " (SVG only: no rsvg-convert)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
