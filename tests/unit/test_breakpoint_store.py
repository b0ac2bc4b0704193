"""The state dir's breakpoints.json: what the book saves reads back the same for any node names, and a file of any
other shape is one StateFileCorrupt line naming the file, never a traceback."""

from __future__ import annotations

import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lgconsole.console.model.breakpoints import BreakpointBook, Breakpoints
from lgconsole.stack.services.breakpoint_store import read_breakpoints, write_breakpoints
from lgconsole.stack.services.state_files import StateFileCorrupt

names = st.text(min_size=1, max_size=12)
picks = st.dictionaries(st.text(min_size=1, max_size=10),
                        st.tuples(st.lists(names, max_size=3, unique=True), st.lists(names, max_size=3, unique=True)),
                        max_size=4)


@given(picks)
def test_what_the_book_saves_reads_back_the_same(tmp_path_factory, picked):
    state_dir = tmp_path_factory.mktemp("state")
    book = BreakpointBook(save=lambda data: None if write_breakpoints(state_dir, data) else "not written")
    for key, (before, after) in picked.items():
        book.put(key, Breakpoints(tuple(before), tuple(after)))
        assert book.save_note is None
    again = BreakpointBook(read_breakpoints(state_dir))
    for key, (before, after) in picked.items():
        assert again.get(key) == Breakpoints(tuple(before), tuple(after))
    assert again.to_json() == book.to_json()
    if picked:
        assert stat.S_IMODE((state_dir / "breakpoints.json").stat().st_mode) == 0o600


@pytest.mark.parametrize("text, says", [
    ("", "empty"),
    ("[1]", "holds a list"),
    ('{"breakpoints": []}', "'breakpoints' is not an object"),
    ('{"breakpoints": {"g": 3}}', "of 'g' are not an object"),
    ('{"breakpoints": {"g": {"after": [1]}}}', "'g'.after is not a list of node names"),
    ('{"breakpoints": {"g": {"before": [""]}}}', "'g'.before is not a list of node names"),
])
def test_a_file_of_another_shape_is_one_line(tmp_path, text, says):
    (tmp_path / "breakpoints.json").write_text(text)
    with pytest.raises(StateFileCorrupt) as caught:
        read_breakpoints(tmp_path)
    line = str(caught.value)
    assert says in line and "breakpoints.json" in line and "pick them again" in line and "\n" not in line


def test_no_file_is_no_breakpoints_and_no_state_dir_writes_nothing(tmp_path):
    assert read_breakpoints(tmp_path) == {}
    assert write_breakpoints(tmp_path / "missing", {"g": {"before": ["a"], "after": []}}) is False
    assert not (tmp_path / "missing").exists()
