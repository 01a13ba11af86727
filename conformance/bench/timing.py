"""Timing harness: methods measured side by side, interleaved, medians of several repetitions.

Why interleaved: the machine is shared and its load drifts; timing method A for a minute and then method B
would fold that drift into the ratio. Each repetition times every method once, in the same order, in the same
process, so a ratio compares runs taken seconds apart.

Why a budget: the per-message baseline and the oracle grow quadratically, so one 256-turn repetition can take
minutes. A method whose *predicted* time (last measured size, scaled quadratically by the size ratio) would
push its total past the budget is skipped at that size and larger, and the report says so instead of
pretending a number.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Method:
    name: str
    fn: Callable[[], object]
    quadratic: bool = False  # predict cost as quadratic when deciding whether it fits the budget
    spent: float = 0.0  # seconds spent on this method so far (over all sizes)
    last: tuple[int, float] | None = None  # (size, median seconds) of the last measured size
    skipped: str = ""  # why the method was skipped, once it is


@dataclass
class Sample:
    loops: int = 1
    seconds: dict[str, list[float]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def median(self, name: str) -> float | None:
        values = self.seconds.get(name)
        return statistics.median(values) if values else None


#: A timing shorter than this is repeated in a loop (timer resolution and per-call jitter dominate below it).
MIN_TIMING = 0.05


#: The clock timings are read from: ``wall`` (perf_counter) or ``cpu`` (process_time: this process's CPU time,
#: all threads, so other jobs on a shared machine stretch it less). ``lossmask bench --clock`` sets it.
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]


def use_clock(name: str) -> None:
    global clock
    clock = CLOCKS[name]


def _once(fn: Callable[[], object], loops: int = 1) -> float:
    gc.collect()
    start = clock()
    for _ in range(loops):
        fn()
    return (clock() - start) / loops


def measure(methods: list[Method], size: int, reps: int, budget: float) -> Sample:
    """Time every method ``reps`` times, interleaved; skip what would blow ``budget`` seconds per method."""
    sample = Sample()
    active = []
    for m in methods:
        if not m.skipped and m.last is not None:
            prev_size, prev_seconds = m.last
            scale = (size / prev_size) ** (2 if m.quadratic else 1)
            predicted = prev_seconds * scale
            if m.spent + predicted > budget:
                m.skipped = (f"skipped from {size} turns on: predicted {predicted:.1f} s per run "
                             f"({'quadratic' if m.quadratic else 'linear'} from {prev_seconds:.2f} s at "
                             f"{prev_size}) would pass the {budget:.0f} s budget")
        if m.skipped:
            sample.skipped[m.name] = m.skipped
        else:
            active.append(m)
    for m in list(active):  # warm-up (caches, template compilation) on the first size; a refusal drops the method
        try:
            if m.last is None or m.quadratic:  # quadratic baselines render new prefix shapes at every size
                m.fn()
        except Exception as exc:  # noqa: BLE001 - a method a template refuses is reported, the others go on
            m.skipped = f"raised at {size} turns: {type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
            sample.skipped[m.name] = m.skipped
            active.remove(m)
    # Same loop count for every method of this size (calibrated on the first, the floor), so each repetition
    # stays side by side; small conversations take well under a millisecond per call.
    loops = min(200, max(1, math.ceil(MIN_TIMING / max(_once(active[0].fn), 1e-6)))) if active else 1
    for rep in range(reps):
        for m in active:
            if rep and m.quadratic and m.spent > budget:  # expensive: fewer repetitions rather than none
                continue
            seconds = _once(m.fn, loops)
            m.spent += seconds * loops
            sample.seconds.setdefault(m.name, []).append(seconds)
    sample.loops = loops
    for m in active:
        m.last = (size, sample.median(m.name) or 0.0)
    return sample
