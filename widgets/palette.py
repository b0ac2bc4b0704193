"""The one status palette: a status word -> the Textual theme variable that colours it, resolved against the
running app's theme, so `App.theme` (and the command palette's theme switcher) recolours every status.

Widgets and screens ask `Palette.of(self)` for Rich style strings; no status colour is written literally anywhere
else. "dim" is an attribute, not a colour: statuses that only step back (stopped, disabled) stay dim in any theme.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Mapping

from textual.color import Color, ColorParseError

# status -> theme variable ($text-* are the theme's colours made readable as text on its background)
STATUS_COLOURS: dict[str, str] = {
    # it works, it is done
    "healthy": "text-success", "ok": "text-success", "success": "text-success", "done": "text-success",
    "idle": "text-success", "head": "text-success", "added": "text-success", "well": "text-success",
    # in progress, or worth a look
    "starting": "text-warning", "running": "text-warning", "busy": "text-warning", "degraded": "text-warning",
    "warn": "text-warning", "warning": "text-warning", "changed": "text-warning", "paused": "text-warning",
    "service:waiting": "text-warning",  # a service waiting for a dependency, not for a person
    # broken
    "crashed": "text-error", "failed": "text-error", "error": "text-error", "errored": "text-error",
    "bad": "text-error", "critical": "text-error", "cancelled": "text-error", "removed": "text-error",
    "alert": "text-error", "run:interrupted": "text-error",  # a run stopped from outside
    "down": "text-error",  # an external service that does not answer
    # waits for a person (an interrupt)
    "waiting": "text-secondary", "interrupted": "text-secondary", "answered": "text-secondary",
    "question": "text-secondary", "process:service": "text-secondary",
    # to read: keys, evidence, notes, new things
    "info": "text-primary", "note": "text-primary", "key": "text-primary", "new": "text-primary",
    # steps back
    "stopped": "dim", "disabled": "dim", "muted": "dim",
}

# badges (white or black text on a block of colour): the theme's full-strength colours
BADGE_COLOURS: dict[str, str] = {"critical": "error", "warning": "warning", "info": "primary", "well": "success",
                                 "attention": "warning"}

_DEFAULT_VARIABLES: dict[str, str] | None = None


@lru_cache(maxsize=256)
def _rich_colour(value: str) -> str | None:
    """A theme's colour as Rich writes it: "#8ad4a1", or "color(2)" for an ANSI theme's "ansi_green"."""
    try:
        return Color.parse(value).rich_color.name
    except ColorParseError:
        return None  # "auto 87%" and the like: not a colour on its own


def _default_variables() -> dict[str, str]:
    """textual-dark's variables, for text built outside a running app (tests, a CLI preview)."""
    global _DEFAULT_VARIABLES
    if _DEFAULT_VARIABLES is None:
        from textual.theme import BUILTIN_THEMES

        _DEFAULT_VARIABLES = BUILTIN_THEMES["textual-dark"].to_color_system().generate()
    return _DEFAULT_VARIABLES


def redraw_on_theme_change(widget, redraw: Callable[[], None]) -> None:
    """Call `redraw()` after the app's theme changes: text built with a palette keeps the old theme's colours until
    it is built again (call from `on_mount`; the subscription ends with the widget)."""
    widget.app.theme_changed_signal.subscribe(widget, lambda _theme: redraw())


class Palette:
    """Rich style strings for statuses, from one theme's variables."""

    def __init__(self, variables: Mapping[str, str]):
        self.variables = variables

    @classmethod
    def of(cls, node) -> Palette:
        """The palette of the running app a widget, screen or app belongs to (textual-dark's when none runs)."""
        try:
            app = node if hasattr(node, "theme_variables") else node.app
        except Exception:  # no active app (a widget built in a test, text drawn for a file)
            return cls(_default_variables())
        variables = app.theme_variables or app.get_css_variables()
        return cls(variables)

    def colour(self, status: str, kind: str | None = None) -> str | None:
        """The theme's colour for a status (`kind` picks a meaning specific to one kind of thing, e.g.
        `kind="service"` for a service's `waiting`), None for no colour or dim."""
        variable = (STATUS_COLOURS.get(f"{kind}:{status}") if kind else None) or STATUS_COLOURS.get(status)
        if variable is None or variable == "dim" or not self.variables.get(variable):
            return None
        return _rich_colour(self.variables[variable])

    def style(self, status: str, *attributes: str, kind: str | None = None) -> str:
        """`style("error", "bold")` -> "bold #D17E92" in textual-dark; an unknown status keeps only the attributes."""
        variable = (STATUS_COLOURS.get(f"{kind}:{status}") if kind else None) or STATUS_COLOURS.get(status)
        parts = list(attributes)
        if variable == "dim":
            parts.append("dim")
        else:
            colour = self.colour(status, kind)
            if colour:
                parts.append(colour)
        return " ".join(parts)

    def drawing(self, variable: str, *attributes: str) -> str:
        """A colour that is no status (a graph's lines and boxes, a duration) from a theme variable by name:
        `drawing("accent", "bold")`. A translucent one ($foreground-muted) is laid over $surface, as it shows; a
        terminal's own colour at some strength (an ANSI theme's "ansi_default 50%") cannot be blended, so it is dim."""
        parts = list(attributes)
        name, _, strength = self.variables.get(variable, "").partition(" ")
        try:
            colour = Color.parse(name)
        except ColorParseError:  # unknown variable, or "auto 60%": a contrast, no colour of its own
            return " ".join(parts)
        alpha = colour.a * (float(strength.removesuffix("%")) / 100 if strength.endswith("%") else 1.0)
        if alpha < 1:
            try:
                surface = Color.parse(self.variables.get("surface", ""))
            except ColorParseError:
                surface = None
            if colour.ansi is None and surface is not None and surface.ansi is None and surface.a == 1:
                colour = surface + colour.with_alpha(alpha)
            else:
                parts.append("dim")
        parts.append(colour.rich_color.name)
        return " ".join(parts)

    def badge(self, status: str) -> str:
        """Bold text on a block of the status's colour, the text white or black for contrast."""
        background = self.variables.get(BADGE_COLOURS.get(status, ""))
        if not background or _rich_colour(background) is None:
            return "bold"
        text = "#000000" if Color.parse(background).brightness > 0.5 else "#FFFFFF"
        return f"bold {text} on {_rich_colour(background)}"
