"""Fragmentation rules (FRG001-FRG005), modelled on PyTorch's memory snapshot summary
(rounding waste vs gaps)."""
