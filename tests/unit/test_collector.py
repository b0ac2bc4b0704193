"""The garbage collector around start-up (console/collector.py, on stack/gc_pause.py): a one-shot command keeps it
off to its end, a following command and the console get it back with start-up frozen and young collections spaced
out, a console that ends in a process that goes on (a test's) leaves it on, nothing frozen and Python's thresholds
back; and start-up and a state's decode share one hold of it."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

import pytest

from lgconsole.console import collector
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config

# the program's entry point (main() without argv), as the `lgconsole` script calls it; what the collector was doing
# while the command ran (asked from inside it) and after main returned
RUNNER = r"""
import gc, json, sys
from lgconsole.console.cli import main as cli_main
out, seen = sys.argv[1], {}
real = cli_main._run_command
def spy(command, config, args):
    seen["during"] = gc.isenabled()
    return real(command, config, args)
cli_main._run_command = spy
sys.argv = ["lgconsole", *sys.argv[2:]]
code = cli_main.main()
seen["after"] = gc.isenabled()
seen["frozen"] = gc.get_freeze_count() > 0
json.dump(seen, open(out, "w"))
"""


def _run_as_program(tmp_path, *argv: str) -> dict:
    out = tmp_path / "gc.json"
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    proc = subprocess.run([sys.executable, "-c", RUNNER, str(out), "--state-dir", str(tmp_path / "state"), *argv],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.exists(), proc.stderr[-2000:]
    return json.loads(out.read_text())


def test_a_one_shot_command_runs_without_the_collector_and_ends_with_the_heap_frozen(tmp_path):
    assert _run_as_program(tmp_path, "contexts") == {"during": False, "after": False, "frozen": True}


@pytest.mark.parametrize("argv", [["logs", "postgres"], ["graph"]])
def test_other_commands_get_the_collector_back_once_parsed(tmp_path, argv):
    seen = _run_as_program(tmp_path, *argv)
    assert seen["during"] is True


def test_main_called_with_arguments_leaves_the_collector_alone(tmp_path):
    from lgconsole.console.cli.main import main

    assert gc.isenabled()
    main(["--state-dir", str(tmp_path / "state"), "contexts"])
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_pause_inside_a_pause_comes_back_to_the_state_of_before_the_first():
    assert gc.isenabled() and not collector.paused()
    before = gc.get_threshold()
    try:
        collector.pause()
        collector.pause()
        assert not gc.isenabled() and collector.paused()
        collector.resume()
        assert gc.isenabled() and not collector.paused()
        assert gc.get_threshold() == (max(collector.YOUNG_THRESHOLD, before[0]), *before[1:])
        collector.resume()  # not paused: nothing
        assert gc.isenabled()
    finally:
        collector.release()
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


async def test_the_console_is_collected_again_after_its_first_frame_and_unfreezes_when_it_ends():
    from fakes import FixedStack, fixed_stack_snapshot
    from pilotwait import settled

    before = gc.get_threshold()
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot)
        assert gc.isenabled() and not collector.paused()
        assert gc.get_freeze_count() > 0 and gc.get_threshold()[0] == max(collector.YOUNG_THRESHOLD, before[0])
    assert gc.isenabled() and gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_start_up_and_a_state_decode_share_one_hold_whatever_the_order_they_end_in():
    """console/collector.py and the reader's decode (stack/gc_pause.py) hold the collector off together: it is on
    again only when both have let go, in either order, also from another thread."""
    import threading

    from lgconsole.stack import gc_pause

    assert gc.isenabled() and not gc_pause.held()
    try:
        collector.pause()
        with gc_pause.paused():  # a decode while the console starts
            assert not gc.isenabled()
            collector.resume()  # the first frame is out: the decode still holds it off
            assert not gc.isenabled() and gc_pause.held()
        assert gc.isenabled() and not gc_pause.held()

        decoding, done = threading.Event(), threading.Event()

        def decode() -> None:
            with gc_pause.paused():
                decoding.set()
                done.wait(5)

        worker = threading.Thread(target=decode)
        worker.start()
        decoding.wait(5)
        collector.pause()  # a console starting while a worker decodes
        assert not gc.isenabled()
        done.set()
        worker.join(5)
        assert not gc.isenabled()  # start-up still holds it
        collector.resume()
        assert gc.isenabled() and not gc_pause.held()
        gc_pause.let_go()  # one too many: nothing
        assert gc.isenabled()
    finally:
        collector.release()
        while gc_pause.held():
            gc_pause.let_go()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    from lgconsole.stack import gc_pause

    gc.disable()
    try:
        with gc_pause.paused():
            collector.pause()
            collector.resume()
        assert not gc.isenabled()
    finally:
        collector.release()
        gc.enable()
