"""Which launch each event belongs to, batch by batch."""

from __future__ import annotations

import numpy as np

from ubscope.probe.events import EventKind


class LaunchCounter:
    """Numbers the launches as the batches come: each KERNEL_BEGIN starts the
    next; events before the first count with the first, as over the whole
    trace (:class:`~ubscope.analyzers.model.launches.LaunchModel`)."""

    def __init__(self) -> None:
        self.begun = 0  # KERNEL_BEGIN events seen

    def of(self, kind: np.ndarray) -> np.ndarray:
        """The launch index of each event of the next batch (its kind codes)."""
        begins = np.cumsum(kind == EventKind.KERNEL_BEGIN)
        launch = np.maximum(self.begun + begins - 1, 0)
        self.begun += int(begins[-1]) if begins.size else 0
        return launch
