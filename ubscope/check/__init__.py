"""``ubscope check``: kernel memory metrics judged against baselines and budgets.

One module per job: :mod:`.measure` reads traces into a :mod:`.measurement`
(flat metrics) per kernel configuration; :mod:`.tolerances` and :mod:`.budgets`
(a YAML file) say how much a metric may grow and up to where; :mod:`.baseline`
keeps the baseline files; :mod:`.verdicts` judges a measurement and
:mod:`.runner` does that for a configuration against its baseline store;
:mod:`.table`, :mod:`.terminal`, :mod:`.junit`, :mod:`.markdown` and
:mod:`.annotations` show the results. :mod:`.pytest_plugin` applies the same
checks to kernels run in tests. The comparison itself is
:mod:`ubscope.analyzers.comparison`, shared with the TUI and the HTML report.
"""
