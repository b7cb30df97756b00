"""The bars of the exports-per-day chart, computed here so the template draws a plain SVG
(no script, no inline style: the CSP allows neither)."""

from __future__ import annotations

from dataclasses import dataclass

from poweroffice.overview.selectors import Day

WIDTH = 600
HEIGHT = 120
BAR_GAP = 2


@dataclass(frozen=True)
class Bar:
    day: Day
    x: float
    width: float
    exported_y: float
    exported_height: float
    failed_y: float
    failed_height: float

    @property
    def title(self) -> str:
        return f"{self.day.date:%d.%m.%Y}: {self.day.exported} eksportert, {self.day.failed} feilet"


def bars(days: list[Day]) -> list[Bar]:
    """One stacked bar per day: exports below, failures on top, scaled to the busiest day."""
    if not days:
        return []
    top = max((d.exported + d.failed for d in days), default=0) or 1
    slot = WIDTH / len(days)
    result = []
    for i, day in enumerate(days):
        exported_h = HEIGHT * day.exported / top
        failed_h = HEIGHT * day.failed / top
        result.append(
            Bar(
                day=day,
                x=round(i * slot + BAR_GAP / 2, 2),
                width=round(slot - BAR_GAP, 2),
                exported_y=round(HEIGHT - exported_h, 2),
                exported_height=round(exported_h, 2),
                failed_y=round(HEIGHT - exported_h - failed_h, 2),
                failed_height=round(failed_h, 2),
            )
        )
    return result
