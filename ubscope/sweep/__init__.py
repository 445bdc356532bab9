"""``ubscope sweep``: run a kernel over a grid of parameter values (and chips)
into one folder of traces and a table of their metrics.

:mod:`.grid` parses ``--grid NAME=V1,V2``; :mod:`.plan` turns a kernel and its
grid into one task per configuration (built-in kernels, a user's Python
kernel, or an Ascend C case file on the CPU twin); :mod:`.worker` runs one
task in a worker process and analyzes its trace into a row; :mod:`.runner`
fans the tasks out (:mod:`ubscope.executors`), skips what a previous run
finished and keeps ``DIR/sweep.parquet`` up to date. The rows, the table and
the Pareto front are the analysis layer's (``ubscope.analyzers``).
"""
