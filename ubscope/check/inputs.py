"""The ``TRACE|DIR`` arguments of ``ubscope check`` and ``ubscope baseline``
sorted out: trace files, sweep folders (``DIR/sweep.parquet``) and folders of
traces, whose ``.ubtrace`` files count as if each were named, as ``ubscope
analyze DIR`` reads such a folder."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

from ubscope.probe.errors import InputError
from ubscope.probe.trace_meta import TRACE_SUFFIX, find_traces


class CheckInputs(NamedTuple):
    """Trace files (those of folders of traces in place of the folder) and sweep folders."""

    traces: list[str]
    sweeps: list[str]


def split_inputs(paths: Sequence[str]) -> CheckInputs:
    """Sort ``paths`` out; a folder with neither a sweep table nor a trace is an
    InputError naming it."""
    # The analysis layer (numpy, pandas) loads here, not with `ubscope check --help`.
    from ubscope.analyzers import SWEEP_TABLE

    inputs = CheckInputs([], [])
    for path in paths:
        if not os.path.isdir(path):
            inputs.traces.append(path)
        elif os.path.lexists(os.path.join(path, SWEEP_TABLE)):
            # A sweep folder holds its configurations' traces too: its table
            # says which ran and how, so it is read rather than the traces.
            inputs.sweeps.append(path)
        else:
            inputs.traces.extend(_folder_traces(path, SWEEP_TABLE))
    return inputs


def _folder_traces(folder: str, sweep_table: str) -> list[str]:
    try:
        # Unreadable traces stay listed: measuring them says why, as for a named trace.
        return [str(entry.path) for entry in find_traces(folder)]
    except InputError:
        raise InputError(
            folder,
            f"no {TRACE_SUFFIX} files and no {sweep_table} (a folder written by "
            "`ubscope sweep`) in this folder",
        ) from None
