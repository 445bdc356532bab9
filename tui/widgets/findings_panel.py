"""A findings table with a filter line and a detail pane (Findings and Vendor views).

Highlighting a row shows the rule's explanation (its docstring), the evidence
and the suggestion; Enter posts :class:`FindingsPanel.Chosen` so the screen can
move the other views to the finding's events. ``g`` groups the rows under their
call sites (a kernel's ``file:line``), the sites with the worst findings first.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from ubscope.analyzers import (
    REGISTRY,
    CallSiteGroup,
    Finding,
    Hanging,
    Severity,
    group_by_call_site,
)
from ubscope.tui.text import literal

SORT_KEYS = ("severity", "code", "location", "source")
FIXED_WIDTH = 6 + 7 + 2 + 8  # severity, code, correlation mark, cell padding


def finding_text(finding: Finding) -> str:
    """Everything a filter term may match."""
    loc = finding.location
    return " ".join(
        str(part)
        for part in (
            finding.severity,
            finding.code,
            finding.message,
            loc.describe(),
            finding.source,
            " ".join(finding.correlations),
        )
    ).lower()


def correlation_mark(finding: Finding) -> str:
    """✓ when correlation matched the finding across trace and vendor tool, ✗
    when a vendor finding is not explained by the trace, blank when untested."""
    if any(c.startswith(("confirmed", "explained")) for c in finding.correlations):
        return "✓"
    return "✗" if finding.correlations else ""


def sort_key(finding: Finding, column: str) -> tuple:
    loc = finding.location
    if column == "severity":
        return (-int(finding.severity), finding.code)
    if column == "code":
        return (finding.code, -int(finding.severity))
    if column == "location":
        return (
            loc.core_kind or "",
            loc.core if loc.core is not None else -1,
            loc.space or "",
            loc.first_seq if loc.first_seq is not None else -1,
        )
    return (finding.source, finding.code)


class FindingsTable(DataTable):
    """The table; its component classes colour the severity column."""

    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {
        "findings-table--error",
        "findings-table--warning",
        "findings-table--info",
    }


class FindingsPanel(Vertical):
    BINDINGS = [
        Binding("slash", "focus_filter", "filter"),
        Binding("s", "sort", "sort"),
        Binding("r", "reverse", "reverse"),
        Binding("g", "group", "group by call site", show=False),
        Binding("escape", "clear_filter", "clear filter", show=False),
    ]

    class Chosen(Message):
        """Enter on a finding: jump the other views to its events."""

        def __init__(self, finding: Finding) -> None:
            super().__init__()
            self.finding = finding

    def __init__(self, findings: list[Finding], *, empty_text: str, id: str | None = None):
        super().__init__(id=id)
        self.findings = list(findings)
        self.shown: list[int] = []
        # What each table row is: a finding's index, or a call site's group.
        self.rows: list[int | CallSiteGroup] = []
        self.grouped = False
        self.sort_column = "severity"
        self.reverse = False
        self.empty_text = empty_text

    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ filter (text, code, severity, core, tag…)", id="finding-filter")
        yield FindingsTable(cursor_type="row", zebra_stripes=True, id="finding-table")
        with VerticalScroll(id="finding-detail-scroll"):
            yield Static(id="finding-detail")

    @property
    def table(self) -> FindingsTable:
        return self.query_one(FindingsTable)

    def on_mount(self) -> None:
        self.rebuild()

    def on_resize(self) -> None:
        self.rebuild()

    def set_findings(self, findings: list[Finding]) -> None:
        self.findings = list(findings)
        self.rebuild()

    def rebuild(self) -> None:
        """Refill the table from the findings, the filter and the sort order."""
        table = self.table
        terms = self.query_one("#finding-filter", Input).value.lower().split()
        texts = [finding_text(f) for f in self.findings]
        self.shown = [i for i, text in enumerate(texts) if all(t in text for t in terms)]
        self.shown.sort(
            key=lambda i: sort_key(self.findings[i], self.sort_column), reverse=self.reverse
        )
        free = max(30, self.size.width - FIXED_WIDTH - 2)
        message_width, location_width = free * 3 // 5, free - free * 3 // 5
        table.clear(columns=True)
        table.add_column("sev", width=5)
        table.add_column("code", width=7)
        table.add_column("message", width=message_width)
        table.add_column("location", width=location_width)
        table.add_column("✓", width=1)
        self.rows = self._grouped_rows() if self.grouped else list(self.shown)
        for number, row in enumerate(self.rows):
            if isinstance(row, CallSiteGroup):
                site = row.site or "(no call site)"
                table.add_row(
                    self._severity(row.worst),
                    literal(f"{len(row.findings)}×"),
                    literal(_clip(f"▾ {site}: {', '.join(row.codes)}", message_width)),
                    literal(""),
                    literal(""),
                    key=f"site{number}",
                )
                continue
            finding = self.findings[row]
            table.add_row(
                self._severity(finding.severity),
                literal(finding.code),
                literal(_clip(finding.message, message_width)),
                literal(_clip(finding.location.describe(), location_width)),
                literal(correlation_mark(finding)),
                key=str(row),
            )
        self.show_detail(self.rows[0] if self.rows else None)

    def _grouped_rows(self) -> list[int | CallSiteGroup]:
        """The shown findings under a header row per call site, in sort order within."""
        position = {id(self.findings[i]): i for i in self.shown}
        rows: list[int | CallSiteGroup] = []
        for group in group_by_call_site([self.findings[i] for i in self.shown]):
            rows.append(group)
            rows.extend(position[id(finding)] for finding in group.findings)
        return rows

    def _severity(self, severity: Severity) -> Text:
        style = self.table.get_component_rich_style(f"findings-table--{severity}", partial=True)
        return literal({"error": "error", "warning": "warn", "info": "info"}[str(severity)], style)

    def current(self) -> Finding | None:
        table = self.table
        if not 0 <= table.cursor_row < len(self.rows):
            return None
        row = self.rows[table.cursor_row]
        return None if isinstance(row, CallSiteGroup) else self.findings[row]

    def show_detail(self, row: int | CallSiteGroup | None) -> None:
        detail = self.query_one("#finding-detail", Static)
        if row is None:
            detail.update(literal(self.empty_text if not self.findings else "no finding matches"))
        elif isinstance(row, CallSiteGroup):
            detail.update(describe_call_site(row))
        else:
            # wrapped at words, never between a figure and its unit
            detail.update(Hanging(Text(), describe_finding(self.findings[row]), hang=0))

    def _row_of(self, key: str | None) -> int | CallSiteGroup | None:
        if key is None:
            return None
        return self.rows[int(key[4:])] if key.startswith("site") else int(key)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.show_detail(self._row_of(event.row_key.value))

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        row = self._row_of(event.row_key.value)
        if isinstance(row, int):
            self.post_message(self.Chosen(self.findings[row]))

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        label = str(event.label)
        column = {"sev": "severity", "code": "code", "location": "location"}.get(label)
        if column:
            self.reverse = not self.reverse if column == self.sort_column else False
            self.sort_column = column
            self.rebuild()

    @on(Input.Changed, "#finding-filter")
    def _filter_changed(self) -> None:
        self.rebuild()

    @on(Input.Submitted, "#finding-filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def action_focus_filter(self) -> None:
        self.query_one("#finding-filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#finding-filter", Input).value = ""
        self.table.focus()

    def action_sort(self) -> None:
        self.sort_column = SORT_KEYS[(SORT_KEYS.index(self.sort_column) + 1) % len(SORT_KEYS)]
        self.rebuild()
        self.notify(f"sorted by {self.sort_column}", timeout=2)

    def action_reverse(self) -> None:
        self.reverse = not self.reverse
        self.rebuild()

    def action_group(self) -> None:
        self.grouped = not self.grouped
        self.rebuild()
        self.notify("grouped by call site" if self.grouped else "not grouped", timeout=2)


def describe_call_site(group: CallSiteGroup) -> Text:
    """The detail pane of a call site's header row: its findings in one line each."""
    text = Text()
    text.append(group.site or "(no call site)", style="bold")
    text.append(f"  {len(group.findings)} finding(s), worst {group.worst}\n", style="dim")
    for finding in group.findings:
        text.append(f"{finding.severity} {finding.code} ", style="bold")
        text.append(finding.message + "\n")
    return text


