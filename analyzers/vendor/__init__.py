"""Vendor tool plugins: readers for Huawei Ascend tool output, their rules and
their detection, one folder per tool, listed in :mod:`.registry`.

The modules here are the plugin toolkit: :mod:`.tool` (what a plugin
declares), :mod:`.rule` (vendor rule bases), :mod:`.common` (the normalised
:class:`~.common.VendorReport` and CSV/JSON helpers), :mod:`.textlog` and
:mod:`.xlsx`. Each reader raises
:class:`~ubscope.probe.errors.VendorFormatError` for input it cannot read and
warns (``PartialReadWarning``) when it keeps only part of a file.
"""
