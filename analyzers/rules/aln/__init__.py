"""Alignment rules (ALN001-ALN004), in two tiers as msSanitizer and Nsight Compute split
them: hard errors (misaligned on-chip addresses, truncated DataCopy lengths) and
efficiency warnings (GM not 512 B aligned, bursts too small for full bandwidth)."""
