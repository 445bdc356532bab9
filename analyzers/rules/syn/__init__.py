"""Synchronisation rules (SYN001): the pipe flags and event IDs an Ascend C kernel
sets, waits on, allocates and releases, as the CPU twin records them."""
