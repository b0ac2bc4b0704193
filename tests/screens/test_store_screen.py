"""The Store/Redis screen on fixed items and keys: snapshots of both views and of Redis down, and Pilot tests that
pick a namespace, search, and delete an item and a key with the keyboard (after a yes; an item gone meanwhile is one
line and the list as it is now)."""

from __future__ import annotations

from fakes import FixedStack, FixedStore, fixed_stack_snapshot
from lgconsole.console.app import LgConsoleApp
from lgconsole.console.config import Config
from lgconsole.console.screens.store import StoreScreen
from lgconsole.stack.server.store import StoreItem
from lgconsole.stack.services.redis_browse import RedisKey, RedisValue
from pilotwait import pilot_wait, settled

TOOL_KEY = "lgconsole:demo:tool:2df3145998b49aab487e545482de8c8b63d8121025ce44d2ad5f9e8987f351f7"
ITEMS = [
    StoreItem(("demo", "tasks"), "cbefe79734253ffd", {"task": "Refactor the retry loop", "runs": 2,
                                                       "model_backend": "scripted (no vLLM configured)"},
              "2026-12-06T22:58:07+00:00", "2026-12-06T22:58:07+00:00"),
    StoreItem(("demo", "memories", "demo-user"), "01a24d94-26a7-7579-b146-13d98ea37ae8",
              {"task": "Draft the on-call handover", "outcome": "approved", "note": "ship it", "score": 8,
               "verdict": "ready for approval"}, "2026-12-06T22:58:06+00:00", "2026-12-06T22:58:06+00:00"),
    StoreItem(("demo", "memories", "ops"), "pager", {"task": "page the on-call", "api_key": "sk-live-0123456789abcdef",
                                                     "webhook": "https://ops:hunter22@hooks.example/x"},
              "2026-12-06T21:00:00+00:00", "2026-12-06T21:30:00+00:00"),
]
KEYS = [RedisKey(TOOL_KEY, "string", 328, 284.0), RedisKey("lgconsole:scratch:run-7", "hash", 120, None)]
VALUES = {
    TOOL_KEY: RedisValue(KEYS[0], '["Result 1 for \'Draft the on-call handover\' (doc 2aa426)", "Result 2"]', 74),
    "lgconsole:scratch:run-7": RedisValue(KEYS[1], {"step": "3", "token": "abc123secret"}, 2),
}


def _app(store: FixedStore, view: str = "store"):
    app = LgConsoleApp(Config(state_dir="/srv/lgc"), source=FixedStack(fixed_stack_snapshot(True)), poll=False)
    screen = StoreScreen(store, view=view)

    async def show(pilot):
        await app.push_screen(screen)
        await settled(pilot)

    return app, screen, show


def _store(**kw) -> FixedStore:
    return FixedStore(ITEMS, KEYS, VALUES, **kw)


def _value_text(screen) -> str:
    from lgconsole.widgets.state_view import StateView

    return str(screen.query_one(StateView).render())


def test_store_view_with_a_masked_secret(snap_compare):
    app, screen, show = _app(_store())

    async def run_before(pilot):
        await show(pilot)
        await pilot.press("down", "down")  # the item holding an API key and a URL password

    assert snap_compare(app, terminal_size=(120, 32), run_before=run_before)


def test_redis_view_with_ttl(snap_compare):
    app, screen, show = _app(_store(), view="redis")
    assert snap_compare(app, terminal_size=(120, 32), run_before=show)


def test_redis_down_is_one_line(snap_compare):
    app, screen, show = _app(_store(redis_error="Redis at 127.0.0.1:6379 is not answering (ConnectionError): "
                                                "start the stack with `lgconsole up`"), view="redis")
    assert snap_compare(app, terminal_size=(100, 24), run_before=show)


async def test_secrets_never_reach_the_screen():
    app, screen, show = _app(_store())
    async with app.run_test(size=(120, 32)) as pilot:
        await show(pilot)
        await pilot.press("down", "down")
        text = _value_text(screen)
        assert "api_key" in text and "sk-live" not in text and "hunter22" not in text and "***" in text
        await pilot.press("k")
        await pilot.press("down")
        await pilot_wait(pilot, lambda: "step" in _value_text(screen), timeout=10, what="the hash's preview")
        assert "abc123secret" not in _value_text(screen)


async def test_pick_a_namespace_then_search():
    app, screen, show = _app(_store())
    async with app.run_test(size=(120, 32)) as pilot:
        await show(pilot)
        await pilot.press("shift+tab")  # from the items to the namespace tree
        await pilot.press("down", "down", "enter")  # (all) -> demo/ -> memories/
        await pilot_wait(pilot, lambda: screen.store_listing.prefix == ("demo", "memories"), timeout=10,
                         what="the memories namespace")
        assert {i.key for i in screen.store_listing.items} == {ITEMS[1].key, "pager"}
        await pilot.press("slash", *"handover", "enter")
        await pilot_wait(pilot, lambda: screen.store_listing.query == "handover", timeout=10, what="the search")
        assert [i.key for i in screen.store_listing.items] == [ITEMS[1].key]
        assert "as text" in str(screen.query_one("#store-status").render())


async def test_delete_an_item_after_yes_and_a_key_after_yes():
    store = _store()
    app, screen, show = _app(store)
    async with app.run_test(size=(120, 32)) as pilot:
        await show(pilot)
        await pilot.press("d", "n")  # asked, and no: nothing deleted
        await pilot.pause()
        assert store.deleted == [] and len(screen.store_listing.items) == 3
        await pilot.press("d", "y")
        await pilot_wait(pilot, lambda: len(screen.store_listing.items) == 2, timeout=10, what="the item gone")
        assert store.deleted == ["demo/tasks:cbefe79734253ffd"]
        await pilot.press("k")
        await pilot_wait(pilot, lambda: screen.redis_listing is not None, timeout=10, what="the keys")
        await pilot.press("d", "y")
        await pilot_wait(pilot, lambda: len(screen.redis_listing.listing.keys) == 1, timeout=10, what="the key gone")
        assert store.deleted[-1] == TOOL_KEY


async def test_an_item_deleted_meanwhile_is_one_line_and_the_list_is_read_again():
    store = _store()
    app, screen, show = _app(store)
    async with app.run_test(size=(120, 32)) as pilot:
        await show(pilot)
        store.vanish("cbefe79734253ffd")  # a second console deleted it
        await pilot.press("d", "y")
        await pilot_wait(pilot, lambda: app._notifications, timeout=10, what="a notification")
        messages = [str(n.message) for n in app._notifications]
        assert any("no store item demo/tasks:cbefe79734253ffd" in m for m in messages), messages
        await pilot_wait(pilot, lambda: len(screen.store_listing.items) == 2, timeout=10, what="the list re-read")
