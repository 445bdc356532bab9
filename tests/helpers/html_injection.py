"""A name that is an HTML injection attempt: reports must show it as text."""

EVIL = "<script>alert(1)</script>"
