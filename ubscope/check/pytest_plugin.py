"""pytest plugin: memory limits, finding checks and baselines for kernels run in tests.

Registered through the ``pytest11`` entry point and inert unless ``--ubscope``
(or a ``--ubscope-*`` option) is given or a test carries one of its markers.
A test records kernels with the ``ubscope_trace`` fixture; after the test body
the plugin analyzes the traces, applies the markers (``ub_limit``,
``ub_clean``, ``gm_traffic``) and the baselines, and fails the test with the
metric and the numbers. Limits use the same code as ``ubscope check``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ubscope.analyzers import BY_CODE, CODE_PREFIX
from ubscope.check.baseline import BaselineStore, missing_baseline_message
from ubscope.check.measurement import Measurement
from ubscope.check.tolerances import DEFAULT_TOLERANCE, Tolerances, tolerances_from_options
from ubscope.check.verdicts import Limit, Problem, check_measurement
from ubscope.probe.errors import ConfigError
from ubscope.probe.units import format_bytes, parse_size

MARKERS = {
    "ub_limit": "ub_limit(peak_ub=None, peak_l1=None, gm_read=None, gm_write=None): fail when "
    "a kernel recorded with ubscope_trace exceeds a size such as '160 KiB'",
    "ub_clean": "ub_clean(codes=[...]): fail on ubscope findings whose code starts with one of "
    "the prefixes (without codes: on any error or warning finding)",
    "gm_traffic": "gm_traffic(max_ratio_to_minimum=1.1): fail when GM traffic exceeds the "
    "kernel's minimal traffic by more than this factor",
}
UB_LIMIT_METRICS = {
    "peak_ub": "peak_bytes.UB",
    "peak_l1": "peak_bytes.L1",
    "gm_read": "gm.read_bytes",
    "gm_write": "gm.write_bytes",
}
GM_TRAFFIC_METRICS = {"max_ratio_to_minimum": "gm.ratio_to_minimum"}
SUMMARY_LENGTH = 10


@dataclass
class _RunRecord:
    nodeid: str
    measurements: list[Measurement]

    def worst(self, metric: str) -> float:
        return max((m.metrics.get(metric, 0) for m in self.measurements), default=0)


@dataclass
class _PluginState:
    enabled: bool
    repeat: int
    baseline_dir: str | None
    update_baselines: bool
    tolerances: Tolerances
    records: list[_RunRecord] = field(default_factory=list)


_STATE = pytest.StashKey[_PluginState]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ubscope", "ubscope: memory checks of NPU kernels")
    group.addoption(
        "--ubscope",
        action="store_true",
        default=False,
        help="analyze every kernel recorded with the ubscope_trace fixture and "
        "summarize the largest peak UB (markers work without this)",
    )
    group.addoption(
        "--ubscope-baseline",
        metavar="DIR",
        default=None,
        help="compare each recorded kernel configuration with its baseline in DIR",
    )
    group.addoption(
        "--ubscope-update-baselines",
        action="store_true",
        default=False,
        help="write the baselines in --ubscope-baseline DIR instead of comparing",
    )
    group.addoption(
        "--ubscope-repeat",
        type=int,
        default=1,
        metavar="N",
        help="run each recorded kernel N times and keep the worst of each metric",
    )
    group.addoption(
        "--ubscope-tolerance",
        action="append",
        default=[],
        metavar="[METRIC=]AMOUNT",
        # argparse %-formats help texts: a literal percent sign is written %%.
        help=f"allowed growth over the baseline (default {DEFAULT_TOLERANCE.replace('%', '%%')}), "
        "or METRIC=AMOUNT; repeatable",
    )


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS.values():
        config.addinivalue_line("markers", marker)
    repeat = config.getoption("--ubscope-repeat")
    if repeat < 1:
        raise pytest.UsageError(f"--ubscope-repeat must be at least 1, got {repeat}")
    baseline_dir = config.getoption("--ubscope-baseline")
    update = config.getoption("--ubscope-update-baselines")
    if update and not baseline_dir:
        raise pytest.UsageError("--ubscope-update-baselines needs --ubscope-baseline DIR")
    options = config.getoption("--ubscope-tolerance")
    try:
        tolerances = tolerances_from_options(options, option="--ubscope-tolerance")
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    enabled = bool(config.getoption("--ubscope") or baseline_dir or repeat > 1)
    config.stash[_STATE] = _PluginState(enabled, repeat, baseline_dir, update, tolerances)


class KernelRecorder:
    """What the ``ubscope_trace`` fixture yields: runs registered kernels into
    traces under the test's temporary directory and remembers them."""

    def __init__(self, directory: Path, repeat: int = 1):
        self.directory = directory
        self.repeat = repeat
        self.traces: list[Path] = []
        self.chip = None  # a ChipProfile; None: the default chip

    def run(self, kernel: Any, preset: str | None = None, **params: Any) -> Any:
        """Run ``kernel`` (a name or a KernelSpec) with its defaults, ``preset``
        and ``params``; with ``--ubscope-repeat N`` run it N times. Returns the
        last :class:`~ubscope.kernels.registry.RunOutcome` (outputs, references)."""
        from ubscope.kernels.catalog import get_kernel
        from ubscope.kernels.registry import run_kernel
        from ubscope.probe.chip import load_chip

        spec = get_kernel(kernel) if isinstance(kernel, str) else kernel
        resolved = spec.resolve(preset=preset, overrides=params)
        chip = self.chip or load_chip()
        self.directory.mkdir(parents=True, exist_ok=True)
        outcome = None
        for _ in range(self.repeat):
            path = self.directory / f"{spec.name}-{len(self.traces)}.ubtrace"
            outcome = run_kernel(spec, resolved, chip, path, preset=preset)
            self.traces.append(path)
        return outcome

    def run_ascendc(
        self,
        source: str | Path,
        entry: str,
        block_dim: int = 1,
        inputs: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
        defines: tuple[str, ...] = (),
        chip: Any = None,
    ) -> dict[str, Any]:
        """Build the Ascend C kernel ``source`` on the CPU twin, run ``entry`` over
        ``block_dim`` blocks with the GM tensors ``inputs`` and ``outputs``
        (numpy arrays; outputs give the initial contents) and record it like
        :meth:`run`, so the markers and baselines apply. ``chip`` is a
        ChipProfile or a chip name (default: the session's chip). Returns the
        outputs' final contents by name."""
        from ubscope.probe.ascendc.runner import run_ascendc
        from ubscope.probe.chip import load_chip

        profile = load_chip(chip) if isinstance(chip, str) else chip or self.chip or load_chip()
        self.directory.mkdir(parents=True, exist_ok=True)
        # The configuration is named by the file name, not its path, so a
        # baseline matches wherever the checkout lies.
        config = {
            "source": Path(source).name,
            **({"defines": " ".join(defines)} if defines else {}),
        }
        finals: dict[str, Any] = {}
        for _ in range(self.repeat):
            path = self.directory / f"{entry}-{len(self.traces)}.ubtrace"
            run = run_ascendc(
                source,
                entry,
                block_dim,
                inputs or {},
                outputs or {},
                profile,
                path,
                defines=tuple(defines),
                params=config,
            )
            self.traces.append(path)
            finals = run.outputs
        return finals


