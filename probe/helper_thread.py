"""A daemon thread that helps for the length of a ``with`` block (faulting in
pages ahead of a decoder, reading batches ahead of it)."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TypeVar

Helper = TypeVar("Helper", bound="HelperThread")


class HelperThread:
    """Runs :meth:`run` on a daemon thread from entering the block, if
    :meth:`wanted`; leaving the block sets :attr:`stopping` (``run`` checks it
    between steps) and waits for the thread to end."""

    name = "ubscope-helper"

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)

    def wanted(self) -> bool:
        return True

    def run(self) -> None:
        raise NotImplementedError

    def __enter__(self: Helper) -> Helper:
        if self.wanted():
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stopping.set()
        if self._thread.is_alive():
            self._thread.join()
