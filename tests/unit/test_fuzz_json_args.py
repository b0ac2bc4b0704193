"""Fuzz: the JSON a user types. `run --input/--config/--context`, `fork --set KEY=JSON`, an interrupt answer, a
dialog's JSON field and the fork editor's state: any text gives a value or the parser's one-line error, never a
traceback, also nested a thousand deep; the schema checks and the unknown-key warning take any value."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import fuzz
from lgconsole.console.cli.exit_codes import UsageError
from lgconsole.console.cli.json_args import MAX_JSON_DEPTH, json_depth, parse_json_arg, parse_sets, reset_stdin
from lgconsole.console.model.input_template import JsonFieldError, check_config, check_context, check_input, \
    parse_json_field, unknown_input_keys
from lgconsole.console.model.interrupts import AnswerError, parse_answer
from lgconsole.console.rows.threads import EditError, fork_update

pytestmark = pytest.mark.fuzz

SCHEMAS = [json.loads(p.read_text()) for p in sorted((Path(__file__).parents[1] / "fixtures" / "assistants")
                                                      .glob("*.schemas.json"))]
JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     st.text(max_size=8)),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                       max_size=4), max_leaves=15)


@st.composite
def json_like_text(draw) -> str:
    """Text near JSON: a value's JSON, cut, with a piece replaced, or brackets nested up to 3,000 deep."""
    kind = draw(st.sampled_from(["value", "cut", "nested", "text", "constants"]))
    if kind == "value":
        return json.dumps(draw(JSON_VALUES))
    if kind == "cut":
        text = json.dumps(draw(JSON_VALUES))
        return text[: draw(st.integers(0, len(text)))]
    if kind == "nested":
        depth = draw(st.integers(1, 3000))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        return opener * depth + draw(st.sampled_from(["1", "", "null"])) + closer * draw(st.integers(0, depth))
    if kind == "constants":
        return draw(st.sampled_from(["NaN", "Infinity", "-Infinity", '{"a": NaN}', "1e400", "[1e999]", "-0"]))
    return draw(st.text(max_size=60))


def _fits_limits(value) -> None:
    assert json_depth(value) <= MAX_JSON_DEPTH
    json.dumps(value, allow_nan=False)  # what is sent is JSON the server reads


@fuzz
@given(json_like_text().filter(lambda t: not t.startswith("@")), json_like_text())
def test_json_options_parse_or_are_one_usage_error(text: str, piped: str):
    reset_stdin()  # `-` reads `piped`, as from a pipe
    try:
        value = parse_json_arg(text, "--input", stdin=io.StringIO(piped))
    except UsageError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("--input")
        return
    _fits_limits(value)


@fuzz
@given(st.lists(st.one_of(json_like_text().map(lambda t: "task=" + t), st.text(max_size=30)), max_size=4)
       .filter(lambda items: not any(i.partition("=")[2].startswith("@") for i in items)), json_like_text())
def test_set_pairs_parse_or_are_one_usage_error(items: list[str], piped: str):
    reset_stdin()
    try:
        update = parse_sets(items, stdin=io.StringIO(piped))
    except UsageError as exc:
        assert "\n" not in str(exc) and "nothing was sent" in str(exc)
        return
    for value in update.values():
        _fits_limits(value)


@fuzz
@given(json_like_text())
def test_answers_and_dialog_fields_parse_or_are_one_error(text: str):
    for parse, error in ((parse_answer, AnswerError), (lambda t: parse_json_field(t, "input"), JsonFieldError)):
        try:
            parse(text)
        except error as exc:
            assert "\n" not in str(exc)


@fuzz
@given(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=5), json_like_text())
def test_the_fork_editor_takes_any_edit(original: dict, edited: str):
    try:
        update = fork_update(original, edited)
    except EditError as exc:
        assert "\n" not in str(exc) and "nothing was sent" in str(exc)
        return
    assert isinstance(update, dict)


@fuzz
@given(JSON_VALUES, JSON_VALUES, JSON_VALUES, st.sampled_from(range(len(SCHEMAS))))
def test_schema_checks_and_the_unknown_key_warning_take_any_value(input_, config, context, which: int):
    schemas = SCHEMAS[which]
    for line in (check_input(input_, schemas["input_schema"]), check_config(config, schemas["config_schema"]),
                 check_context(context, schemas["context_schema"]), unknown_input_keys(input_, schemas["input_schema"])):
        assert line is None or (isinstance(line, str) and "\n" not in line)


def test_stdin_and_file_arguments_take_ten_megabytes(tmp_path):
    big = {"task": "x" * 10_000_000}
    path = tmp_path / "input.json"
    path.write_text(json.dumps(big))
    assert parse_json_arg(f"@{path}", "--input") == big
    reset_stdin()
    try:
        assert parse_json_arg("-", "--input", stdin=io.StringIO(json.dumps(big))) == big
        with pytest.raises(UsageError, match="stdin was already read for --input"):
            parse_json_arg("-", "--context", stdin=io.StringIO("{}"))
    finally:
        reset_stdin()
    assert parse_sets([f"task=@{path}"]) == {"task": big}


@pytest.mark.parametrize("text, message", [
    ('{"a":' * 1000 + "1" + "}" * 1000, "--input is nested too deeply (at most 100 levels"),
    ("[" * 101 + "]" * 101, "--input is nested too deeply"),
    ('{"a": NaN}', "--input is not valid JSON: NaN is not JSON"),
    ("@/nonexistent/input.json", "--input @/nonexistent/input.json: no such file"),
    ("@", "the file name is missing"),
])
def test_the_issues_inputs_are_one_line(text: str, message: str):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_json_arg(text, "--input")
