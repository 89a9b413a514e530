"""Quick integer draws for the day loop, where a feed makes millions of them.

`random.Random.randint`, `randrange` and `choice` spend about a microsecond in Python per call; these use
one `random()` (C) each. The bias of int(random() * n) is below 1e-15 for the small n used here.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def between(rng: random.Random, low: int, high: int) -> int:
    """An integer from low to high, both included."""
    return low + int(rng.random() * (high - low + 1))


def one_of(rng: random.Random, options: Sequence[T]) -> T:
    return options[int(rng.random() * len(options))]
