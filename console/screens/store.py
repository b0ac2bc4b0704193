"""The Store/Redis screen: the LangGraph store's namespaces as a tree and their items with values and timestamps,
or the stack's Redis keys with type, size and TTL; `/` searches, `d` deletes after a yes, values masked."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static
from textual.worker import Worker

from lgconsole.widgets.filter_input import FilterInput
from lgconsole.widgets.palette import Palette
from lgconsole.widgets.record_table import Column, RecordTable
from lgconsole.widgets.state_view import StateView

from lgconsole.console.model.store_browse import namespace_text, parse_namespace
from lgconsole.console.rows.store import ALL_NAMESPACES, item_entries, item_key, item_rows, namespace_rows, \
    redis_key_rows, redis_value_entries
from lgconsole.console.rows.store_text import shown_key
from lgconsole.console.screens.base import ConsoleScreen
from lgconsole.console.screens.confirm import ConfirmScreen

STORE, REDIS = "store", "redis"
PLACEHOLDERS = {STORE: "search: words in an item's key or value (semantic where the store has an index); "
                       "enter applies, esc clears",
                REDIS: "key prefix: e.g. lgconsole:demo:tool: ; enter applies, esc clears"}


class StoreScreen(ConsoleScreen):
    BINDINGS = [
        Binding("s", "show_store", "Store"),
        Binding("k", "show_redis", "Redis"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("d", "delete", "Delete"),
        Binding("R", "refresh", "Refresh"),
    ]

    def __init__(self, source=None, view: str = STORE):
        super().__init__()
        self.source = source
        self.view = view
        self.prefix: tuple[str, ...] = ()  # the store namespace whose items are shown
        self.query_text = ""  # the store search
        self.key_prefix = ""  # the Redis key prefix
        self.store_listing = None
        self.redis_listing = None
        self._status_error: str | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="store-body"):
            yield Static("reading…", id="store-status")
            yield FilterInput(placeholder=PLACEHOLDERS[STORE], id="store-filter")
            with Horizontal(id="store-panes"):
                yield RecordTable((Column("NAMESPACE", 26),), id="store-namespaces")
                yield RecordTable((Column("KEY", 36), Column("NAMESPACE", 20), Column("UPDATED", 19),
                                   Column("VALUE")), id="store-items")
                yield RecordTable((Column("KEY"), Column("TYPE", 6), Column("SIZE", 8), Column("TTL", 9)),
                                  id="redis-keys")
            with VerticalScroll(id="store-value"):
                yield StateView()

    def on_mount(self) -> None:
        if self.source is None:
            from lgconsole.console.sources.store import StoreSource

            self.source = StoreSource(self.app.config)
        self._arrange()
        self.action_refresh()

    def on_unmount(self) -> None:
        if self.source is not None:
            self.source.close()

    # --- the two views -----------------------------------------------------------------------------------------
    def _arrange(self) -> None:
        store = self.view == STORE
        self.query_one("#store-namespaces").display = store
        self.query_one("#store-items").display = store
        self.query_one("#redis-keys").display = not store
        self.query_one(FilterInput).placeholder = PLACEHOLDERS[self.view]
        self._main_table().focus()
        self._show_status()
        self._show_value()

    def _main_table(self) -> RecordTable:
        return self.query_one("#store-items" if self.view == STORE else "#redis-keys", RecordTable)

    def action_show_store(self) -> None:
        if self.view != STORE:
            self.view = STORE
            self._arrange()
            self.action_refresh()

    def action_show_redis(self) -> None:
        if self.view != REDIS:
            self.view = REDIS
            self._arrange()
            self.action_refresh()

    def action_refresh(self) -> None:
        if self.view == STORE:
            self._read_store(self.prefix, self.query_text)
        else:
            self._read_redis(self.key_prefix)

    # --- reads ---------------------------------------------------------------------------------------------------
    class StoreRead(Message):
        """The store's namespaces and the items under the chosen prefix (or why they could not be read)."""

        def __init__(self, listing) -> None:
            super().__init__()
            self.listing = listing

    class RedisRead(Message):
        """Redis keys under the prefix (or why Redis could not be read)."""

        def __init__(self, listing) -> None:
            super().__init__()
            self.listing = listing

    class RedisValueRead(Message):
        """One Redis key's value preview."""

        def __init__(self, value) -> None:
            super().__init__()
            self.value = value

    class Deleted(Message):
        """A store item or a Redis key was deleted; `what` names it."""

        def __init__(self, what: str) -> None:
            super().__init__()
            self.what = what

    @work(thread=True, exclusive=True, group="store-read", name="reading the store", exit_on_error=False)
    def _read_store(self, prefix: tuple[str, ...], query: str) -> None:
        self.post_message(self.StoreRead(self.source.store_listing(prefix, query)))

    @work(thread=True, exclusive=True, group="store-read", name="reading Redis keys", exit_on_error=False)
    def _read_redis(self, prefix: str) -> None:
        self.post_message(self.RedisRead(self.source.redis_listing(prefix)))

    @work(thread=True, exclusive=True, group="redis-value", name="reading a Redis value", exit_on_error=False)
    def _read_redis_value(self, key: str) -> None:
        self.post_message(self.RedisValueRead(self.source.redis_value(key)))

    def on_store_screen_store_read(self, message: StoreRead) -> None:
        self.store_listing = message.listing
        self.query_one("#store-namespaces", RecordTable).show(namespace_rows(message.listing.namespaces))
        self.query_one("#store-items", RecordTable).show(item_rows(message.listing.items))
        self._show_status()
        self._show_value()

    def on_store_screen_redis_read(self, message: RedisRead) -> None:
        self.redis_listing = message.listing
        keys = message.listing.listing.keys if message.listing.listing else ()
        self.query_one("#redis-keys", RecordTable).show(redis_key_rows(keys))
        self._show_status()
        self._show_value()

    def on_store_screen_redis_value_read(self, message: RedisValueRead) -> None:
        if self.view == REDIS and self.query_one("#redis-keys", RecordTable).selected_key == message.value.key.key:
            self.query_one(StateView).show(*redis_value_entries(message.value))

    # --- what is shown -------------------------------------------------------------------------------------------
    def _show_status(self) -> None:
        palette = Palette.of(self)
        text = Text()
        text.append(" STORE " if self.view == STORE else " REDIS ", style="reverse bold")
        text.append("  ")
        error, summary = self._summary()
        if error:
            text.append(error, style=palette.style("error"))
        else:
            text.append(summary)
        text.append("  ·  s store  k redis  / search  d delete  R refresh", style="dim")
        self.query_one("#store-status", Static).update(text)

    def _summary(self) -> tuple[str | None, str]:
        if self.view == STORE:
            listing = self.store_listing
            if listing is None:
                return None, "reading…"
            if listing.error:
                return listing.error, ""
            where = namespace_text(listing.prefix) or "every namespace"
            parts = [f"{len(listing.namespaces)} namespaces", f"{len(listing.items)} items in {where}"]
            if listing.query:
                parts.append(f"search {listing.query!r}" + (" (as text: no vector index)" if listing.text_search
                                                             else ""))
            if listing.cut:
                parts.append("the newest only")
            return None, " · ".join(parts)
        found = self.redis_listing
        if found is None:
            return None, "reading…"
        if found.error:
            return found.error, ""
        listing = found.listing
        prefix = f" starting {shown_key(listing.prefix)!r}" if listing.prefix else ""
        cut = " (the first ones: narrow the prefix)" if listing.cut else ""
        return None, f"{len(listing.keys)} of {listing.total_keys} keys{prefix}{cut}"

    def _selected_item(self):
        key = self.query_one("#store-items", RecordTable).selected_key
        if key is None or self.store_listing is None:
            return None
        return next((item for item in self.store_listing.items if item_key(item) == key), None)

    def _show_value(self) -> None:
        view = self.query_one(StateView)
        if self.view == STORE:
            item = self._selected_item()
            if item is None:
                view.clear()
            else:
                view.show(*item_entries(item))
            return
        key = self.query_one("#redis-keys", RecordTable).selected_key
        view.clear()
        if key is not None:
            self._read_redis_value(key)

    def restyle(self) -> None:
        self._show_status()

    def on_data_table_row_highlighted(self, event) -> None:
        if event.data_table is self._main_table():
            self._show_value()

    def on_data_table_row_selected(self, event) -> None:
        if event.data_table.id == "store-namespaces":
            key = event.data_table.selected_key
            self.prefix = () if key in (None, ALL_NAMESPACES) else parse_namespace(key)
            self.action_refresh()
            self.query_one("#store-items", RecordTable).focus()

    # --- search ------------------------------------------------------------------------------------------------
    def action_search(self) -> None:
        self.query_one(FilterInput).open(self.query_text if self.view == STORE else self.key_prefix)

    def _apply_search(self, text: str) -> None:
        if self.view == STORE:
            self.query_text = text.strip()
        else:
            self.key_prefix = text
        self.action_refresh()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if not isinstance(event.input, FilterInput):
            return super().on_input_submitted(event)
        event.stop()
        event.input.close()
        self._main_table().focus()
        self._apply_search(event.value)

    def on_filter_input_cleared(self, message: FilterInput.Cleared) -> None:
        message.stop()
        self._main_table().focus()
        self._apply_search("")

    # --- delete -------------------------------------------------------------------------------------------------
    def action_delete(self) -> None:
        if self.view == STORE:
            item = self._selected_item()
            if item is None:
                self.notify("no store item selected", severity="warning")
                return
            name = f"{namespace_text(item.namespace)}:{shown_key(item.key)}"
            question = f"Delete the store item {name}? It cannot be undone."
            target = (STORE, item.namespace, item.key, name)
        else:
            key = self.query_one("#redis-keys", RecordTable).selected_key
            if key is None:
                self.notify("no Redis key selected", severity="warning")
                return
            name = shown_key(key)
            question = f"Delete the Redis key {name}? It cannot be undone."
            target = (REDIS, (), key, name)

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(*target)

        self.app.push_screen(ConfirmScreen(question), answered)

    @work(thread=True, group="store-delete", name="delete", exit_on_error=False)
    def _delete(self, kind: str, namespace: tuple[str, ...], key: str, name: str) -> None:
        if kind == STORE:
            self.source.delete_store_item(namespace, key)
        else:
            self.source.delete_redis_key(key)
        self.post_message(self.Deleted(name))

    def on_store_screen_deleted(self, message: Deleted) -> None:
        self.notify(f"deleted {message.what}")
        self.action_refresh()

    def worker_failed(self, worker: Worker, cause: str) -> None:
        super().worker_failed(worker, cause)
        if worker.group == "store-delete":
            self.action_refresh()  # gone under us, or Redis went down: show the store as it is now
