"""The ubscope version: a leaf every package may import (traces and reports record it)."""

__version__ = "0.1.0"
