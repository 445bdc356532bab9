"""The run a trace records (kernel, chip, parameters), from its metadata alone:
the first thing the profile screen shows, before the analysis."""

from __future__ import annotations

from typing import Any

from rich.text import Text


def run_summary(meta: dict[str, Any], launched_blocks: int | None = None) -> Text:
    """Kernel, preset, chip and parameters from the trace metadata (known
    before the events are read); ``cores=0`` (auto) shows the ``launched_blocks``
    it resolved to once the analysis knows them."""
    chip = meta.get("chip", {})
    text = Text()
    text.append(str(meta.get("kernel", "?")), style="bold")
    if meta.get("preset"):
        text.append("  preset ")
        text.append(str(meta["preset"]))
    text.append("  on ")
    text.append(str(chip.get("name", "?")))
    if chip:
        kind = "split AIC/AIV" if chip.get("split_cores") else "coupled AI cores"
        text.append(f" ({chip.get('cube_cores')} cube / {chip.get('vector_cores')} vector, {kind})")
    params = meta.get("params", {})
    if params:
        text.append("\nparams  ")
        text.append("  ".join(_param(key, value, launched_blocks) for key, value in params.items()))
    return text


def _param(key: str, value: Any, launched_blocks: int | None) -> str:
    if key == "cores" and value == 0 and launched_blocks:
        return f"cores={launched_blocks} (auto)"
    return f"{key}={value}"
