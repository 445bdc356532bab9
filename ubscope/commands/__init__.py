"""One module per ``ubscope`` command; each defines ``register(subparsers)``."""
