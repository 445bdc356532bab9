"""The analysis model of one trace, by topic, each over the typed event layer
(:mod:`ubscope.probe.event_table`) and computed once on first use.

- ``arrays``: numpy helpers shared by the topics (group ids, runs, codes, FIFO pairing)
- ``cached``: the cached property of the topics, computed once also when threads share it
- ``groups``: group ids of events and the chip's capacities
- ``launches``: kernel launches and modelled time
- ``blocks``: allocation blocks and their lifetimes
- ``touches``: first and last touch of each block
- ``overruns``: copies and computes that write past the end of their block
- ``occupancy``: live bytes over time, peaks, on-chip spaces in use
- ``fragmentation``: the coverage replay (free bytes, largest free block, overlaps)
- ``traffic``: GM traffic and the roofline
- ``kv``: KV-cache pages and slot use
- ``locate``: locations, call-site groups and the events a finding points at

:class:`ubscope.analyzers.context.TraceContext` composes them for the rules.
"""
