"""Alignment and DataCopy rules (ALN001-ALN005), in two tiers as msSanitizer and Nsight
Compute split them: hard errors (misaligned on-chip addresses, truncated DataCopy
lengths, copy parameters outside the device's ranges) and efficiency warnings (GM not
512 B aligned, bursts too small for full bandwidth)."""
