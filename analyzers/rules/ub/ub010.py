"""UB010 freed-too-late."""

from __future__ import annotations

from ubscope.analyzers.rules.base import register
from ubscope.analyzers.rules.ub.idle import IdleRule


@register
class FreedTooLate(IdleRule):
    """Buffers freed long after their last use.

    ## What it does
    Flags blocks whose free (or the end of the trace, if never freed) came at
    least ``min_idle_us`` and ``min_idle_fraction`` of their lifetime after the
    last copy or compute that touched them (msMemScope's "freed too late"),
    per buffer name.

    ## Why it matters
    Dead data holds on-chip bytes that the next tiles could use.

    ## Example
    An input tile kept until the end of the kernel although the first add was
    its last use::

        vector.add(out, x, y, 4096)  # last use of x
        ...  # many more steps
        que_x.free_tensor(x)

    ## How to fix
    Free the tensor (FreeTensor) right after its last use.
    """

    code = "UB010"
    name = "freed-too-late"
    suggestion = "Free the buffer right after its last use."
    verb, relative_to = "freed", "after last use"
    from_allocation = False
