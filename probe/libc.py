"""Functions of the process's C library, for the few places ubscope tunes how
memory is handed out (Linux only: elsewhere they are absent and nothing is tuned).
ctypes releases the GIL for each call."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable
from typing import Any


@functools.cache
def _library() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def c_function(name: str, *argtypes: Any) -> Callable[..., int] | None:
    """The C library's ``name`` taking ``argtypes`` and returning an int, or None
    where there is no such function."""
    function = getattr(_library(), name, None)
    if function is None:
        return None
    function.argtypes, function.restype = argtypes, ctypes.c_int
    typed: Callable[..., int] = function
    return typed
