"""A command builds only its own group's parser (console/cli/main.py): the table of groups must name every command
of the full parser, in the group that defines it, and the command word must be found behind the global options."""

from __future__ import annotations

import argparse

import pytest

from lgconsole.console.cli import main


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_each_group_defines_exactly_its_commands():
    every = set()
    for group, (_, commands) in main.COMMAND_GROUPS.items():
        assert _commands(main._parser(group)) == set(commands), group
        every |= set(commands)
    assert _commands(main._parser()) == every | {"demo"}


@pytest.mark.parametrize("argv, group", [
    (["history", "t1"], "threads"),
    (["--state-dir", "/tmp/x", "diff", "t", "a", "b"], "threads"),
    (["--config", "status", "threads"], "threads"),  # `status` is the config file's name here
    (["--conf", "up", "logs"], "stack"),  # an abbreviated option takes its value too
    (["--config=c.toml", "prune", "--older-than", "7d"], "ops"),
    (["-h", "threads"], None),
    (["demo"], None),
    ([], None),
    (["no-such-command"], None),
])
def test_the_command_word_is_found_behind_the_global_options(argv, group):
    assert main._command_group(argv) == group
