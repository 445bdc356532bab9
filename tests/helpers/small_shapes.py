"""Small shapes of every built-in kernel, shared by the tests that run them all."""

# Shapes that keep each run well under a second; a preset's own values win.
SMALL = {
    "int4_gemm": {"m": 4, "k": 256, "n": 256, "tile_n": 64, "tile_k": 64},
    "fp16_gemm": {"m": 4, "k": 256, "n": 256, "tile_n": 64, "tile_k": 64},
    "layernorm": {"rows": 24, "hidden": 512},
    "paged_attention": {
        "batch": 3,
        "heads": 2,
        "head_dim": 32,
        "block_size": 16,
        "max_seq_len": 64,
        "steps": 2,
    },
    "pool_demo": {"n": 16384, "tile": 1024},
    "sparse_matmul": {"m": 8, "k": 128, "n": 64},
    "sparse_attention": {"hidden": 64, "heads": 2, "seq_len": 8},
}

# pool_demo on two cores: the check tests' trace of a few hundred events.
SMALL_POOL = {**SMALL["pool_demo"], "cores": 2}
