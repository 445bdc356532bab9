"""The report formats of ``ubscope analyze`` and the name of its JSON schema.

Apart from :mod:`.output`, which writes them: the command line lists the
formats among its options, and ``COMMAND --help`` must not load the analysis.
"""

from __future__ import annotations

FORMATS = ("text", "json", "sarif")
JSON_SCHEMA = "ubscope.analysis/1"