@pytest.fixture
def ubscope_trace(request: pytest.FixtureRequest, tmp_path: Path) -> KernelRecorder:
    """Record the kernels the test runs (``ubscope_trace.run("pool_demo", tile=4096)``);
    the plugin checks them against the test's markers and baselines after the test."""
    return KernelRecorder(tmp_path / "ubscope", request.config.stash[_STATE].repeat)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    state = item.config.stash[_STATE]
    limits = _marker_limits(item)
    if limits is None and not state.enabled:
        return result
    recorder = getattr(item, "funcargs", {}).get("ubscope_trace")
    if recorder is None or not recorder.traces:
        if limits is not None:
            pytest.fail(
                "ubscope markers need a kernel recorded with the ubscope_trace fixture "
                "(ubscope_trace.run(kernel, ...)); this test recorded none",
                pytrace=False,
            )
        return result
    # Imported here: the analysis stack loads only in sessions that recorded kernels.
    from ubscope.check.measure import measure_traces

    measurements = measure_traces(recorder.traces)
    state.records.append(_RunRecord(item.nodeid, measurements))
    problems = [
        message
        for measurement in measurements
        for message in _check(item, state, measurement, limits or {})
    ]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
    return result


def _check(
    item: pytest.Item, state: _PluginState, measurement: Measurement, limits: dict[str, Limit]
) -> list[str]:
    """Problems of one configuration: its limits, and its baseline when asked."""
    baseline, extra, path = None, [], None
    if state.baseline_dir:
        store = BaselineStore(state.baseline_dir)
        path = str(store.path_for(measurement))
        if state.update_baselines:
            store.save(measurement, update=True)
        else:
            found = store.load(measurement)
            if found is None:
                command = f"pytest {item.nodeid} {_update_options(state)}"
                extra.append(f"{measurement.name}: {missing_baseline_message(path, command)}")
            else:
                baseline = found.metrics
    result = check_measurement(
        measurement, baseline, state.tolerances, limits=limits, baseline_path=path
    )
    messages = extra + [
        f"{measurement.name}: {_explain(problem, measurement)}" for problem in result.problems
    ]
    if any(p.kind in ("regression", "finding") for p in result.problems):
        messages.append(f"if intended, accept with: pytest {item.nodeid} {_update_options(state)}")
    return messages


