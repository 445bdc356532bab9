"""W4A16 GEMM, ``y = x @ ((w + offset) * scale)``, the way an Ascend C kernel runs it on 910B,
and its dense fp16 baseline.

x is fp16 (M, K), w int4 (K, N) in [-8, 7] packed as torch_npu's
``npu_convert_weight_to_int4pack`` (``layout=nd``) or as the article's 16x16
blocks (``layout=block16``, see :mod:`ubscope.kernels.gemm.int4_pack`). Scale and
offset are fp16, per channel (1, N) or per group (ceil(K/g), N). The offset is
*added* (offset = -zero_point) and the scale *multiplies*; the article divides.

910B splits the AI Core into cube (AIC) and vector (AIV) cores that share no
on-chip memory, so ``int4_gemm`` (:mod:`.int4`) is a mix launch of blocks of 1 AIC + 2 AIV:

* each block owns a contiguous range of ``tile_n``-column tiles; for each it
  walks K in ``tile_k``-row tiles, handed to its two AIVs in turn;
* an AIV (:mod:`.dequant`) copies the packed tile GM -> UB, unpacks it to fp16
  (one vector op), adds the offset and multiplies the scale (vector ops
  broadcasting the scale/offset rows, which it copies to UB once per column
  tile, or per K tile when grouped), zeroes the rows padding K to the cube's
  16, and copies the fp16 tile to a GM *workspace* slot;
* the AIC (:mod:`.matmul`) copies the slot to L1 (a DataCopy with
  Nd2NzParams: one NZ matrix per 16 K rows, so a K chunk's fractals are
  contiguous), one tile ahead of the one it multiplies so the copy overlaps the
  cube work; it steps through a tile in L0-sized K chunks (LoadData of whole
  fractals L1 -> L0A as ZZ and L0B as ZN, one call for up to 255 fractals,
  ``mmad`` with fp32 accumulation in L0C as NZ) and at the end of the column
  tile ``fixpipe``s L0C -> y. x is
  brought into L1 as NZ the same way, once for the whole kernel when it fits
  (``x_resident``), otherwise per tile. Every cube buffer holds whole 16-row
  fractals, so m=1 takes as much L0A and L0C as m=16.

The AIV -> AIC hand-over goes through GM because 910B has no UB -> L1 path.
Those copies carry the WORKSPACE flag: the workspace stays resident in the
192 MiB L2, so it is not HBM traffic and the minimal traffic does not count
it. Slots are a ring (2 per AIV with double buffering); an AIV waits for the
AIC to have read a slot before overwriting it (CrossCoreSetFlag/WaitFlag).

Tiles need not divide the shape: ragged rows move with DataCopyPad (zero-padded
on chip), K tails are padded to 16 with zero rows. ``layout`` defaults to
block16 because an ND int4 tile narrower than 1024 columns (512 B) starts off
the 512 B GM boundary; block16 tiles 64 columns wide stay aligned. ``cores=0``,
``tile_n=0`` and ``tile_k=0`` (the defaults) take the block count and tile the
cost model finishes soonest with (:mod:`.blocks`): every block reads all of x,
but the re-reads hit L2, so splitting the columns over more cores pays until
the HBM roof or the launch's per-block cost does not; deeper tiles of narrow
columns keep each copy large (its issue cost small) while every cube core gets
a share.

``fp16_gemm`` (:mod:`.fp16`) is the dense baseline with the same AIC side: fp16
weights are copied GM -> L1 by the AIC itself in a cube launch, with no AIV and
no workspace. :func:`.specs.weight_bytes` and :func:`.specs.modelled_time_ps`
compare the two.

Modules: :mod:`.plan` (tiling and validation), :mod:`.blocks` (block count by
the cost model), :mod:`.l0_loads` (weight tiles in L1, LoadData counts), :mod:`.matmul`, :mod:`.dequant`, :mod:`.int4`, :mod:`.fp16`
(kernel bodies), :mod:`.host` (inputs, upload, launch), :mod:`.reference`
(float64), :mod:`.cost` (traffic, weight bytes, run estimates), :mod:`.specs`
(registration).
"""
