"""`lgconsole prune --older-than`: ages read and printed, and the checkpoint-id floor that turns an age into a range
of uuid6 checkpoint ids (no services)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lgconsole.stack.checkpoints.ids import checkpoint_id_floor, checkpoint_time
from lgconsole.stack.checkpoints.prune import PruneError, format_age, parse_age


@pytest.mark.parametrize("text, seconds", [("90m", 5400), ("36h", 129600), ("7d", 604800), ("2w", 1209600),
                                           ("1d12h", 129600), ("1.5h", 5400), (" 45s ", 45)])
def test_ages_are_read(text, seconds):
    assert parse_age(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "7", "7x", "d7", "-3d", "0d", "7d junk"])
def test_bad_ages_are_one_line_errors(text):
    with pytest.raises(PruneError) as info:
        parse_age(text)
    assert "\n" not in str(info.value)


def test_ages_print_in_their_largest_unit():
    assert [format_age(parse_age(t)) for t in ("7d", "36h", "90m", "2w", "45s")] == ["7d", "36h", "90m", "14d", "45s"]


def test_checkpoint_id_floor_orders_like_the_checkpoint_ids():
    from langgraph.checkpoint.base.id import uuid6

    made = str(uuid6(clock_seq=3))
    when = checkpoint_time(made)
    assert checkpoint_time(made) == when
    assert made < checkpoint_id_floor(when + timedelta(microseconds=1))
    assert not made < checkpoint_id_floor(when)
    assert checkpoint_time(checkpoint_id_floor(when)) == when
