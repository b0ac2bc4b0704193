"""The Stack screen's services table (widgets/service_table.py), drawn line by line instead of by a DataTable: the
cursor keys, the mouse, the cursor kept on its service across refreshes, a message when it moves, the width it is
given; and on the Stack screen, Enter opening the selected service's log as the key bar says (a DataTable took
Enter for itself)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from textual.app import App, ComposeResult

from fakes import FixedStack, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.widgets.service_table import COLUMNS, ServiceRow, ServiceTable
from pilotwait import settled

ROWS = [ServiceRow("postgres", "healthy", pid=4101, port=54011, uptime="2h01m", version="PostgreSQL 15.18"),
        ServiceRow("redis", "healthy", pid=4102, port=54012),
        ServiceRow("vllm", "starting", pid=4150),
        ServiceRow("langgraph", "crashed", restarts=2, version="langgraph-api 0.16.7")]


class TableApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.highlighted: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield ServiceTable(id="services")

    def on_service_table_row_highlighted(self, message: ServiceTable.RowHighlighted) -> None:
        self.highlighted.append(message.service)


async def _shown(app: App, pilot) -> ServiceTable:
    table = app.query_one(ServiceTable)
    table.show(ROWS)
    await pilot.pause()
    return table


def _lines(app: App, width: int) -> list[str]:
    return ["".join(s.text for s in strip)[:width] for strip in app.screen._compositor.render_strips()]


async def test_keys_and_clicks_move_the_cursor_and_say_so():
    app = TableApp()
    async with app.run_test(size=(100, 10)) as pilot:
        table = await _shown(app, pilot)
        assert table.selected_service == "postgres" and table.row_count == 4
        await pilot.press("down", "down")
        assert table.selected_service == "vllm"
        await pilot.press("end")
        assert table.selected_service == "langgraph"
        await pilot.press("down")  # past the last row: stays
        assert table.selected_service == "langgraph"
        await pilot.press("home")
        assert table.selected_service == "postgres"
        await pilot.click(ServiceTable, offset=(3, 2))  # the header is line 0: line 2 is redis
        await pilot.pause()
        assert table.selected_service == "redis"
        assert app.highlighted == ["postgres", "redis", "vllm", "langgraph", "postgres", "redis"]


async def test_the_cursor_stays_on_its_service_when_the_rows_change():
    app = TableApp()
    async with app.run_test(size=(100, 10)) as pilot:
        table = app.query_one(ServiceTable)
        table.show(ROWS)
        table.move_cursor(row=2)
        table.show([ROWS[2], ROWS[0], ROWS[3]])  # reordered, redis gone: still on vllm
        assert table.selected_service == "vllm" and table.row_keys == ["vllm", "postgres", "langgraph"]
        table.show(ROWS[:1])  # vllm gone: clamped to what is left
        assert table.selected_service == "postgres"
        table.show([])
        assert table.selected_service is None and table.row_count == 0
        await pilot.pause()
        assert table.size.height == 1  # the header alone


async def test_it_draws_a_header_and_a_row_per_service_with_their_cells():
    app = TableApp()
    async with app.run_test(size=(100, 10)) as pilot:
        table = await _shown(app, pilot)
        lines = _lines(app, 100)
        assert lines[0].split() == list(COLUMNS)
        assert lines[1].split() == ["postgres", "●", "healthy", "4101", "54011", "2h01m", "0", "PostgreSQL", "15.18"]
        assert lines[4].split()[:3] == ["langgraph", "✖", "crashed"]
        assert str(table.get_cell("langgraph", "restarts")) == "2"
        assert table.size.height == 5


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(st.integers(20, 140), st.lists(st.text(max_size=30), min_size=1, max_size=6, unique=True))
def test_every_line_is_the_table_width_whatever_the_names(width, names):
    import asyncio

    async def go():
        app = TableApp()
        async with app.run_test(size=(width, 12)) as pilot:
            table = app.query_one(ServiceTable)
            table.show([ServiceRow(name, "healthy", version=name) for name in names])
            await pilot.pause()
            for y in range(len(names) + 2):
                assert table.render_line(y).cell_length == table.size.width
            assert cell_len(_lines(app, width)[0]) <= width

    asyncio.run(go())


async def test_enter_opens_the_selected_services_log_on_the_stack_screen():
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "LogScreen" and app.screen.service == "redis"
