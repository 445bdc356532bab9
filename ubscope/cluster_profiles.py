"""Cluster profiles read in parallel: every rank folder of a torch_npu cluster
profile is read by :func:`~ubscope.executors.map_tasks` (local worker
processes or a Ray cluster), then analyzed as one cluster."""

from __future__ import annotations

import os
from typing import Any

from ubscope.analyzers import Analysis, Config, analyze_cluster, rank_folders, read_rank
from ubscope.executors import map_tasks
from ubscope.probe.errors import InputError, UbscopeError


def read_rank_or_why(folder: str) -> Any:
    """A worker task: the rank folder's report, or, when its data cannot be read
    (a user error, not a bug), why as one line; a bug still raises, and the
    executor reports it as crashed."""
    try:
        return read_rank(folder)
    except InputError as exc:
        # The folder itself is named once, by the warning.
        return exc.problem if os.path.normpath(exc.path) == os.path.normpath(folder) else str(exc)
    except UbscopeError as exc:
        return "; ".join(exc.message_lines())


def analyze_cluster_folder(
    root: str | os.PathLike[str],
    config: Config | None = None,
    *,
    jobs: int | None = None,
    executor: str = "local",
    address: str | None = None,
    progress: bool = True,
) -> Analysis:
    """Read each ``*_ascend_pt`` rank folder of ``root`` on its own worker and
    analyze the cluster. A rank that cannot be read is a warning; none at all
    is an error."""
    folders = rank_folders(root)
    if not folders:
        raise InputError(root, "expected a cluster profile: several *_ascend_pt rank folders")
    reports: dict[int, Any] = {}
    unread = []
    outcomes = map_tasks(
        read_rank_or_why,
        [os.fspath(folder) for folder in folders],
        jobs=jobs,
        executor=executor,
        address=address,
        progress=f"reading {len(folders)} ranks" if progress else None,
    )
    for outcome in outcomes:
        # A bug or a timeout is the executor's error ("crashed: ..."); bad data, the task's line.
        why = outcome.error or (outcome.value if isinstance(outcome.value, str) else None)
        if why is None:
            reports[outcome.index] = outcome.value
        else:
            unread.append(f"{folders[outcome.index]}: skipped: {why}")
    if not reports:
        raise InputError(root, f"no rank folder could be read ({unread[0]})")
    ranks = [reports[index] for index in sorted(reports)]
    return analyze_cluster(root, ranks, config, unread=sorted(unread))
