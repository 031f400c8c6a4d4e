"""Frozen value classes that cost nothing to define.

`@dataclass(frozen=True)` compiles six methods from generated source for every class it makes (`__init__`,
`__repr__`, `__eq__`, `__hash__`, `__setattr__`, `__delattr__`): about a millisecond per class on every start,
20 ms for the layer kinds alone, more than computing a whole table of ResNet-152 takes (issue 14). `value`
makes the same class (a dataclass: `dataclasses.fields`, `replace`, `asdict` and pickling work as before)
with methods shared by every value class, driven by the fields it reads once when the class is defined.
Nothing is compiled; an instance takes about 60 % longer to make than with a compiled `__init__` (1.7
against 1.05 µs for seven fields), so the few classes made once per layer of a run (a table's rows, the
receptive fields, quiz problems) stay `@dataclass(frozen=True)`. Value classes behave as the generated
methods do: keyword-only fields, defaults and default factories, `init=False` fields set to their
defaults, `__post_init__`, equality and hashing over the fields with `compare=True`, the repr of the fields
with `repr=True`, and `FrozenInstanceError` on assignment (`tests/test_values.py` compares them).
"""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING, FrozenInstanceError
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def value(cls: type[T] | None = None, /, *, kw_only: bool = False) -> Any:
    """`@value` or `@value(kw_only=True)` on a class with annotated fields, as `@dataclass(frozen=True)`."""

    def make(cls: type[T]) -> type[T]:
        if not cls.__doc__:
            # dataclass would write one from inspect.signature, which tokenizes text (8 ms the first time)
            cls.__doc__ = f"{cls.__name__}({', '.join(cls.__dict__.get('__annotations__', ()))})"
        cls = dataclasses.dataclass(cls, init=False, repr=False, eq=False, kw_only=kw_only)  # fields only: no code
        _equip(cls)
        return cls

    return make if cls is None else make(cls)


def _equip(cls: type) -> None:
    fields = dataclasses.fields(cls)
    name = cls.__qualname__
    positional = tuple(f.name for f in fields if f.init and not f.kw_only)
    accepted = frozenset(f.name for f in fields if f.init)
    required = frozenset(f.name for f in fields if f.init and f.default is MISSING and f.default_factory is MISSING)
    fields_in_order = tuple(f.name for f in fields)
    set_ = object.__setattr__
    # (name, default) of the fields without a default factory, then (name, factory) of those with one; a
    # field that takes no argument never reaches the loop below in the arguments (__init__ refuses it first),
    # so it gets its default
    plan = tuple((f.name, f.default) for f in fields if f.default_factory is MISSING)
    factories = tuple((f.name, f.default_factory) for f in fields if f.default_factory is not MISSING)
    compared = tuple(f.name for f in fields if f.compare)
    shown = tuple(f.name for f in fields if f.repr)
    post_init: Callable[[Any], None] | None = getattr(cls, "__post_init__", None)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if args:
            if len(args) > len(positional):
                raise TypeError(f"{name}.__init__() takes {len(positional) + 1} positional arguments but {len(args) + 1} were given")
            for key, arg in zip(positional, args):
                if key in kwargs:
                    raise TypeError(f"{name}.__init__() got multiple values for argument '{key}'")
                kwargs[key] = arg
        if not accepted.issuperset(kwargs) or not required.issubset(kwargs):
            unexpected = [k for k in kwargs if k not in accepted]
            if unexpected:
                raise TypeError(f"{name}.__init__() got an unexpected keyword argument '{unexpected[0]}'")
            missing = next(k for k in fields_in_order if k in required and k not in kwargs)
            raise TypeError(f"{name}.__init__() missing 1 required argument: '{missing}'")
        # one field at a time, in one order for every instance, as the generated __init__ does: instances of a
        # class then share their attribute names (PEP 412), which a dict filled by `__dict__.update` would not
        # (a third more memory for a 100,000-layer network's receptive fields)
        given = kwargs.get
        for key, default in plan:
            set_(self, key, given(key, default))
        for key, factory in factories:
            set_(self, key, kwargs[key] if key in kwargs else factory())
        if post_init is not None:
            post_init(self)

    def __repr__(self: Any) -> str:
        return f"{self.__class__.__qualname__}({', '.join(f'{key}={getattr(self, key)!r}' for key in shown)})"

    def __eq__(self: Any, other: Any) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return tuple(getattr(self, key) for key in compared) == tuple(getattr(other, key) for key in compared)

    def __hash__(self: Any) -> int:
        return hash(tuple(getattr(self, key) for key in compared))

    for method in (__init__, __repr__, __eq__, __hash__):
        method.__qualname__ = f"{name}.{method.__name__}"
        setattr(cls, method.__name__, method)
    cls.__setattr__ = _frozen_setattr  # type: ignore[method-assign,assignment]
    cls.__delattr__ = _frozen_delattr  # type: ignore[method-assign,assignment]


def _frozen_setattr(self: Any, key: str, _value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {key!r}")


def _frozen_delattr(self: Any, key: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {key!r}")


__all__ = ["value"]
