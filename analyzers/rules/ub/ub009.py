"""UB009 allocated-too-early."""

from __future__ import annotations

from ubscope.analyzers.rules.base import register
from ubscope.analyzers.rules.ub.idle import IdleRule


@register
class AllocatedTooEarly(IdleRule):
    """Buffers allocated long before their first use.

    ## What it does
    Flags blocks whose first copy or compute came at least ``min_idle_us`` and
    ``min_idle_fraction`` of their lifetime after the allocation (as
    msMemScope's "allocated too early" check), per buffer name.

    ## Why it matters
    The bytes are reserved but idle; they raise the peak and can force smaller
    tiles than the kernel needs.

    ## Example
    The output tile allocated before the inputs are copied in::

        out = pool.allocate(4096, np.float16)  # idle during both loads
        data_copy(x, gm_x, 4096)
        data_copy(y, gm_y, 4096)
        vector.add(out, x, y, 4096)

    ## How to fix
    Allocate the buffer just before the step that fills it (e.g. the output
    tile after the inputs arrived).
    """

    code = "UB009"
    name = "allocated-too-early"
    suggestion = "Allocate the buffer just before the step that first writes it."
    verb, relative_to = "allocated", "before first use"
