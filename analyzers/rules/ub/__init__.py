"""UB rules: on-chip capacity, allocation lifetimes, TPipe queues and writes past a
buffer's end (UB001-UB014)."""
