"""The serving scenario: seeded arrivals, growth and departures of sequences."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class DecodeStep:
    """One decode step: who finished and arrived before it, then the batch."""

    released: tuple[int, ...]  # sequences that finished (their pages are freed)
    admitted: tuple[tuple[int, int], ...]  # (sequence, prompt tokens) that arrived
    sequences: tuple[int, ...]  # the sequence in each batch slot
    lengths: tuple[int, ...]  # its tokens once this step's token is appended


def plan_decode(batch: int, max_seq_len: int, steps: int, seed: int) -> list[DecodeStep]:
    """The seeded arrivals, growth and departures of the scenario. A sequence
    arrives with 1..max_seq_len-1 prompt tokens, generates 1..steps tokens (up
    to max_seq_len) and is replaced in its slot by a new one when done."""
    rng = np.random.default_rng([seed, 0])
    slots: list[list[int]] = []  # [sequence, length, target length] per slot
    plan: list[DecodeStep] = []
    next_sequence = 0
    for _ in range(steps):
        released: list[int] = []
        admitted: list[tuple[int, int]] = []
        for slot in range(batch):
            if slot < len(slots) and slots[slot][1] < slots[slot][2]:
                continue
            if slot < len(slots):
                released.append(slots[slot][0])
            prompt = int(rng.integers(1, max_seq_len))
            target = min(max_seq_len, prompt + int(rng.integers(1, steps + 1)))
            state = [next_sequence, prompt, target]
            if slot < len(slots):
                slots[slot] = state
            else:
                slots.append(state)
            admitted.append((next_sequence, prompt))
            next_sequence += 1
        for state in slots:
            state[1] += 1
        plan.append(
            DecodeStep(
                tuple(released),
                tuple(admitted),
                tuple(s[0] for s in slots),
                tuple(s[1] for s in slots),
            )
        )
    return plan


def decode_plan(params: Mapping[str, Any]) -> list[DecodeStep]:
    """:func:`plan_decode` of a parameter set."""
    return plan_decode(params["batch"], params["max_seq_len"], params["steps"], params["seed"])
