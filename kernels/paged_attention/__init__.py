"""Decode attention over a paged KV cache (PagedAttention), with online softmax.

A small serving scenario: ``batch`` slots each decode one token per step;
sequences of random prompt lengths arrive, grow and finish (seeded), and a
block manager (:mod:`ubscope.kernels.kv_cache`) hands out KV pages as they grow
(``layout=paged``) or reserves ``max_seq_len`` slots per sequence up front
(``layout=contiguous``), so the trace's KV page events show reserved against
used bytes for both. At every step the kernel runs on vector cores: each block
takes (sequence, KV head) units, copies the sequence's K and V pages GM->UB
through the block table (DataCopy per full page, DataCopyPad for the partly
filled last one, so no slot past the sequence is read), computes q.K^T for the
query heads sharing that KV head (GQA), and folds each page into a running
max, running sum and rescaled fp32 accumulator of P.V. Each live K/V token is
read once per step, however many query heads share it.

Modules: :mod:`.scenario` (arrivals, growth, departures), :mod:`.tiling` (UB
layout and validation), :mod:`.body` (the kernel), :mod:`.host` (the cache,
inputs, launches), :mod:`.reference` (float64), :mod:`.specs` (registration,
minimal traffic, run estimate).
"""
