"""Helpers shared by the tests (and by bench/): inputs, child-process probes and
reference models. No tests here; test modules import these, never each other."""
