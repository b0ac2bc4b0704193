"""The New-run form on recorded schemas (tests/fixtures/assistants, from langgraph-api's own schema code): the server's
assistants to choose from, the input prefilled from the chosen graph's input schema or the last input typed for it,
config and context refused before sending; and chat mode on the Live screen for a message graph, through the real
RunFollower on recorded sessions. The same on a real server: tests/integration/test_assistants_cli.py."""

from __future__ import annotations

import json

from fakes import FixedCatalog, FixedStack, RecordedSession, ScriptedFollower, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.screens.live import LiveScreen
from lgconsole.console.sources.run_follower import RunFollower
from live_timeline import live_header
from livefixtures import chat_ask, chat_run
from pilotwait import pilot_wait, settled

GRAPHS = ["tickets", "chat", "demo", "report"]  # the server's order; the demo is not first here


def _app(tmp_path, graphs=GRAPHS):
    app = LgConsoleApp(Config(state_dir=str(tmp_path)), source=FixedStack(fixed_stack_snapshot(True)), poll=False)
    catalog = FixedCatalog(graphs, tmp_path / "console-inputs.json")
    return app, catalog


async def _open_form(pilot, app, catalog) -> LiveScreen:
    screen = LiveScreen(catalog=catalog)
    await app.push_screen(screen)
    await pilot.press("n")
    await pilot_wait(pilot, lambda: type(app.screen).__name__ == "NewRunScreen", timeout=10, what="the new-run form")
    await pilot_wait(pilot, lambda: app.screen.schemas is not None, timeout=10, what="the first graph's schemas")
    return screen


async def _fill_form(pilot, app, catalog, input_text: str):
    """The form open on a recorded follower (its run ends in an error), the input and a valid context typed:
    (the Live screen, the form, the scripted follower that records what it was asked to start)."""
    screen = await _open_form(pilot, app, catalog)
    screen.follower = RunFollower(RecordedSession.url)
    scripted = ScriptedFollower(screen.follower, [RecordedSession("demo_error", status="error")])
    form = app.screen
    form.query_one("#new-run-input").text = input_text
    form.query_one("#new-run-context").value = '{"team": "sre", "on_call": false}'
    return screen, form, scripted


def _form_text(app) -> str:
    return app.screen.query_one("#new-run-input").text


def test_new_run_form_prefilled_for_a_pydantic_input_graph(snap_compare, tmp_path):
    """The first of the server's assistants chosen (`tickets`), its required keys filled by type, its keys listed."""
    app, catalog = _app(tmp_path)

    async def show(pilot):
        await _open_form(pilot, app, catalog)
        await settled(pilot)

    assert snap_compare(app, terminal_size=(110, 36), run_before=show)


async def test_choosing_another_assistant_prefills_its_template_and_chat_graphs_get_a_message_box(tmp_path):
    app, catalog = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_form(pilot, app, catalog)
        form = app.screen
        assert json.loads(_form_text(app)) == {"ticket_id": "", "priority": "low", "attempts": 0}
        assert not form.query_one("#new-run-message-row").display
        await pilot.press("down")  # the next of the server's assistants: the chat graph
        await pilot_wait(pilot, lambda: form.query_one("#new-run-assistant").value == "chat" and form.schemas
                         is not None and form.schemas.graph_id == "chat", timeout=10, what="the chat graph's schemas")
        assert form.query_one("#new-run-message-row").display and _form_text(app) == "{}"
        form.query_one("#new-run-input").text = '{"note": "edited"}'
        await pilot.press("down")  # the demo graph: the edited text stays, the demo's template does not replace it
        await pilot_wait(pilot, lambda: form.schemas is not None and form.schemas.graph_id == "demo", timeout=10)
        assert _form_text(app) == '{"note": "edited"}'
        assert "task: string" in str(form.query_one("#new-run-keys").render())


