"""What ubscope shows outside the terminal, built from an Analysis.

- ``report.write_report(analysis, path, compare=None)``: the self-contained
  HTML report with plotly charts (``ubscope report``, ``ubscope demo``);
- ``perfetto.write_perfetto(analysis, path)``: Chrome trace-event JSON for the
  Perfetto UI and MindStudio Insight (``ubscope export --format perfetto``);
- ``csv_export.write_events_csv(events, path)``: the raw events as CSV;
- ``ci``: what CI systems show of ``ubscope check``.

Every file is written atomically (``ubscope.probe.outputs.atomic_output``).
"""
