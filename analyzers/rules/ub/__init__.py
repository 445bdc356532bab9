"""UB rules: on-chip capacity, allocation lifetimes and TPipe queues (UB001-UB013)."""
