"""The analysis layer's public API: the one entry point for views.

The CLI commands, the TUI and the HTML report import what they need from here
(``from ubscope.analyzers import analyze_path, Finding, ...``), never from the
modules behind it: running the analysis (:func:`analyze_path`,
:func:`analyze_trace`), its results (:class:`Analysis`, :class:`Finding`,
:class:`TraceContext`), comparing two analyses, the derived series the views
draw, the rule registry, the configuration and the report formats.
"""

from ubscope.analyzers.api import (
    Analysis,
    analyze_inputs,
    analyze_path,
    analyze_trace,
    read_vendor,
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
)
from ubscope.analyzers.config import Config, discover_config, load_config
from ubscope.analyzers.context import CORE_KIND_LABELS, SPACE_LABELS, TraceContext
from ubscope.analyzers.event_fields import EventField, event_fields
from ubscope.analyzers.event_filter import (
    FILTER_HELP,
    EventFilter,
    filter_rows,
    parse_event_filter,
)
from ubscope.analyzers.findings import Finding, Location, Severity
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
from ubscope.analyzers.output import (
    FORMATS,
    JSON_SCHEMA,
    combine_documents,
    dumps,
    finding_headline,
    render_text,
    to_document,
)
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
from ubscope.analyzers.vendor.registry import detect_vendor_input, vendor_tools
from ubscope.analyzers.vendor.tool import VendorTool

__all__ = [
    "A_MEANING",
    "BY_CODE",
    "B_MEANING",
    "CODE_PREFIX",
    "CORE_KIND_LABELS",
    "DELTA_MEANING",
    "FIELD_GROUPS",
    "FILTER_HELP",
    "FORMATS",
    "JSON_SCHEMA",
    "KNOWN_METRICS",
    "LEGEND",
    "PER_SPACE_GROUPS",
    "REGISTRY",
    "SEVERITY_NAMES",
    "SPACE_LABELS",
    "TIME_METRIC",
    "Analysis",
    "BlockEvent",
    "Comparison",
    "Config",
    "EventField",
    "EventFilter",
    "Finding",
    "FindingChanges",
    "Location",
    "MetricDelta",
    "OccupancySeries",
    "Place",
    "PlaceBlocks",
    "Rule",
    "RuleDoc",
    "Severity",
    "Threshold",
    "TraceContext",
    "VendorTool",
    "analyze_inputs",
    "analyze_path",
    "analyze_trace",
    "block_event",
    "combine_documents",
    "compare",
    "compare_analyses",
    "core_label",
    "detect_vendor_input",
    "discover_config",
    "dumps",
    "event_fields",
    "explain_rule",
    "failed_allocations",
    "filter_rows",
    "finding_counts",
    "finding_headline",
    "finding_rows",
    "finding_times",
    "flatten_metrics",
    "format_value",
    "kv_usage_over_time",
    "load_config",
    "load_rules",
    "metric_families",
    "metric_unit",
    "metric_value",
    "ordered_metrics",
    "parse_event_filter",
    "places",
    "read_vendor",
    "redzone_writes",
    "register",
    "render_text",
    "row_of_seq",
    "rule_text",
    "to_document",
    "vendor_tools",
]
