"""Fuzz: the state dir's files (spec.json, state.json, secrets.json) and a project's langgraph.json. Whatever bytes or JSON they hold, every reader
gives its record or a one-line StateFileCorrupt naming the file; none starts or stops a process."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import fuzz
from lgconsole.console.config import Config
from lgconsole.console.stack_spec import build_stack_spec
from lgconsole.stack.services.service import Secrets, StackSpec
from lgconsole.stack.services.state_files import StateFileCorrupt
from lgconsole.stack.services.supervisor import read_state

pytestmark = pytest.mark.fuzz

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(allow_nan=False),
                    st.text(max_size=8), st.sampled_from(["healthy", "stopped", "crashed", "postgres", "langgraph"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(["pid", "start_ticks", "port", "state", "name", "x"]), inner,
                                        max_size=4), max_leaves=10)
SERVICES = st.dictionaries(st.sampled_from(["postgres", "redis", "vllm", "langgraph", "other"]),
                           st.one_of(VALUES, st.fixed_dictionaries({}, optional={
                               "name": st.text(max_size=5), "state": SCALARS, "pid": SCALARS, "port": SCALARS,
                               "process": VALUES, "managed": SCALARS, "restarts": SCALARS})), max_size=4)
SPECS = st.dictionaries(st.sampled_from(["postgres", "redis", "langgraph"]),
                        st.fixed_dictionaries({"port": VALUES}), max_size=3).map(lambda s: {"services": s})
DOCUMENTS = st.one_of(
    SPECS.map(json.dumps),
    st.fixed_dictionaries({}, optional={"services": st.one_of(SERVICES, VALUES), "supervisor": VALUES,
                                        "updated_at": SCALARS, "state_dir": SCALARS, "stop_grace": SCALARS,
                                        "x": VALUES}).map(json.dumps),
    VALUES.map(json.dumps),
)
CONTENTS = st.one_of(DOCUMENTS.map(str.encode), DOCUMENTS.map(lambda t: t[: len(t) // 2].encode()),
                     st.binary(max_size=80), st.just(b""))


def _one_line(exc: Exception, name: str) -> None:
    assert "\n" not in str(exc) and name in str(exc)


@fuzz
@given(CONTENTS, CONTENTS, CONTENTS)
def test_every_state_file_reader_takes_any_content(state: bytes, spec: bytes, secrets: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        state_dir = Path(tmp)
        (state_dir / "state.json").write_bytes(state)
        (state_dir / "spec.json").write_bytes(spec)
        (state_dir / "secrets.json").write_bytes(secrets)
        try:
            read_state(state_dir)  # liveness is read from /proc: nothing is signalled
        except StateFileCorrupt as exc:
            _one_line(exc, "state.json")
        try:
            StackSpec.load(state_dir)  # its secrets are joined back from secrets.json: either file may be named
        except StateFileCorrupt as exc:
            _one_line(exc, "secrets.json" if "secrets.json" in str(exc) else "spec.json")
        try:
            Secrets(state_dir / "secrets.json")
        except StateFileCorrupt as exc:
            _one_line(exc, "secrets.json")
        config = Config(state_dir=str(state_dir))
        build_stack_spec(config)  # a damaged spec.json only loses the ports it kept


@fuzz
@given(CONTENTS)
def test_a_projects_langgraph_json_of_any_content_reads_or_is_one_line(content: bytes):
    from lgconsole.stack.services.project_env import ProjectEnvError, read_langgraph_json

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "langgraph.json").write_bytes(content)
        try:
            assert isinstance(read_langgraph_json(Path(tmp)), dict)
        except ProjectEnvError as exc:
            _one_line(exc, "langgraph.json")


@pytest.mark.parametrize("content, reason", [(b'{"services": {"postgres": {"po', "truncated or not JSON"),
                                             (b"[1, 2, 3]", "holds a list"), (b"", "empty"),
                                             (b"\xff\xfe\x00\x01garbage", "binary")])
def test_the_four_corrupt_cases_are_one_line_naming_the_file_and_the_fix(tmp_path, content, reason):
    (tmp_path / "state.json").write_bytes(content)
    with pytest.raises(StateFileCorrupt) as info:
        read_state(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'state.json'}: {reason}") and "lgconsole up" in str(info.value)
