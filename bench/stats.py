"""Latency histograms (HdrHistogram) and the small statistics the report needs."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from hdrh.histogram import HdrHistogram

# Microsecond resolution, up to 5 minutes, 3 significant digits.
LOWEST_US, HIGHEST_US, DIGITS = 1, 300_000_000, 3
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p99_9": 99.9}


class Latency:
    """A latency recorder in microseconds that summarises in milliseconds."""

    def __init__(self) -> None:
        self.hist = HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)

    def record_ns(self, nanoseconds: int) -> None:
        micros = max(LOWEST_US, min(HIGHEST_US, nanoseconds // 1000))
        self.hist.record_value(micros)

    @property
    def count(self) -> int:
        return self.hist.get_total_count()

    def summary(self) -> dict[str, float | int | None]:
        """`{count, p50, p90, p99, p99_9, max, mean}` in milliseconds (None when empty)."""
        if not self.count:
            return {"count": 0, **dict.fromkeys([*PERCENTILES, "max", "mean"])}
        out: dict[str, float | int | None] = {"count": self.count}
        for name, pct in PERCENTILES.items():
            out[name] = round(self.hist.get_value_at_percentile(pct) / 1000, 3)
        out["max"] = round(self.hist.get_max_value() / 1000, 3)
        out["mean"] = round(self.hist.get_mean_value() / 1000, 3)
        return out


def median_of(values: Iterable[float | int | None]) -> float | None:
    """The median of the values that exist, or None."""
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def dotted(run: dict[str, Any], key: str) -> Any:
    """`run["a"]["b"]` for key "a.b" (None where a part is missing)."""
    value: Any = run
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def spread_of(values: Iterable[float | int | None]) -> dict[str, float | None]:
    """`{min, median, max}` of the values that exist (all None when there are none)."""
    present = [v for v in values if v is not None]
    if not present:
        return {"min": None, "median": None, "max": None}
    return {
        "min": round(min(present), 3),
        "median": round(statistics.median(present), 3),
        "max": round(max(present), 3),
    }


def spreads(runs: list[dict[str, Any]], keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Per-key min/median/max over repeated runs (nested keys as 'a.b')."""
    return {key: spread_of(dotted(run, key) for run in runs) for key in keys}