async def test_bad_input_config_and_context_are_refused_in_one_line_naming_the_key(tmp_path):
    app, catalog = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_form(pilot, app, catalog)
        form = app.screen

        async def refused(input_text: str, context: str = "", config: str = "") -> str:
            form.query_one("#new-run-input").text = input_text
            form.query_one("#new-run-context").value = context
            form.query_one("#new-run-config").value = config
            await pilot.press("ctrl+s")
            await settled(pilot)
            assert app.screen is form  # still open: nothing was sent
            return str(form.query_one("#new-run-error").render())

        good = '{"ticket_id": "T-1", "priority": "urgent", "attempts": 1}'
        assert await refused('{"ticket_id": 7, "priority": "low", "attempts": 0}') == \
            "input: 'ticket_id' should be a string, got a number 7"
        assert (await refused(good.replace('"urgent"', '"soon"'))).startswith(
            "input: 'priority' should be one of \"low\", \"normal\", \"urgent\"")
        assert await refused(good, '{"team": "sre"}') == "context: 'on_call' is required"
        assert await refused(good, '{"team": "sre", "on_call": true}', '{"configurable": {"team": 5}}') == \
            "config: 'configurable.team' should be a string, got a number 5"
        assert await refused(good, '{"team": ') == \
            "context is not valid JSON: Expecting value (line 1, column 10)"
        assert screen.live.status == "starting" and screen.follower is None


async def test_an_input_key_the_graph_does_not_take_is_said_once_and_a_second_ctrl_s_starts_the_run(tmp_path):
    """LangGraph drops input keys its state does not have without a word: the form says so before anything is sent
    (with the key it probably meant), and starts the run as it is when asked again."""
    app, catalog = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, form, scripted = await _fill_form(pilot, app, catalog,
                                                  '{"ticket_id": "T-2", "priority": "low", "attempts": 0, "atempts": 1}')
        await pilot.press("ctrl+s")
        await settled(pilot)
        assert app.screen is form and not scripted.started
        said = str(form.query_one("#new-run-error").render())
        assert said.startswith("warning: input key 'atempts' is not in the graph's input schema (did you mean "
                               "'attempts'?)") and said.endswith("ctrl+s again starts it as it is")
        await pilot.press("ctrl+s")
        await pilot_wait(pilot, lambda: app.screen is screen and scripted.started, timeout=10)
        assert scripted.started[0]["input"]["atempts"] == 1


async def test_the_last_input_per_assistant_is_offered_again(tmp_path):
    app, catalog = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen, form, scripted = await _fill_form(pilot, app, catalog,
                                                  '{"ticket_id": "T-9", "priority": "normal", "attempts": 2}')
        await pilot.press("ctrl+s")
        await pilot_wait(pilot, lambda: app.screen is screen and scripted.started, timeout=10)
        assert scripted.started[0]["context"] == {"team": "sre", "on_call": False}
        await pilot_wait(pilot, lambda: catalog.path.exists(), timeout=10, what="the remembered inputs written")
        await pilot_wait(pilot, lambda: screen.live.status.over, timeout=10)
        await pilot.press("n")
        await pilot_wait(pilot, lambda: type(app.screen).__name__ == "NewRunScreen" and app.screen.schemas is not None,
                         timeout=10)
        assert json.loads(_form_text(app)) == {"ticket_id": "T-9", "priority": "normal", "attempts": 2}
        assert app.screen.query_one("#new-run-context").value == '{"team": "sre", "on_call": false}'


