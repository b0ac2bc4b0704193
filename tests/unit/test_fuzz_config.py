"""Fuzz: lgconsole.toml. Any TOML document (known sections and keys with values of any type, unknown ones) and any
bytes load to a Config or raise a one-line ConfigError; a Config that loads holds only values that pass the checks
(finite numbers in range, lists and tables of strings)."""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import fuzz
from lgconsole.console.config import SECTIONS, ConfigError, load_config

pytestmark = pytest.mark.fuzz

KNOWN_KEYS = {name: [f.name for f in fields(section.default_factory())] for name, section in SECTIONS.items()}
SCALARS = st.one_of(st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["", "serve", "cpu", "~nosuchuser", "~", "/", "/nonexistent/bin", "x" * 200]),
                    st.text(max_size=12))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string (a lone surrogate makes it invalid TOML: also a case)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


@st.composite
def documents(draw) -> str:
    lines = []
    if draw(st.booleans()):
        lines.append(f"state_dir = {toml_value(draw(st.one_of(VALUES, st.just('/tmp/lgc-fuzz-state'))))}")
    odd_names = st.sampled_from(["a\nb", "\x1b[2J", "x y", "é", "prot"])  # a message must stay one line
    section_names = st.one_of(st.sampled_from(sorted(SECTIONS)), st.text(min_size=1, max_size=6), odd_names)
    for section in draw(st.lists(section_names, max_size=4, unique=True)):
        lines.append(f"[{json.dumps(section)}]")
        keys = st.one_of(st.sampled_from(KNOWN_KEYS.get(section) or ["x"]), st.text(min_size=1, max_size=8), odd_names)
        for key in draw(st.lists(keys, max_size=5, unique=True)):
            lines.append(f"{json.dumps(key)} = {toml_value(draw(VALUES))}")
    return "\n".join(lines) + "\n"


def _load(data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lgconsole.toml"
        path.write_bytes(data)
        try:
            return load_config(path, env={}, cwd=Path(tmp))
        except ConfigError as exc:
            assert "\n" not in str(exc).strip(), str(exc)
            return None


def _checked(config) -> None:
    for name in SECTIONS:
        for key, value in vars(getattr(config, name)).items():
            if isinstance(value, float):
                assert math.isfinite(value), (name, key, value)
            if isinstance(value, list):
                assert all(isinstance(v, str) for v in value), (name, key, value)
            if isinstance(value, dict):
                assert all(isinstance(v, str) for v in value.values()), (name, key, value)
    assert 0.1 <= config.ui.refresh_seconds <= 3600
    assert not config.state_dir.startswith("~")


@fuzz
@given(documents())
def test_any_toml_document_loads_or_is_one_config_error(text: str):
    config = _load(text.encode("utf-8", errors="surrogatepass"))
    if config is not None:
        _checked(config)


@fuzz
@given(st.binary(max_size=200))
def test_any_bytes_load_or_are_one_config_error(data: bytes):
    config = _load(data)
    if config is not None:
        _checked(config)


@pytest.mark.parametrize("text, message", [
    ("[ui]\nrefresh_seconds = -1\n", "[ui] refresh_seconds: must be at least 0.1, got -1"),
    ("[ui]\nrefresh_seconds = 0\n", "[ui] refresh_seconds: must be at least 0.1, got 0"),
    ("[ui]\nrefresh_seconds = nan\n", "[ui] refresh_seconds: expected a finite number, got nan"),
    ("[vllm]\nextra_args = [1, 2]\n", "[vllm] extra_args[0]: expected a string, got 1 (quote it: \"1\")"),
    ("[langgraph]\nenv = {A = 1}\n", "[langgraph] env.A: expected a string, got 1"),
    ('state_dir = "~nosuchuser"\n', "state_dir: '~nosuchuser': no user 'nosuchuser'"),
    ("[postgres]\nbin_dir = \"/nonexistent/bin\"\n", "[postgres] bin_dir: /nonexistent/bin is not a directory"),
    ("[vllm]\nmax_num_seqs = 0\n", "[vllm] max_num_seqs: must be at least 1, got 0"),
])
def test_the_issues_config_values_are_refused(text: str, message: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lgconsole.toml"
        path.write_text(text)
        with pytest.raises(ConfigError) as info:
            load_config(path, env={})
    assert message in str(info.value) and str(path) in str(info.value)
