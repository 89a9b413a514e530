"""Exact quotas without lists: a seeded permutation that ranks each of n items in constant time.

Groups, planted injuries, kava users, MRNs and order kinds go to a fixed number of items (a quota), not to
whoever wins a coin toss, so even a small feed has each of them. Item i's rank is (step * i + offset) mod n,
with step coprime to n and near n times the golden ratio: a permutation that spreads each quota evenly
over the items, holds nothing in memory, and gives the same answer however the items are chunked.
"""

from __future__ import annotations

import random
from math import gcd

GOLDEN = 0.6180339887498949


class Ranking:
    __slots__ = ("n", "offset", "step")

    def __init__(self, n: int, rng: random.Random) -> None:
        self.n = max(1, n)
        step = max(1, round(self.n * GOLDEN) + rng.randint(-3, 3)) % self.n or 1
        while gcd(step, self.n) != 1:
            step = step % (self.n - 1) + 1
        self.step = step
        self.offset = rng.randrange(self.n)

    def rank(self, index: int) -> int:
        return (self.step * index + self.offset) % self.n


class Quota:
    """Names given to consecutive rank ranges: `counts` {name: how many}, in order; ranks past them: `rest`."""

    __slots__ = ("bounds", "rest")

    def __init__(self, counts: dict[str, int], rest: str) -> None:
        self.bounds: list[tuple[int, str]] = []
        upper = 0
        for name, count in counts.items():
            upper += count
            self.bounds.append((upper, name))
        self.rest = rest

    def name(self, rank: int) -> str:
        for upper, name in self.bounds:
            if rank < upper:
                return name
        return self.rest
