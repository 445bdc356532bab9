"""One attention layer with 2:4-sparse Q/K/V/O projections, against the dense layer.

The step: ``Q, K, V = X Wq^T, X Wk^T, X Wv^T``; per sequence and head
``softmax(Q K^T / sqrt(d)) V`` over the step's own ``seq_len`` tokens (a
prefill step without KV cache), with the causal mask a decoder uses: token i
attends to tokens 0..i of its sequence (``causal=false``: to all of them, the
formula as the article states it); ``out = ctx Wo^T``. Each projection is one
launch of the ``sparse_matmul`` kernel (``variant=gather|rebuild``, or
``dense`` with the unpruned weights when ``sparse=false``), the attention core
one vector launch, so the trace holds five launches and the projections' share
of the layer time can be read from it.

The attention core runs one (sequence, head) pair per round on an AIV:
Q, K and V tiles come in by DataCopy, K is transposed by a Gather, every score
row is a broadcast-multiply-sum against K^T, the softmax is fp32 (the
normalisation is applied after P V), and the context row goes back as fp16.
"""
