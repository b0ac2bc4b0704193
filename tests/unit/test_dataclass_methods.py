"""stack/dataclass_methods.py: the config's dataclasses take __repr__ and __eq__ from one base instead of having
@dataclass generate them; for any values, both say exactly what @dataclass's own methods say (a twin of each class,
a plain @dataclass with the same fields, is the reference), and the classes stay unhashable."""

from __future__ import annotations

import copy
import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lgconsole.console import config as config_module
from lgconsole.console.config import Config, load_config
from lgconsole.stack.checkpoints import records as records_module
from lgconsole.stack.dataclass_methods import DataclassMethods
from lgconsole.stack.services import service as service_module

CLASSES = [cls for cls in vars(config_module).values()
           if isinstance(cls, type) and dataclasses.is_dataclass(cls) and issubclass(cls, DataclassMethods)]
SECTION_CLASSES = [cls for cls in CLASSES if cls is not Config]
VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                   max_size=3), max_leaves=5)


def twin(cls: type) -> type:
    """The same fields in a plain @dataclass (its own generated __repr__ and __eq__), under the same qualname."""
    made = dataclasses.make_dataclass(cls.__name__, [(f.name, object, dataclasses.field(repr=f.repr, compare=f.compare))
                                                     for f in dataclasses.fields(cls)])
    made.__qualname__ = cls.__qualname__
    return made


TWINS = {cls: twin(cls) for cls in CLASSES}


def test_every_config_dataclass_takes_the_shared_methods():
    every = [cls for cls in vars(config_module).values() if isinstance(cls, type) and dataclasses.is_dataclass(cls)]
    assert CLASSES == every and len(CLASSES) == 10 and Config in CLASSES  # the nine sections and Config
    for cls in CLASSES:
        assert "__repr__" not in vars(cls) and "__eq__" not in vars(cls), cls
        assert cls.__hash__ is None, cls


@pytest.mark.parametrize("cls", SECTION_CLASSES, ids=lambda c: c.__name__)
@given(data=st.data())
def test_repr_and_eq_as_dataclass_writes_them(cls, data):
    names = [f.name for f in dataclasses.fields(cls)]
    a = {n: data.draw(VALUES, label=n) for n in names}
    b = dict(a) if data.draw(st.booleans(), label="same") else {n: data.draw(VALUES, label=n) for n in names}
    ours_a, ours_b = cls(**a), cls(**b)
    ref_a, ref_b = TWINS[cls](**a), TWINS[cls](**b)
    assert repr(ours_a) == repr(ref_a)
    assert (ours_a == ours_b) == (ref_a == ref_b)
    assert (ours_a != ours_b) == (ref_a != ref_b)
    assert ours_a == copy.deepcopy(ours_a) or ref_a != copy.deepcopy(ref_a)  # (a NaN inside is unequal for both)
    assert ours_a.__eq__(ref_a) is NotImplemented  # another class: Python then tries the other side, as for dataclasses


def test_a_whole_config_compares_and_prints_as_before(tmp_path):
    """Config: `local` and `contexts` stay out of the repr, `local` out of the comparison."""
    path = tmp_path / "lgconsole.toml"
    path.write_text('[postgres]\nport = 5433\n[contexts.prod.langgraph]\nurl = "http://x"\n')
    one, two = load_config(path, env={}), load_config(path, env={})
    assert one == two and not one != two
    fields = {f.name: getattr(one, f.name) for f in dataclasses.fields(Config)}
    ref = TWINS[Config](**fields)
    assert repr(one) == repr(ref)
    assert "contexts=" not in repr(one) and "local=" not in repr(one)
    two.local = one
    assert one == two  # compare=False
    two.postgres.port = 5434
    assert one != two


OTHER_CLASSES = [cls for module in (records_module, service_module) for cls in vars(module).values()
                 if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__]


def test_the_records_and_service_dataclasses_take_the_shared_methods_too():
    assert {c.__name__ for c in OTHER_CLASSES} == {"ServerView", "ThreadSummary", "CheckpointNode", "PendingWrite",
                                                   "CheckpointState", "SchemaInfo", "ServiceStatus", "Health",
                                                   "StackPaths", "StackSpec"}
    for cls in OTHER_CLASSES:
        assert issubclass(cls, DataclassMethods) and "__repr__" not in vars(cls) and "__eq__" not in vars(cls), cls


@pytest.mark.parametrize("cls", OTHER_CLASSES, ids=lambda c: c.__name__)
@given(data=st.data())
def test_their_repr_eq_and_hash_are_dataclasses_own(cls, data):
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    a = {n: data.draw(VALUES, label=n) for n in names}
    b = dict(a) if data.draw(st.booleans(), label="same") else {n: data.draw(VALUES, label=n) for n in names}
    frozen = cls.__dataclass_params__.frozen
    ref = dataclasses.make_dataclass(cls.__name__, [(n, object) for n in names], frozen=frozen)
    ref.__qualname__ = cls.__qualname__
    ours_a, ours_b, ref_a, ref_b = cls(**a), cls(**b), ref(**a), ref(**b)
    assert repr(ours_a) == repr(ref_a)
    assert (ours_a == ours_b) == (ref_a == ref_b) and (ours_a != ours_b) == (ref_a != ref_b)
    if not frozen:
        assert cls.__hash__ is None
    else:
        try:
            expected = hash(ref_a)
        except TypeError:  # an unhashable value inside: unhashable for both
            with pytest.raises(TypeError):
                hash(ours_a)
        else:
            assert hash(ours_a) == expected
            with pytest.raises(dataclasses.FrozenInstanceError):
                ours_a.__setattr__(names[0], None)
