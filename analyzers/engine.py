"""The rule engine: run the enabled rules on a trace context and vendor reports.

Trace rules get the :class:`TraceContext`; vendor rules get each report of
their ``input_kind``. Findings a vendor reader produced under a code no rule
of that kind claims are kept as they are, so nothing a tool reported is lost.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from ubscope.analyzers.config import Config
from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding
from ubscope.analyzers.rules import load_rules
from ubscope.analyzers.rules.base import Rule
from ubscope.analyzers.vendor.common import VendorReport
from ubscope.analyzers.vendor.registry import tool_of
from ubscope.probe.errors import ConfigError


def build_rules(config: Config | None = None) -> list[Rule]:
    """Instances of every enabled rule with the configured thresholds, by code."""
    config = config or Config()
    rules = []
    for code, rule_class in sorted(load_rules().items()):
        if not config.enabled(code):
            continue
        try:
            rules.append(rule_class(config.thresholds.get(code)))
        except KeyError as exc:
            raise ConfigError(config.source or "configuration", str(exc.args[0])) from None
    return rules


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


LOADAVG = "/proc/loadavg"  # its 4th field: tasks runnable now / all tasks


def idle_cpus() -> float:
    """How many of the usable CPUs other tasks leave free: this thread's own
    counts as free. Where Linux says how many tasks are runnable right now
    (``/proc/loadavg``), the fewest of three looks a millisecond apart (a
    passing kernel thread is not a busy CPU); elsewhere the 1-minute load
    average (all CPUs where the OS keeps none). The load average lags: after a
    minute of other work (a benchmark's earlier runs, the trace just read) it
    still counts a CPU busy that is idle now."""
    running = _running_now()
    if running is not None:
        return usable_cpus() - (running - 1)
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    return usable_cpus() - load


def _running_now(looks: int = 3) -> int | None:
    fewest = None
    for look in range(looks):
        if look:
            time.sleep(0.001)
        try:
            with open(LOADAVG, encoding="ascii") as handle:
                running = int(handle.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return None
        fewest = running if fewest is None else min(fewest, running)
    return fewest


def _check_trace(rules: list[Rule], context: TraceContext) -> list[Finding]:
    """The findings of the trace rules, in rule order, from this thread. When
    another CPU is usable and free (more than one free: this thread takes
    one), another thread computes ``TraceContext.background_part`` meanwhile (a
    rule that reads its data first waits for it). On a busy machine the thread
    only adds work: at 10 M events, with another process keeping one of two
    CPUs busy, it took 8-11 % more wall time and 12 % more CPU time than no
    thread and held 7-11 % more peak memory. One more thread, not a pool of two
    running the rules: two workers had 1.5x the page faults and +10 % peak RSS
    (measured while glibc gave each thread an arena of its own, heap.py)."""
    if usable_cpus() < 2 or idle_cpus() <= 1:
        return [finding for rule in rules for finding in rule.check(context)]
    with ThreadPoolExecutor(1, thread_name_prefix="ubscope-analysis") as pool:
        # if the part fails, its future keeps the error: the rule or metric that
        # reads the data computes it again and raises, as without the thread
        pool.submit(context.background_part)
        # the rules that read the part's last steps, the block touches and then
        # the single-buffered queues, go last: this thread checks the others
        # meanwhile instead of waiting (at 10 M events it waited 0.4 s, then
        # ran UB014 alone for 0.27 s)
        found = {
            rule.code: list(rule.check(context))
            for rule in sorted(
                rules, key=lambda rule: (rule.reads_single_buffered, rule.reads_block_usage)
            )
        }
        return [finding for rule in rules for finding in found[rule.code]]


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Error first, then by code, then by where (first event)."""
    return sorted(
        findings,
        key=lambda f: (-int(f.severity), f.code, f.location.first_seq or 0, f.message),
    )


def run_rules(
    context: TraceContext | None,
    vendor: Sequence[VendorReport] = (),
    config: Config | None = None,
) -> list[Finding]:
    """All findings of the enabled rules on ``context`` and ``vendor``, sorted."""
    config = config or Config()
    rules = build_rules(config)
    findings: list[Finding] = []
    if context is not None:
        findings.extend(_check_trace([r for r in rules if r.input_kind == "trace"], context))
    for report in vendor:
        tool = tool_of(report)
        kind = tool.name if tool is not None else None
        claimed = {code for code, cls in load_rules().items() if cls.input_kind == kind}
        for rule in rules:
            if rule.input_kind == kind:
                findings.extend(rule.check(report))
        findings.extend(
            f for f in report.findings if f.code not in claimed and config.enabled(f.code)
        )
    return sort_findings(findings)
