"""The status palette: every status names a theme variable that every built-in theme defines as a colour Rich draws."""

from __future__ import annotations

import pytest
from rich.style import Style
from textual.theme import BUILTIN_THEMES

from lgconsole.widgets.palette import BADGE_COLOURS, STATUS_COLOURS, Palette


@pytest.mark.parametrize("theme", sorted(BUILTIN_THEMES))
def test_every_status_resolves_in_every_builtin_theme(theme):
    palette = Palette(BUILTIN_THEMES[theme].to_color_system().generate())
    for status in STATUS_COLOURS:
        kind, _, word = status.rpartition(":")
        style = Style.parse(palette.style(word, "bold", kind=kind or None))
        assert style.bold
        if STATUS_COLOURS[status] == "dim":
            assert style.dim and style.color is None
        else:
            assert style.color is not None, f"{status} has no colour in {theme}"
    for status in BADGE_COLOURS:
        badge = Style.parse(palette.badge(status))
        assert badge.bgcolor is not None and badge.color is not None


def test_kind_picks_a_meaning_and_unknown_statuses_keep_their_attributes():
    palette = Palette(BUILTIN_THEMES["textual-dark"].to_color_system().generate())
    assert palette.style("waiting", kind="service") == palette.style("warning")  # a dependency, not a person
    assert palette.style("waiting") != palette.style("warning")
    assert palette.style("no-such-status", "bold") == "bold"
    assert palette.badge("warning").startswith("bold #000000 on ")  # black on the bright orange
    assert palette.badge("critical").startswith("bold #FFFFFF on ")


def test_outside_a_running_app_the_default_theme_applies():
    assert Palette.of(None).style("error") == Palette(BUILTIN_THEMES["textual-dark"].to_color_system().generate()
                                                      ).style("error")


@pytest.mark.parametrize("theme", sorted(BUILTIN_THEMES))
def test_every_drawing_colour_resolves_in_every_builtin_theme(theme):
    """The graph's lines and boxes (and the timeline's durations) name theme variables every theme defines; a
    translucent one is laid over the surface, so Rich gets an opaque colour."""
    from lgconsole.widgets.graph_view import DRAWING_COLOURS

    palette = Palette(BUILTIN_THEMES[theme].to_color_system().generate())
    for role, (variable, *attributes) in {**DRAWING_COLOURS, "duration": ("text-primary",)}.items():
        style = Style.parse(palette.drawing(variable, *attributes))
        assert style.color is not None, f"{role} ({variable}) has no colour in {theme}"
        assert all(getattr(style, attribute) for attribute in attributes)
    if palette.variables["text-muted"].startswith("auto"):
        assert palette.drawing("text-muted", "bold") == "bold"  # "auto 60%" is no colour on its own
