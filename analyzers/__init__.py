"""The analysis layer's public API: the one entry point for views.

The CLI commands, the TUI and the HTML report import what they need from here
(``from ubscope.analyzers import analyze_path, Finding, ...``), never from the
modules behind it: running the analysis (:func:`analyze_path`,
:func:`analyze_trace`), its results (:class:`Analysis`, :class:`Finding`,
:class:`TraceContext`), comparing two analyses, the derived series the views
draw, the rule registry, the configuration and the report formats.

Names load on first use (PEP 562), so importing one module of the analysis
layer, or this package for a single name, does not pull in the whole stack
(pandas, pyarrow and every rule): the pytest plugin and ``ubscope --version``
stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ubscope.analyzers.api import (
        Analysis,
        ClusterView,
        RankMemory,
        analyze_cluster,
        analyze_inputs,
        analyze_path,
        analyze_trace,
        cluster_view,
        rank_folders,
        read_rank,
        read_vendor,
        reporting_reads,
    )
    from ubscope.analyzers.comparison import (
        A_MEANING,
        B_MEANING,
        DELTA_MEANING,
        LEGEND,
        Comparison,
        FindingChanges,
        MetricDelta,
        compare,
        compare_analyses,
        format_value,
        format_values,
    )
    from ubscope.analyzers.config import Config, discover_config, load_config
    from ubscope.analyzers.context import TraceContext
    from ubscope.analyzers.device_fault import (
        NUMERICS_NOT_MEANINGFUL,
        OUTPUT_NOT_MEANINGFUL,
        DeviceFault,
    )
    from ubscope.analyzers.event_detail import EventField, event_fields
    from ubscope.analyzers.event_filter import (
        FILTER_HELP,
        EventFilter,
        filter_rows,
        parse_event_filter,
    )
    from ubscope.analyzers.event_pages import FILTER_LIMIT, EventPages
    from ubscope.analyzers.findings import (
        NO_LOCATION,
        CallSiteGroup,
        Finding,
        Location,
        Severity,
        group_by_call_site,
    )
    from ubscope.analyzers.formats import FORMATS, JSON_SCHEMA
    from ubscope.analyzers.hanging import Hanging, Trimmed, indented_lines
    from ubscope.analyzers.metric_catalog import (
        BY_CODE,
        CODE_PREFIX,
        FIELD_GROUPS,
        KNOWN_METRICS,
        PER_SPACE_GROUPS,
        SEVERITY_NAMES,
        TIME_METRIC,
        flatten_metrics,
        metric_families,
        metric_unit,
        metric_value,
        ordered_metrics,
    )
    from ubscope.analyzers.metrics import finding_counts
    from ubscope.analyzers.model.arrays import CORE_KIND_LABELS, SPACE_LABELS, small_codes
    from ubscope.analyzers.output import (
        combine_documents,
        dumps,
        finding_headline,
        render_text,
        to_document,
    )
    from ubscope.analyzers.pareto import pareto_front
    from ubscope.analyzers.rules import load_rules
    from ubscope.analyzers.rules.base import REGISTRY, Rule, Threshold, register
    from ubscope.analyzers.rules.explain import RuleDoc, explain_rule, rule_text
    from ubscope.analyzers.series import (
        BlockEvent,
        OccupancySeries,
        Place,
        PlaceBlocks,
        block_event,
        core_label,
        failed_allocations,
        finding_rows,
        finding_times,
        kv_usage_over_time,
        places,
        redzone_writes,
        row_of_seq,
    )
    from ubscope.analyzers.streaming import (
        BatchPoints,
        analyze_streamed,
        streamed_chip,
        streams,
    )
    from ubscope.analyzers.sweep import (
        FAILURE_MISALIGNMENT,
        FAILURE_NUMERICS,
        FAILURE_OVERFLOW,
        FRONT_OBJECTIVES,
        GM_BYTES,
        STATUS_CRASHED,
        STATUS_FAILED,
        STATUS_INVALID,
        STATUS_OK,
        STATUS_TIMEOUT,
        STATUSES,
        SWEEP_TABLE,
        UNFINISHED,
        SweepRow,
        SweepTableError,
        read_sweep_table,
        row_of_analysis,
        sweep_front,
        unfinished_row,
        write_sweep_table,
    )
    from ubscope.analyzers.vendor.registry import detect_vendor_input, vendor_tools
    from ubscope.analyzers.vendor.tool import VendorTool

# Module (below ubscope.analyzers) -> the public names it provides.
_SOURCES: dict[str, tuple[str, ...]] = {
    "api": (
        "Analysis",
        "ClusterView",
        "RankMemory",
        "analyze_cluster",
        "analyze_inputs",
        "analyze_path",
        "analyze_trace",
        "cluster_view",
        "rank_folders",
        "read_rank",
        "read_vendor",
        "reporting_reads",
    ),
    "comparison": (
        "A_MEANING",
        "B_MEANING",
        "DELTA_MEANING",
        "LEGEND",
        "Comparison",
        "FindingChanges",
        "MetricDelta",
        "compare",
        "compare_analyses",
        "format_value",
        "format_values",
    ),
    "config": ("Config", "discover_config", "load_config"),
    "context": ("TraceContext",),
    "device_fault": ("NUMERICS_NOT_MEANINGFUL", "OUTPUT_NOT_MEANINGFUL", "DeviceFault"),
    "event_detail": ("EventField", "event_fields"),
    "event_pages": ("EventPages", "FILTER_LIMIT"),
    "event_filter": ("FILTER_HELP", "EventFilter", "filter_rows", "parse_event_filter"),
    "findings": (
        "NO_LOCATION",
        "CallSiteGroup",
        "Finding",
        "Location",
        "Severity",
        "group_by_call_site",
    ),
    "metric_catalog": (
        "BY_CODE",
        "CODE_PREFIX",
        "FIELD_GROUPS",
        "KNOWN_METRICS",
        "PER_SPACE_GROUPS",
        "SEVERITY_NAMES",
        "TIME_METRIC",
        "flatten_metrics",
        "metric_families",
        "metric_unit",
        "metric_value",
        "ordered_metrics",
    ),
    "metrics": ("finding_counts",),
    "model.arrays": ("CORE_KIND_LABELS", "SPACE_LABELS", "small_codes"),
    "formats": ("FORMATS", "JSON_SCHEMA"),
    "hanging": ("Hanging", "Trimmed", "indented_lines"),
    "output": (
        "combine_documents",
        "dumps",
        "finding_headline",
        "render_text",
        "to_document",
    ),
    "pareto": ("pareto_front",),
    "rules": ("load_rules",),
    "rules.base": ("REGISTRY", "Rule", "Threshold", "register"),
    "rules.explain": ("RuleDoc", "explain_rule", "rule_text"),
    "series": (
        "BlockEvent",
        "OccupancySeries",
        "Place",
        "PlaceBlocks",
        "block_event",
        "core_label",
        "failed_allocations",
        "finding_rows",
        "finding_times",
        "kv_usage_over_time",
        "places",
        "redzone_writes",
        "row_of_seq",
    ),
    "streaming": ("BatchPoints", "analyze_streamed", "streamed_chip", "streams"),
    "sweep": (
        "FAILURE_MISALIGNMENT",
        "FAILURE_NUMERICS",
        "FAILURE_OVERFLOW",
        "FRONT_OBJECTIVES",
        "GM_BYTES",
        "STATUS_CRASHED",
        "STATUS_FAILED",
        "STATUS_INVALID",
        "STATUS_OK",
        "STATUS_TIMEOUT",
        "STATUSES",
        "SWEEP_TABLE",
        "SweepRow",
        "SweepTableError",
        "UNFINISHED",
        "read_sweep_table",
        "row_of_analysis",
        "sweep_front",
        "unfinished_row",
        "write_sweep_table",
    ),
    "vendor.registry": ("detect_vendor_input", "vendor_tools"),
    "vendor.tool": ("VendorTool",),
}
_MODULE_OF = {name: module for module, names in _SOURCES.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
