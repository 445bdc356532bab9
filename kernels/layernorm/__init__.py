"""LayerNorm of a residual sum, in place with the sum kept in UB, or out of place.

``y = LayerNorm(x + residual) * gamma + beta`` over rows split across vector
cores (fp16 in and out, fp32 statistics). The in-place kernel (the article's
section 5.2) adds the residual into an fp32 UB row, normalises that row in
place as ``(s - mean) * rstd`` (a multiply: the article's ``vdiv`` by rstd is
wrong) and writes the result over ``x``: the sum never goes to GM. The
out-of-place version is the unfused pair: a residual-add kernel writes the sum
to GM, and a LayerNorm kernel reads it back and normalises into separate
centred and output buffers. Rows whose byte length is not a multiple of 32 B
move with DataCopyPad.

Modules: :mod:`.plan` (UB layout and validation), :mod:`.rows` (row copies and
the vector steps), :mod:`.body` (the three kernel bodies), :mod:`.host`
(inputs, upload, launches), :mod:`.reference` (float64), :mod:`.specs`
(registration, minimal traffic, run estimate).
"""
