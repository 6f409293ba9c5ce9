"""Months as the model's clock: parsing 'YYYY-MM' dates and counting months between them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

FIRST_YEAR, LAST_YEAR = 1900, 2200  # far beyond any market this models; keeps month arithmetic small


def parse_month(value: object) -> str:
    """Normalise a month given as 'YYYY-MM', 'YYYY-MM-DD' or a YAML date to 'YYYY-MM'.

    Events in public sources carry days (a price cut on 15 May); the model steps monthly,
    so a day is accepted and dropped rather than rejected.
    """
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{value.year:04d}-{value.month:02d}"
    if not isinstance(value, str):
        raise ValueError(f"expected a month as 'YYYY-MM', got {value!r}")
    parts = value.strip().split("-")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError(f"expected a month as 'YYYY-MM', got {value!r}")
    year, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12:
        raise ValueError(f"expected a month as 'YYYY-MM' with a month from 01 to 12, got {value!r}")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"{value!r}: the calendar runs from {FIRST_YEAR} to {LAST_YEAR}")
    if len(parts) == 3 and not _is_day_of(year, month, int(parts[2])):
        raise ValueError(f"{value!r} is not a day in the calendar; write the month as 'YYYY-MM'")
    return f"{year:04d}-{month:02d}"


def _is_day_of(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


Month = Annotated[str, BeforeValidator(parse_month), PlainSerializer(str)]


def month_index(start: str, month: str) -> int:
    """Number of months from `start` to `month` (0 for the start month itself)."""
    y0, m0 = map(int, start.split("-"))
    y1, m1 = map(int, month.split("-"))
    return (y1 - y0) * 12 + (m1 - m0)


def month_at(start: str, index: int) -> str:
    """The 'YYYY-MM' month `index` months after `start`."""
    y0, m0 = map(int, start.split("-"))
    total = y0 * 12 + (m0 - 1) + index
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def month_dates(start: str, months: int) -> list[dt.date]:
    """First day of each simulated month, for dated chart axes and tables."""
    dates = []
    for i in range(months):
        year, month = map(int, month_at(start, i).split("-"))
        dates.append(dt.date(year, month, 1))
    return dates


DAYS_PER_MONTH = 365.25 / 12