def _update_options(state: _PluginState) -> str:
    return f"--ubscope-baseline {state.baseline_dir} --ubscope-update-baselines"


def _explain(problem: Problem, measurement: Measurement) -> str:
    """A problem's message; for finding limits, also which codes were found
    (for ``findings.error``, only the codes found as errors)."""
    metric = problem.metric or ""
    if not metric.startswith("findings."):
        return problem.message
    by_code = metric.startswith(BY_CODE)
    prefix = metric[len(BY_CODE) :].removesuffix("*") if by_code else ""
    severity = None if by_code else metric.removeprefix("findings.")
    found = {
        name[len(BY_CODE) :]: count
        for name, count in measurement.metrics.items()
        if name.startswith(BY_CODE + prefix) and count
    }
    codes = [
        f"{code} x{int(count)}"
        for code, count in sorted(found.items())
        if severity is None or str(measurement.code_severity.get(code)) == severity
    ]
    return f"{problem.message} (found: {', '.join(codes) or 'none by code'})"


def _marker_limits(item: pytest.Item) -> dict[str, Limit] | None:
    """The limits the test's markers set (None: no ubscope marker). The marker
    closest to the test wins (a function's over its class's)."""
    limits: dict[str, Limit] = {}
    found = False
    for name in MARKERS:
        for marker in reversed(list(item.iter_markers(name))):
            found = True
            limits.update(_limits_of(marker))
    return limits if found else None


def _limits_of(marker: pytest.Mark) -> dict[str, Limit]:
    if marker.name == "ub_clean":
        codes = [*marker.args, *marker.kwargs.get("codes", ())]
        unknown = set(marker.kwargs) - {"codes"}
        if unknown or not all(isinstance(c, str) and CODE_PREFIX.match(c) for c in codes):
            pytest.fail(
                f"@ub_clean takes finding code prefixes like 'UB' or 'ALN002', got "
                f"{marker.args or ''}{marker.kwargs or ''}",
                pytrace=False,
            )
        origin = f"@ub_clean({', '.join(codes)})"
        if not codes:
            return {f"findings.{s}": Limit(0, origin) for s in ("error", "warning")}
        return {f"{BY_CODE}{code}*": Limit(0, origin) for code in codes}
    metrics = UB_LIMIT_METRICS if marker.name == "ub_limit" else GM_TRAFFIC_METRICS
    limits = {}
    for key, value in marker.kwargs.items():
        if key not in metrics or marker.args:
            pytest.fail(
                f"@{marker.name}: unknown limit {key!r} (known: {', '.join(metrics)})",
                pytrace=False,
            )
        try:
            number = parse_size(value) if marker.name == "ub_limit" else float(value)
        except (TypeError, ValueError) as exc:
            # `from None`: the parser's exception would print above this one as
            # "During handling of the above exception, another exception occurred".
            message = f"@{marker.name}({key}={value!r}): {exc}"
            raise pytest.fail.Exception(message, pytrace=False) from None
        limits[metrics[key]] = Limit(number, f"@{marker.name}({key}={value!r})")
    return limits


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is None or not state.records:
        return
    records = sorted(state.records, key=lambda r: r.worst("peak_bytes.UB"), reverse=True)
    terminalreporter.write_sep("=", "ubscope: tests with the largest peak UB")
    for record in records[:SUMMARY_LENGTH]:
        figures = ", ".join(
            f"{label} {format_bytes(record.worst(metric))}"
            for label, metric in (
                ("L1", "peak_bytes.L1"),
                ("GM read", "gm.read_bytes"),
                ("GM write", "gm.write_bytes"),
            )
        )
        peak = format_bytes(record.worst("peak_bytes.UB"))
        terminalreporter.write_line(f"{peak:>10} UB  {record.nodeid}  ({figures})")
