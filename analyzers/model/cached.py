"""A cached property that threads compute once: the analysis computes independent
parts of the model on several threads (:meth:`TraceContext.prepare`), and parts they
share (the blocks, the launches) must not be computed twice or half-seen.

:func:`functools.cached_property` took a lock per property (one for all instances)
up to Python 3.11 and none since 3.12; this one takes a lock per instance and
property, so two models compute their own properties at the same time and a second
reader of the same property waits for the first one's value.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")

# guards the creation of the per-instance locks (held only for a dict lookup)
_LOCKS_LOCK = threading.Lock()


class cached_property(Generic[T]):
    """``functools.cached_property`` whose value one thread computes while others
    reading it at the same time wait for it (per instance and property)."""

    def __init__(self, func: Callable[[Any], T]):
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached_property[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        cache = instance.__dict__
        # once computed, the value in the instance's dict hides this (non-data)
        # descriptor: later reads take no lock
        with _lock_of(cache, self.name):
            if self.name not in cache:
                cache[self.name] = self.func(instance)
        return cache[self.name]


def _lock_of(cache: dict[str, Any], name: str) -> threading.Lock:
    locks = cache.get("_property_locks")
    if locks is None:
        with _LOCKS_LOCK:
            locks = cache.setdefault("_property_locks", {})
    lock = locks.get(name)
    if lock is None:
        with _LOCKS_LOCK:
            lock = locks.setdefault(name, threading.Lock())
    return lock
