"""The Stack screen with fixed data: snapshots, and the keys that send commands to the selected service."""

from __future__ import annotations

from fakes import FixedStack, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from pilotwait import pilot_wait, settled


def _app(all_healthy: bool) -> LgConsoleApp:
    config = Config(state_dir="/srv/lgc")
    return LgConsoleApp(config, source=FixedStack(fixed_stack_snapshot(all_healthy)), poll=False)


def test_stack_screen_all_healthy(snap_compare):
    assert snap_compare(_app(True), terminal_size=(120, 30), run_before=settled)


def test_stack_screen_crash_and_vllm_loading(snap_compare):
    async def select_langgraph(pilot):
        await settled(pilot)
        await pilot.press("down", "down", "down")
        await pilot.pause()

    assert snap_compare(_app(False), terminal_size=(120, 30), run_before=select_langgraph)


def test_stack_screen_at_80x24(snap_compare):
    assert snap_compare(_app(False), terminal_size=(80, 24), run_before=settled)


def test_help_screen(snap_compare):
    assert snap_compare(_app(True), terminal_size=(100, 36), press=["question_mark"], run_before=settled)


async def test_keys_send_commands_to_the_selected_service():
    app = _app(True)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot)  # the rows are in: the cursor moves over them
        await pilot.press("down", "r")  # redis
        await pilot.press("down", "down", "x")  # langgraph
        await pilot.press("colon", *"restart postgres", "enter")
        await pilot.press("colon", *"restart nothing", "enter")  # one-line error, nothing sent
        await pilot.press("D", "y")  # stack down asks first
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.source.commands == [("restart", "redis"), ("stop", "langgraph"), ("restart", "postgres"),
                                       ("down", None)]


async def test_a_failed_command_is_shown_and_the_state_read_again():
    """A command's worker raises: the one handler shows '<command> failed: <cause>' and the app reads the stack again."""
    app = _app(True)

    def refuse(cmd, service=None):
        raise OSError("control socket refused the connection")

    app.source.command = refuse
    reads = []
    read_snapshot = app.source.snapshot
    app.source.snapshot = lambda: reads.append(1) or read_snapshot()
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot)
        before = len(reads)
        app.service_command("restart", "redis")
        await pilot_wait(pilot, lambda: any("failed" in n.message for n in app._notifications), timeout=10,
                         what="the failure notification")
        assert [n.message for n in app._notifications if "failed" in n.message] == [
            "restart redis failed: control socket refused the connection"]
        await pilot_wait(pilot, lambda: len(reads) > before, timeout=10, what="a fresh stack read")
        assert app.is_running


async def test_a_theme_switch_recolours_the_service_states():
    """Status colours come from the theme's variables (widgets/palette.py): another theme, other colours."""
    from rich.style import Style

    app = _app(True)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot)
        table = app.screen.query_one("ServiceTable")

        def state_colour():
            cell = table.get_cell("postgres", "state")
            return Style.parse(str(cell.style)).color.name

        dark = state_colour()
        assert dark.lower() == app.theme_variables["text-success"].lower()
        app.theme = "textual-light"
        await pilot_wait(pilot, lambda: state_colour() != dark, timeout=10, what="the light theme's colour")
        assert state_colour().lower() == app.theme_variables["text-success"].lower()


async def test_the_configured_theme_applies_and_an_unknown_one_is_said():
    config = Config(state_dir="/srv/lgc")
    config.ui.theme = "nord"
    app = LgConsoleApp(config, source=FixedStack(fixed_stack_snapshot(True)), poll=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot)
        assert app.theme == "nord" and not app._notifications
    config.ui.theme = "no-such-theme"
    app = LgConsoleApp(config, source=FixedStack(fixed_stack_snapshot(True)), poll=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot)
        assert app.theme == "textual-dark"
        assert "[ui] theme 'no-such-theme' is not a Textual theme" in [n.message for n in app._notifications][-1]
