"""A state diff (or any `+ / - / ~` prefixed lines) coloured line by line; text is never read as markup."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from lgconsole.widgets.palette import Palette, redraw_on_theme_change

# a line's first character -> (palette status, attributes)
LINE_MARKS = {"+": ("added", ""), "-": ("removed", ""), "~": ("changed", ""), "!": ("error", "bold"),
              "?": ("question", "bold"), "#": ("", "bold")}


def diff_text(sections: list[tuple[str, list[str]]], palette: Palette | None = None) -> Text:
    """Sections of lines under a title; a line's first character picks its colour."""
    palette = palette or Palette.of(None)
    styles = {mark: palette.style(status, *filter(None, [attrs])) for mark, (status, attrs) in LINE_MARKS.items()}
    text = Text()
    for n, (title, lines) in enumerate(sections):
        if n:
            text.append("\n")
        text.append(title + "\n", style="bold underline")
        if not lines:
            text.append("  (nothing)\n", style="dim")
        for line in lines:
            text.append(line + "\n", style=styles.get(line[:1], ""))
    return text


class _ShowsSections:
    """What both diff widgets share: `show(sections)`, drawn again in the new theme's colours after a theme switch."""

    _sections: list[tuple[str, list[str]]] | None = None

    def on_mount(self) -> None:
        redraw_on_theme_change(self, self._redraw)

    def _redraw(self) -> None:
        if self._sections is not None:
            self.show(self._sections)

    def show(self, sections: list[tuple[str, list[str]]]) -> None:
        self._sections = sections
        self._draw(diff_text(sections, Palette.of(self)))

    def _draw(self, text: Text) -> None:
        raise NotImplementedError


class DiffView(_ShowsSections, Static):
    DEFAULT_CSS = """
    DiffView { padding: 0 1; }
    """

    def _draw(self, text: Text) -> None:
        self.update(text)


class DiffPane(_ShowsSections, ScrollView, can_focus=True):
    """The same sections in a pane that scrolls by itself, drawn line by line (Textual's line API). A Static in a
    scrolling container changes height with every new text, and that costs the whole screen a second layout pass
    in the next frame; this pane keeps its size, lays its text out once per text and width, and renders only the
    lines in view. The Live screen shows a new step's diff here at every paint of a streaming run."""

    DEFAULT_CSS = """
    DiffPane { padding: 0 1; scrollbar-gutter: stable; }  /* the wrap width does not depend on the scrollbar */
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._text = Text()
        self._lines: list[Text] = []  # self._text wrapped at self._wrapped_at cells
        self._wrapped_at = -1
        self._strips: dict[int, Strip] = {}  # line number -> its rendered strip, for the text and width shown

    @property
    def plain(self) -> str:
        """The text shown, without styles."""
        return self._text.plain

    def _draw(self, text: Text) -> None:
        self._text = text
        self._wrapped_at = -1
        self._layout_lines()  # (the scroll position is kept, within the new text's lines)
        self.refresh()

    def on_resize(self) -> None:
        self._layout_lines()

    def _layout_lines(self) -> None:
        width = self.scrollable_content_region.width
        if width <= 0 or width == self._wrapped_at:
            return
        self._wrapped_at = width
        self._lines = list(self._text.wrap(self.app.console, width, overflow="fold"))
        if self._lines and not self._lines[-1].plain:
            self._lines.pop()  # the text's closing line break
        self._strips.clear()
        self.virtual_size = Size(width, len(self._lines))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        number = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if number >= len(self._lines):
            return Strip.blank(width, base)
        strip = self._strips.get(number)
        if strip is None:
            strip = Strip(self._lines[number].render(self.app.console)).apply_style(base)
            self._strips[number] = strip
        return strip.crop_extend(0, width, base)
