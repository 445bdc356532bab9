"""The CPU twin of the Ascend C API: compile a user's kernel source unchanged
against ubscope's own ``kernel_operator.h`` (package data under ``include/``),
run it in a child process and record its memory behaviour as a ``.ubtrace``.
See docs/ascendc-twin.md."""