def describe_finding(finding: Finding) -> Text:
    """The detail pane: what, where, why (the rule's docstring), evidence, fix."""
    rule = REGISTRY.get(finding.code)
    text = Text()
    text.append(f"{finding.severity} {finding.code}", style="bold")
    if rule is not None:
        text.append(f"  {rule.name}")
    text.append(f"  (source: {finding.source})\n", style="dim")
    text.append(finding.message + "\n")
    if finding.location.points_anywhere:
        text.append("at ", style="dim")
        text.append(finding.location.describe() + "\n")
    if finding.location.code:
        text.append("code ", style="dim")
        text.append(finding.location.code + "\n")
    if finding.correlations:
        for note in finding.correlations:
            confirmed = note.startswith(("confirmed", "explained"))
            text.append(("✓ " if confirmed else "✗ ") + note + "\n", style="bold")
    if finding.suggestion:
        text.append("\nfix: ", style="bold")
        text.append(finding.suggestion.replace("\n", "\n     ") + "\n")  # steps under "fix: "
    if finding.estimated_gain:
        text.append("gain: ", style="bold")
        text.append(finding.estimated_gain + "\n")
    if finding.evidence:
        text.append("\nevidence\n", style="bold")
        for key, value in finding.evidence.items():
            text.append(f"  {key}: ", style="dim")
            text.append(f"{value}\n")
    text.append("\nwhy\n", style="bold")
    if rule is not None:
        text.append(rule.explanation() + "\n")
    else:
        text.append(f"(no rule documentation for {finding.code})\n", style="dim")
    return text


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"
