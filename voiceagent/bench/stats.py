"""Summaries of measured samples and the plain-text tables the benchmarks print."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Summary:
    """p50 / p95 / max (and mean) of a set of samples; ``n`` = 0 means nothing measured."""

    n: int
    p50: float | None
    p95: float | None
    max: float | None
    mean: float | None

    @classmethod
    def of(cls, samples: Iterable[float | None]) -> Summary:
        values = sorted(float(v) for v in samples if v is not None)
        if not values:
            return cls(0, None, None, None, None)
        return cls(
            n=len(values),
            p50=percentile(values, 50),
            p95=percentile(values, 95),
            max=values[-1],
            mean=sum(values) / len(values),
        )

    def as_dict(self) -> dict[str, float | int | None]:
        return {k: (round(v, 1) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method) of already sorted values."""
    if not sorted_values:
        raise ValueError("no values")
    rank = (len(sorted_values) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


def fmt(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A left-aligned first column, right-aligned others, columns as wide as their content."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        first = row[0].ljust(widths[0])
        rest = [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def summary_row(label: str, summary: Summary, unit_digits: int = 0) -> list[str]:
    return [
        label,
        str(summary.n),
        fmt(summary.p50, unit_digits),
        fmt(summary.p95, unit_digits),
        fmt(summary.max, unit_digits),
        fmt(summary.mean, unit_digits),
    ]


SUMMARY_HEADERS = ("metric", "n", "p50", "p95", "max", "mean")