async def test_chat_mode_talks_to_a_message_graph_on_one_thread(tmp_path):
    """Type a message, send it, watch the reply stream, send the next on the same thread."""
    app, catalog = _app(tmp_path, ["chat", "demo"])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_form(pilot, app, catalog)
        screen.follower = RunFollower(RecordedSession.url, on_change=lambda _live: screen.schedule_paint())
        first = chat_run([], "hello there", "Hi! How can I help?", "chat-run-1")
        said = [e.data for e in first if e.mode == "values"][-1]["messages"]
        second = chat_run(said, "what is 2+2", "It is 4.", "chat-run-2")
        scripted = ScriptedFollower(screen.follower, [RecordedSession(first, thread_id="chat-thread"),
                                                     RecordedSession(second)])
        form = app.screen
        form.query_one("#new-run-context").value = '{"model": "m1"}'
        await pilot.click("#new-run-message")
        await pilot.press(*"hello there", "enter")
        await pilot_wait(pilot, lambda: screen.live.status == "success", timeout=10, what="the first reply")
        assert scripted.started[0]["input"] == {"messages": [{"role": "user", "content": "hello there"}]}
        assert "chat" in live_header(screen) and "  chat  " in live_header(screen)
        await pilot_wait(pilot, lambda: "Hi! How can I help?" in str(screen.query_one("#chat-log").render()),
                         timeout=5, what="the reply in the conversation")
        assert screen.query_one("#chat-box").display
        await pilot.press("m", *"what is 2+2", "enter")
        await pilot_wait(pilot, lambda: len(scripted.started) == 2 and screen.live.status == "success"
                         and screen.live.run_id == "chat-run-2", timeout=10, what="the second reply")
        assert scripted.started[1] == {"assistant": "chat", "thread_id": "chat-thread", "config": None,
                                       "context": {"model": "m1"},
                                       "input": {"messages": [{"role": "user", "content": "what is 2+2"}]}}
        await pilot_wait(pilot, lambda: "It is 4." in str(screen.query_one("#chat-log").render()), timeout=5)
        log = str(screen.query_one("#chat-log").render())
        assert log.index("you: hello there") < log.index("assistant: Hi!") < log.index("you: what is 2+2")
        assert screen.focused is screen.query_one("#chat-box")  # the conversation goes on from the keyboard


async def test_chat_mode_answers_an_interrupt_then_goes_on_on_the_same_thread(tmp_path):
    """A message graph that asks before replying: the message box steps aside for the answer box, the answer resumes
    the same timeline, then the next message is a run on the same thread again."""
    app, catalog = _app(tmp_path, ["chat"])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_form(pilot, app, catalog)
        screen.follower = RunFollower(RecordedSession.url, on_change=lambda _live: screen.schedule_paint())
        asked = chat_ask([], "send the report", "Send it to the whole team?", "chat-ask")
        said = [e.data for e in asked if e.mode == "values"][-1]["messages"]
        answered = chat_run(said, None, "Sent to the team.", "chat-answer")
        done = [e.data for e in answered if e.mode == "values"][-1]["messages"]
        scripted = ScriptedFollower(screen.follower, [
            RecordedSession(asked, thread_id="chat-thread", thread_status="interrupted"),
            RecordedSession(answered), RecordedSession(chat_run(done, "thanks", "You're welcome.", "chat-next"))])
        await pilot.click("#new-run-message")
        await pilot.press(*"send the report", "enter")
        await pilot_wait(pilot, lambda: screen.query_one("#interrupt-panel").display, timeout=10, what="the question")
        assert not screen.query_one("#chat-box").display  # the answer box has the floor
        screen.query_one("#interrupt-answer").focus()
        await pilot.press(*"yes", "enter")
        await pilot_wait(pilot, lambda: screen.live.status == "success" and screen.live.run_id == "chat-answer",
                         timeout=10, what="the resumed run")
        assert scripted.started[1]["resume"] == "yes" and scripted.started[1]["thread_id"] == "chat-thread"
        await pilot_wait(pilot, lambda: screen.query_one("#chat-box").display
                         and "Sent to the team." in str(screen.query_one("#chat-log").render()), timeout=5)
        await pilot.press("m", *"thanks", "enter")
        await pilot_wait(pilot, lambda: screen.live.run_id == "chat-next" and screen.live.status == "success",
                         timeout=10, what="the next message's run")
        assert scripted.started[2]["thread_id"] == "chat-thread"
        assert scripted.started[2]["input"] == {"messages": [{"role": "user", "content": "thanks"}]}
