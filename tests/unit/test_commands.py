from __future__ import annotations

import pytest

from lgconsole.console.model.commands import Command, CommandError, parse_command
from lgconsole.stack.services.service import SERVICE_NAMES

SCREENS = ("stack",)


@pytest.mark.parametrize("text, expected", [
    (":stack", Command("stack")),
    ("restart langgraph", Command("restart", "langgraph")),
    (":restart lang", Command("restart", "langgraph")),
    ("stop pg", None),
    ("logs redis", Command("logs", "redis")),
    ("up", Command("up")),
    ("q", Command("quit")),
])
def test_parse(text, expected):
    if expected is None:
        with pytest.raises(CommandError, match="unknown service 'pg'"):
            parse_command(text, SCREENS, SERVICE_NAMES)
    else:
        assert parse_command(text, SCREENS, SERVICE_NAMES) == expected


@pytest.mark.parametrize("text, message", [("", "empty"), ("restart", "usage: restart SERVICE"),
                                           ("frobnicate", "unknown command 'frobnicate'")])
def test_errors_are_one_line(text, message):
    with pytest.raises(CommandError, match=message):
        parse_command(text, SCREENS, SERVICE_NAMES)
