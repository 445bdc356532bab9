"""Locating findings: where a set of events is, their call-site groups, and the
events a finding points at."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ubscope.analyzers.findings import Finding, Location
from ubscope.analyzers.model.arrays import (
    CORE_KIND_LABELS,
    CORE_SPAN,
    KIND_LABELS,
    SPACE_LABELS,
    dense_codes,
    unique_codes,
)
from ubscope.analyzers.model.launches import LaunchModel
from ubscope.probe.event_table import EventTable
from ubscope.probe.events import EventKind, Flag, Space


class Locator:
    """Turns event rows into locations and call-site groups, and findings back into rows."""

    def __init__(self, table: EventTable, launches: LaunchModel):
        self.table = table
        self.launch_model = launches

    def location(self, rows: np.ndarray, **fields: Any) -> Location:
        """A Location for a set of event rows: kernel, core and space of the first,
        first/last seq; ``fields`` override or add (addr range, tag, tensor...)."""
        first, last = int(rows.min()), int(rows.max())
        seq = self.table.column("seq")
        core = int(self.table.column("core")[first])
        space = SPACE_LABELS[int(self.table.column("space")[first])]
        base: dict[str, Any] = {
            "kernel": self.launch_model.kernel_of(first),
            "core": core if core >= 0 else None,
            "core_kind": CORE_KIND_LABELS[int(self.table.column("core_kind")[first])]
            if core >= 0
            else None,
            "space": space if space != "NONE" else None,
            "first_seq": int(seq[first]),
            "last_seq": int(seq[last]),
        }
        base.update(fields)
        return Location(**base)

    def footprint_start(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Address of the first byte of the footprint of each event at ``rows``
        (of every event when None). A red-zone write's footprint is the bytes it
        put past capacity, the tail of the write: taken from its ``addr`` it
        would cover the valid memory the write started in."""
        if rows is None:
            start = self.table.column("addr").copy()
            redzone = redzone_rows = self.table.rows(EventKind.REDZONE_WRITE)
        else:
            start = self.table.column("addr")[rows]
            redzone = np.flatnonzero(self.table.column("kind")[rows] == EventKind.REDZONE_WRITE)
            redzone_rows = rows[redzone]
        if redzone.size:
            writes = self.table.redzone_writes()
            start[redzone] += writes.at("bytes", redzone_rows) - writes.at(
                "past_capacity", redzone_rows
            )
        return start

    def site_groups(
        self,
        rows: np.ndarray,
        keys: tuple[str, ...] = ("tag", "core_kind"),
        *,
        addr: np.ndarray | None = None,
        space: np.ndarray | None = None,
        end: np.ndarray | None = None,
        values: dict[str, np.ndarray] | None = None,
        critical: dict[str, np.ndarray] | None = None,
    ) -> pd.DataFrame:
        """Event rows (ascending) grouped by call site (``keys`` among tag, core_kind,
        space, tensor): per group the event count, first_row, last_row, cores
        (sorted list), addr_start/addr_end, tensor and where_space (of the first
        event), the sum of each ``values`` array and the critical-path part of each
        ``critical`` array (see :meth:`critical_path_sums`). ``addr`` and ``space``
        override the columns (e.g. the on-chip side of a copy), ``end`` the end of
        each event's range (default: ``addr`` plus the event's footprint)."""
        addr = self.footprint_start(rows) if addr is None else addr
        space = self.table.column("space")[rows] if space is None else space
        columns = {"space": space}
        parts = [columns[k] if k in columns else self.table.column(k)[rows] for k in keys]
        combined = np.zeros(rows.size, dtype=np.int64)
        for part in parts:
            combined = (combined << 21) | part.astype(np.int64)
        codes, count = dense_codes(combined)
        first = np.full(count, rows.size, dtype=np.int64)
        last = np.full(count, -1, dtype=np.int64)
        positions = np.arange(rows.size)
        np.minimum.at(first, codes, positions)
        np.maximum.at(last, codes, positions)
        low = np.full(count, np.iinfo(np.int64).max, dtype=np.int64)
        high = np.full(count, np.iinfo(np.int64).min, dtype=np.int64)
        np.minimum.at(low, codes, addr)
        if end is None:
            end = addr + np.maximum(self.table.footprint()[rows], 1)
        np.maximum.at(high, codes, end)
        core = (self.table.column("core")[rows].astype(np.int64) + 1) & (CORE_SPAN - 1)
        pairs = np.unique(codes.astype(np.int64) * CORE_SPAN + core)
        cores: list[list[int]] = [[] for _ in range(count)]
        for pair in pairs.tolist():
            cores[pair // CORE_SPAN].append(pair % CORE_SPAN - 1)
        out = pd.DataFrame(
            {
                "events": np.bincount(codes, minlength=count),
                "first_row": rows[first] if rows.size else first,
                "last_row": rows[last] if rows.size else last,
                "addr_start": low,
                "addr_end": high,
                "cores": cores,
            }
        )
        labels = {
            "tag": self.table.labels("tag"),
            "tensor": self.table.labels("tensor"),
            "core_kind": np.array(CORE_KIND_LABELS),
            "space": np.array(SPACE_LABELS),
        }
        for key, part in zip(keys, parts, strict=True):
            out[key] = labels[key][part[first]].astype(str) if rows.size else []
        out["tensor"] = (
            self.table.labels("tensor")[self.table.column("tensor")[rows[first]]].astype(str)
            if rows.size
            else []
        )
        out["where_space"] = np.array(SPACE_LABELS)[space[first]] if rows.size else []
        for name, array in (values or {}).items():
            sums = np.zeros(
                count,
                dtype=np.asarray(array).dtype if np.asarray(array).dtype.kind == "f" else np.int64,
            )
            np.add.at(sums, codes, array)
            out[name] = sums
        for name, array in (critical or {}).items():
            out[name] = self.critical_path_sums(rows, np.asarray(array, dtype=float), codes, count)
        return out.sort_values(list(keys), kind="stable").reset_index(drop=True)

    def critical_path_sums(
        self, rows: np.ndarray, saved_ps: np.ndarray, codes: np.ndarray, count: int
    ) -> np.ndarray:
        """Per group (``codes`` in 0..count-1, one per row), how much of the time
        ``saved_ps`` (per event) would come off the kernel's modelled time: the cores
        of a launch run side by side, so a launch shortens by at most the largest
        saving of one core; launches run one after another, so theirs add up. At
        most the modelled time."""
        if not rows.size:
            return np.zeros(count)
        firsts = self.launch_model.launches["first_seq"].to_numpy()
        launch = self.launch_model.launch_of(rows)
        core = (self.table.column("core")[rows].astype(np.int64) + 1) & (CORE_SPAN - 1)
        per_launch = codes.astype(np.int64) * max(1, len(firsts)) + launch
        kinds = len(CORE_KIND_LABELS)
        per_core = (per_launch * kinds + self.table.column("core_kind")[rows]) * CORE_SPAN
        keys, inverse = unique_codes(per_core + core)
        core_sums = np.bincount(inverse, weights=saved_ps)
        launch_keys, launch_of = unique_codes(keys // (kinds * CORE_SPAN))
        worst = np.zeros(launch_keys.size)
        np.maximum.at(worst, launch_of, core_sums)
        group = launch_keys // max(1, len(firsts))
        return np.minimum(
            np.bincount(group, weights=worst, minlength=count), self.launch_model.modelled_time_ps
        )

    def events_for(self, finding: Finding) -> np.ndarray:
        """Boolean mask over the events a finding points at: its seq range, core(s),
        space, address range, tag, tensor, and event kinds / flag named in its
        evidence (``event_kinds``, ``flag``)."""
        loc = finding.location
        mask = np.ones(len(self.table), dtype=bool)
        if loc.first_seq is None:
            return np.zeros(len(self.table), dtype=bool)
        seq = self.table.column("seq")
        mask &= (seq >= loc.first_seq) & (
            seq <= (loc.last_seq if loc.last_seq is not None else loc.first_seq)
        )
        evidence = finding.evidence
        cores = evidence.get("cores") or ([loc.core] if loc.core is not None else None)
        if cores is not None:
            mask &= np.isin(self.table.column("core"), cores)
        if loc.core_kind:
            mask &= self.table.column("core_kind") == CORE_KIND_LABELS.index(loc.core_kind)
        if loc.space:
            code = int(Space[loc.space])
            mask &= (self.table.column("space") == code) | (self.table.column("src_space") == code)
        for column, value in (("tag", loc.tag), ("tensor", loc.tensor)):
            if value:
                matches = np.flatnonzero(self.table.labels(column) == value)
                mask &= np.isin(self.table.column(column), matches)
        if evidence.get("event_kinds"):
            kinds = [KIND_LABELS.index(k) for k in evidence["event_kinds"]]
            mask &= np.isin(self.table.column("kind"), kinds)
        if evidence.get("flag"):
            mask &= (self.table.column("flags") & int(Flag[evidence["flag"]])) != 0
        if loc.addr_start is not None and loc.addr_end is not None and loc.space != "GM":
            addr = self.footprint_start()
            reach = addr + np.maximum(self.table.footprint(), 1)
            src = self.table.column("src_addr")
            mask &= ((addr < loc.addr_end) & (reach > loc.addr_start)) | (
                (src >= loc.addr_start) & (src < loc.addr_end)
            )
        return mask
