"""2:4 structured-sparse matmul ``y = x @ W_pruned.T`` on the vector core.

``x`` is fp16 ``[M, K]``, ``W`` fp16 ``[N, K]`` stored 2:4-compressed (values
``[N, K/2]`` plus metadata, see :mod:`ubscope.kernels.sparse24`), ``y`` fp16
``[M, N]``. Ascend's sparse cube path is int8-only (``MmadWithSparse``), so an
fp16 2:4 matmul runs on the AIV, as the article's kernel does.

N is split over the blocks in tiles of ``tile_n`` rows; a block's tiles form
chunks whose fp32 accumulators stay in UB over the whole K loop. Per chunk and
K step of ``tile_k`` columns there is one copy each of the activations, the
chunk's values (or dense weight rows) and its metadata, so the weight is read
once and the activations once per chunk and K step (each GM copy pays the
latency; the chunk is as tall as UB allows). Each tile of the step is a
*round*: decode, then every activation row is multiplied and summed into the
accumulators in fp32; the result is cast to fp16 on the way out. Variants:

* ``rebuild`` (the article's kernel): scatter the values into a zeroed dense
  tile in UB (transposed, ``[tile_k, tile_n]``), then multiply it by each
  activation row (broadcast) and sum over K. The dense tile in fp16 and fp32
  makes its UB footprint the larger.
* ``gather`` (the article's "vscatter" tip, done as a gather): decode the
  metadata into byte offsets, Gather the activations the kept weights meet
  and multiply them with the values: half the products and no dense tile,
  but every product needs a gathered element.
* ``dense``: the same algorithm with the unpruned fp16 weight, the baseline.

Metadata decoding on the vector core: the 16-bit metadata words are split
into one 2-bit field per bit position (a ShiftLeft/ShiftRight pair per
position), gathered into slot order and scaled into byte offsets. The index
tables the gathers use depend only on the tiling and are built once per block
(per round with the free-list allocator, whose buffers live only as long as
they are needed; a round that first fit cannot place is redone in tiles half
as tall).

Sums over K use a halving tree of vector Adds on K-major tiles, so every
operation is one contiguous vector instruction.
"""
