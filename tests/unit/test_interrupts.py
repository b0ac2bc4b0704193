"""Interrupt questions and typed answers, in one place."""

from __future__ import annotations

import pytest

from lgconsole.console.model.interrupts import AnswerError, parse_answer, payload_fields, question_text

APPROVAL = {"id": "abc", "value": {"question": "Approve the team's result?", "score": 8, "summary": "a\nb"}}


def test_the_question_of_the_first_interrupt():
    assert question_text([APPROVAL]) == "Approve the team's result?"
    assert question_text([{"value": "continue?"}]) == "continue?"
    assert question_text([{"value": {"x": 1}}]) == '{"x": 1}'
    assert question_text([]) == "" and question_text(None) == ""
    assert question_text([{"value": "y" * 500}], limit=10) == "y" * 9 + "…"


def test_the_other_fields_each_on_one_line():
    assert payload_fields(APPROVAL["value"]) == [("score", "8"), ("summary", "a b")]


@pytest.mark.parametrize(("typed", "value"), [
    ("true", True), ('{"approved": false}', {"approved": False}), (" yes ", "yes"), ("42", 42)])
def test_answers_are_json_when_they_parse_else_text(typed, value):
    assert parse_answer(typed) == value


def test_an_empty_answer_is_refused():
    with pytest.raises(AnswerError, match="empty"):
        parse_answer("   ")
