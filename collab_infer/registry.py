"""A small generic registry by name, one per kind (reducers, models, datasets, ...).

Heavy backends are registered lazily as ``"module:attr"`` strings so importing the
package stays fast; duplicate names are refused; unknown names get a "did you mean"
answer listing what exists.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> object (or lazy ``"module:attr"`` reference) for one kind of component.

    >>> reg = Registry("reducer")
    >>> reg.add("full", dict)
    >>> reg.get("full") is dict
    True
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T | str] = {}

    def add(self, name: str, obj: T | str) -> None:
        """Register ``obj`` (or a lazy ``"module:attr"`` string) under ``name``."""
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`add`."""

        def deco(obj: T) -> T:
            self.add(name, obj)
            return obj

        return deco

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> T:
        """The object registered as ``name``; lazy references are imported on first use."""
        if not isinstance(name, str):
            raise TypeError(
                f"a {self.kind} name must be a string, got {name!r}; "
                f"available: {', '.join(self.names())}"
            )
        if name not in self._items:
            close = difflib.get_close_matches(name, self._items, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"unknown {self.kind} {name!r}.{hint} Available: {', '.join(self.names())}"
            )
        obj = self._items[name]
        if isinstance(obj, str):
            module, _, attr = obj.partition(":")
            obj = getattr(importlib.import_module(module), attr)
            self._items[name] = obj
        return obj  # type: ignore[return-value]

    def build(self, name: str, **params: Any) -> Any:
        """Instantiate the class registered as ``name`` with ``params``; parameters the
        class does not take are an error listing the valid ones (never swallowed).

        >>> reg = Registry("thing")
        >>> reg.add("frac", "fractions:Fraction")
        >>> reg.build("frac", numerator=1, denominator=2)
        Fraction(1, 2)
        """
        cls = self.get(name)
        valid = parameter_names(cls)
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {', '.join(unknown)} for {self.kind} {name!r}; "
                f"valid: {', '.join(valid) or '(none)'}"
            )
        missing = [p for p in required_parameter_names(cls) if p not in params]
        if missing:
            raise ValueError(
                f"{self.kind} {name!r} needs the parameter(s) {', '.join(missing)}; "
                f"it takes: {', '.join(valid)}"
            )
        return cls(**params)


def parameter_names(cls: Any) -> list[str]:
    """Constructor parameter names of ``cls`` (dataclass fields, else its signature)."""
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls) if f.init]
    return [
        p.name
        for p in inspect.signature(cls).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def required_parameter_names(cls: Any) -> list[str]:
    """Constructor parameters of ``cls`` without a default (to name missing ones)."""
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return []
    return [
        p.name
        for p in params
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
