"""Fuzz: `prune --older-than AGE`. Any text is an age within the accepted range or a one-line error (argparse's
usage error on the command line), never an OverflowError; what is accepted prints back as an age that reads again."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import fuzz
from lgconsole.console.cli.ops import MAX_AGE, MIN_AGE, _age
from lgconsole.stack.checkpoints.prune import PruneError, format_age, parse_age

pytestmark = pytest.mark.fuzz

NUMBERS = st.one_of(st.integers(0, 10**30).map(str), st.floats(0, 1e30).map(lambda f: f"{f:f}"),
                    st.sampled_from(["0.0001", "142857143", "1e400", "-3", "nan", "inf", "9" * 400, "1.5", "."]))
AGES = st.one_of(
    st.lists(st.tuples(NUMBERS, st.sampled_from(["s", "m", "h", "d", "w", "", "x", " d", "D"])), min_size=1,
             max_size=3).map(lambda parts: "".join(n + u for n, u in parts)),
    st.text(max_size=20),
)


@fuzz
@given(AGES)
def test_any_age_text_reads_or_is_one_line(text: str):
    try:
        age = parse_age(text)
    except PruneError as exc:
        assert "\n" not in str(exc)
    else:
        assert age > timedelta(0)
        assert abs(parse_age(format_age(age)) - age) <= timedelta(seconds=max(1e-6, age.total_seconds() * 1e-5))
    try:
        accepted = _age(text)
    except argparse.ArgumentTypeError as exc:
        assert "\n" not in str(exc)
    else:
        assert MIN_AGE <= accepted <= MAX_AGE


@pytest.mark.parametrize("text, message", [("142857143w", "longer than any checkpoint can be old"),
                                           ("0.0001m", "out of range: an age from 1s to 36500d"),
                                           ("36501d", "out of range")])
def test_the_issues_ages_are_refused(text: str, message: str):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        _age(text)
