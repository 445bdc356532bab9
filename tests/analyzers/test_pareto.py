"""The Pareto front on hand-made points: which configurations no other beats
in every cost at once."""

from __future__ import annotations

import numpy as np

from ubscope.analyzers import pareto_front

NAN = float("nan")


def test_front_keeps_the_points_no_other_beats_in_every_cost():
    # (peak UB KiB, GM KiB, time us). Worked by hand:
    #   a (1, 5, 5): least UB of all -> front
    #   b (2, 2, 2): beaten by none (only a has less UB, and a has more GM) -> front
    #   c (3, 3, 3): b is smaller in all three -> beaten
    #   d (5, 1, 1): least GM and time -> front
    #   e (2, 2, 2): equal to b; equal points do not beat each other -> front
    #   f (1, 5, 6): a is equal in UB and GM and smaller in time -> beaten
    #   g (NaN, 0, 0): an unknown cost is never on the front
    costs = np.array(
        [[1, 5, 5], [2, 2, 2], [3, 3, 3], [5, 1, 1], [2, 2, 2], [1, 5, 6], [NAN, 0, 0]]
    )
    assert pareto_front(costs).tolist() == [0, 1, 3, 4]


def test_one_cost_keeps_its_minimum_and_its_ties():
    assert pareto_front(np.array([[3.0], [1.0], [2.0], [1.0]])).tolist() == [1, 3]


def test_blocks_of_rows_agree_with_comparing_every_pair():
    # More points than one comparison block (256), checked against the
    # definition, pair by pair, in plain Python.
    rng = np.random.default_rng(7)
    costs = rng.integers(0, 40, size=(600, 3)).astype(float)

    def beaten(j):
        return any(
            all(costs[i] <= costs[j]) and any(costs[i] < costs[j]) for i in range(len(costs))
        )

    expected = [j for j in range(len(costs)) if not beaten(j)]
    assert pareto_front(costs).tolist() == expected


def test_no_points_no_front():
    assert pareto_front(np.empty((0, 3))).tolist() == []
