"""GM003 roofline."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers.context import TraceContext
from ubscope.analyzers.findings import Finding, Severity
from ubscope.analyzers.rules.base import Rule, register
from ubscope.analyzers.rules.gm.transfers import PS_PER_S, at_bandwidth
from ubscope.analyzers.rules.helpers import gain_text
from ubscope.probe.events import EventKind
from ubscope.probe.units import format_rate, format_time_ps


@register
class Roofline(Rule):
    """Where the kernel sits on the roofline: memory- or compute-bound.

    ## What it does
    Reports, once per trace, the arithmetic intensity (FLOPs per HBM byte)
    against the chip's ridge point (peak FP16 FLOP/s over GM bandwidth), the
    modelled time and the time the roofline allows.

    ## Why it matters
    A memory-bound kernel speeds up only by moving fewer bytes (GM001, GM002,
    ALN003/ALN004); a compute-bound one by using the cube better.

    ## Example
    Any trace with compute events, e.g. a LayerNorm at about 0.3 FLOP/B
    against a 910B ridge of about 200 FLOP/B: memory-bound.

    ## How to fix
    For memory-bound kernels raise data reuse (bigger tiles, fused ops); for
    compute-bound ones check cube utilisation.
    """

    code = "GM003"
    name = "roofline"
    severity = Severity.INFO

    def check(self, ctx: TraceContext) -> list[Finding]:
        roof = ctx.roofline
        # Data moves alone (msprof op simulator) leave the FLOPs unknown, not zero.
        if not roof["compute_events"] or not (roof["flops"] or roof["hbm_bytes"]):
            return []
        memory_ps = at_bandwidth(ctx, roof["hbm_bytes"])
        compute_ps = roof["flops"] / roof["peak_flops"] * PS_PER_S
        bound_ps = max(memory_ps, compute_ps)
        modelled = roof["modelled_time_ps"]
        intensity = roof["intensity"]
        achieved = roof["hbm_bytes"] / (modelled / PS_PER_S) if modelled else 0.0
        times = f"modelled {format_time_ps(modelled)}, roofline {format_time_ps(bound_ps)}"
        if roof["hbm_bytes"]:
            message = (
                f"{roof['bound']}-bound: {intensity:.3g} FLOP/B vs ridge {roof['ridge']:.0f} "
                f"FLOP/B; {times} (GM at {format_rate(achieved)}, "
                f"{achieved / roof['bandwidth']:.0%} of peak)"
            )
        else:
            # no HBM byte: the intensity is infinite and GM's share means nothing
            message = (
                f"{roof['bound']}-bound: no HBM traffic, {roof['flops']:,} FLOP "
                f"(ridge {roof['ridge']:.0f} FLOP/B); {times}"
            )
        rows = ctx.rows(EventKind.COPY, EventKind.COMPUTE)
        location = ctx.location(
            rows if rows.size else np.array([0]), core=None, core_kind=None, space=None
        )
        evidence = {
            "flops": roof["flops"],
            "hbm_bytes": roof["hbm_bytes"],
            "intensity": intensity if np.isfinite(intensity) else None,
            "ridge": round(roof["ridge"], 2),
            "modelled_time_ps": modelled,
            "roofline_time_ps": round(bound_ps),
            "achieved_bandwidth": round(achieved),
        }
        suggestion = (
            "Memory-bound: move fewer bytes (reuse tiles on chip, fuse ops)."
            if roof["bound"] == "memory"
            else "Compute-bound: check cube utilisation and tile shapes."
        )
        gain = gain_text(ctx, modelled - bound_ps, "if the kernel reached the roofline")
        return [
            self.finding(
                message, location, evidence=evidence, suggestion=suggestion, estimated_gain=gain
            )
        ]
