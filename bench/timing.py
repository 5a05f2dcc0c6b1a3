"""Timing in turns, shared by the benchmarks.

This machine's speed drifts by up to 2x within minutes, and the pool threads a library leaves
polling slow whatever runs next: calls timed one after the other gave ratios that moved by
1.2-1.5x from run to run. Timed in turns, every call of a comparison runs in each round, so a
drift weighs on all of them alike.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def in_turns(
    calls: Sequence[Callable[[], object]],
    rounds: int,
    per_round: int,
    numbers: Sequence[int] | None = None,
) -> list[float]:
    """Each call's median, over `rounds`, of its fastest of `per_round` runs of `numbers[i]`
    calls in a row (1 by default), in seconds per call; the calls take turns within each
    round."""
    numbers = numbers or [1] * len(calls)
    best = [[] for _ in calls]
    for _ in range(rounds):
        for times, call, number in zip(best, calls, numbers):
            runs = []
            for _ in range(per_round):
                started = time.perf_counter()
                for _ in range(number):
                    call()
                runs.append(time.perf_counter() - started)
            times.append(min(runs) / number)
    return [statistics.median(times) for times in best]
