"""`cnncalc.values.value` makes the class `dataclass(frozen=True)` would, without compiling its methods (issue 14):
each behaviour is compared with a twin made by `dataclasses.dataclass` from the same class body."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from dataclasses import FrozenInstanceError, field

import pytest

from cnncalc.model import layers
from cnncalc.values import value


def twins(body, **options):
    """The class `body` as a frozen dataclass and as a value class (two copies of the same body)."""
    def copy_of_body():
        namespace = {k: v for k, v in body.__dict__.items() if k not in ("__dict__", "__weakref__")}
        return type(body.__name__, body.__bases__, namespace)

    return dataclasses.dataclass(frozen=True, **options)(copy_of_body()), value(**options)(copy_of_body())


class Point:
    x: int
    y: int = 0
    tags: tuple = field(default_factory=tuple)
    where: object = field(default=None, compare=False, repr=False)
    kind: str = field(default="point", init=False)


class Normalised:
    sizes: tuple
    count: int = 1

    def __post_init__(self):
        object.__setattr__(self, "sizes", tuple(self.sizes))


CALLS = [
    ((1,), {}),
    ((1, 2), {}),
    ((), {"x": 3, "y": 4, "tags": ("a",), "where": "line 3"}),
    ((5,), {"where": "line 9"}),
]


@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_a_value_class_behaves_as_the_frozen_dataclass_of_the_same_body(args, kwargs):
    made_by_dataclass, made_by_value = twins(Point)
    a, b = made_by_dataclass(*args, **kwargs), made_by_value(*args, **kwargs)
    assert repr(a) == repr(b)
    assert [(f.name, f.init, f.compare, f.repr) for f in dataclasses.fields(a)] == [(f.name, f.init, f.compare, f.repr) for f in dataclasses.fields(b)]
    assert dataclasses.asdict(a) == dataclasses.asdict(b)
    assert hash(a) == hash(b)
    assert b == made_by_value(*args, **kwargs) and a == made_by_dataclass(*args, **kwargs)
    assert b == dataclasses.replace(b, where="elsewhere") and a == dataclasses.replace(a, where="elsewhere")  # `where` is not compared
    assert b != dataclasses.replace(b, y=99) and a != dataclasses.replace(a, y=99)
    assert b.kind == a.kind == "point"
    assert copy.deepcopy(b) == b and copy.copy(b) == b
    assert b != a and b.__eq__(a) is NotImplemented and a.__eq__(b) is NotImplemented  # another class: not equal, as dataclasses decide


def test_fields_compare_as_tuples_do_so_the_same_nan_is_equal_to_itself():
    made_by_dataclass, made_by_value = twins(Point)
    nan = float("nan")
    assert (made_by_value(nan) == made_by_value(nan)) is (made_by_dataclass(nan) == made_by_dataclass(nan)) is True
    assert (made_by_value(nan) == made_by_value(float("nan"))) is (made_by_dataclass(nan) == made_by_dataclass(float("nan"))) is False


def test_assignment_and_deletion_are_refused_as_in_a_frozen_dataclass():
    made_by_dataclass, made_by_value = twins(Point)
    for point in (made_by_dataclass(1), made_by_value(1)):
        with pytest.raises(FrozenInstanceError):
            point.x = 2
        with pytest.raises(FrozenInstanceError):
            del point.y
        with pytest.raises(FrozenInstanceError):
            point.new = 1


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1, 2, (), None, 5), {}), ((1,), {"x": 2}), ((1,), {"z": 2}), ((1,), {"kind": "line"})],
    ids=["missing", "too many", "twice", "unknown", "not an init field"],
)
def test_wrong_arguments_raise_type_error_as_the_generated_init_does(args, kwargs):
    made_by_dataclass, made_by_value = twins(Point)
    with pytest.raises(TypeError):
        made_by_dataclass(*args, **kwargs)
    with pytest.raises(TypeError):
        made_by_value(*args, **kwargs)


def test_post_init_and_keyword_only_fields():
    made_by_dataclass, made_by_value = twins(Normalised, kw_only=True)
    assert made_by_value(sizes=[1, 2]) == made_by_value(sizes=(1, 2)) and made_by_value(sizes=[1, 2]).sizes == (1, 2)
    assert repr(made_by_dataclass(sizes=[3], count=2)) == repr(made_by_value(sizes=[3], count=2))
    with pytest.raises(TypeError):
        made_by_value([1, 2])  # keyword-only


def test_a_subclass_adds_its_fields_after_its_bases():
    conv = layers.Conv(path="c", filters=8, kernel=3, pos=layers.SourcePos(4, 5))
    assert [f.name for f in dataclasses.fields(conv)][:3] == ["path", "name", "pos"]
    assert conv.kernel == (3, 3) and conv.padding == layers.Padding.of(0)  # __post_init__ normalised them
    assert conv == dataclasses.replace(conv, pos=None)  # positions take no part in equality
    assert conv != dataclasses.replace(conv, path="d")
    assert pickle.loads(pickle.dumps(conv)) == conv and pickle.loads(pickle.dumps(conv)).pos == (4, 5)  # the bundled specs' cache


def test_no_method_is_compiled_per_class():
    # the methods of every value class are the same code: nothing was generated and compiled for each
    assert layers.Conv.__init__.__code__ is layers.Padding.__init__.__code__ is layers.Network.__init__.__code__
    assert layers.Conv.__eq__.__code__ is layers.Fc.__eq__.__code__
