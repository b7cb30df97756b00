"""Reads for Lønn > Kjørebøker: which logs a user may see and edit, lists with sums from the
database, and a log's trips with their reimbursements at the year's MileageRate.

Every user of the agency sees and edits their own driving logs; payroll staff and
administrators see and edit all of the agency's (the caller scopes to the agency first).
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Coalesce

from accounting.money import round_ore
from bitnet.models import Role, User
from payroll.models import DrivingLog, DrivingLogStatus, MileageRate, Trip
from payroll.reimbursements import ZERO, ZERO_KM, TripAmounts, mileage_rates, trip_amounts


def user_sees_all_logs(*, user: User) -> bool:
    return user.has_role(Role.PAYROLL)


def drivinglog_visible(*, logs: QuerySet[DrivingLog], user: User) -> QuerySet[DrivingLog]:
    """The part of the agency's logs ``user`` may see: all for payroll/admin, else their own."""
    if user_sees_all_logs(user=user):
        return logs
    return logs.filter(driver=user)


def drivinglog_is_locked(*, log: DrivingLog) -> bool:
    """An exported log, or one a payroll export has taken, is read-only."""
    if log.status == DrivingLogStatus.EXPORTED:
        return True
    return log.export_claims.filter(active=True).exists()


def drivinglog_can_edit(*, log: DrivingLog, user: User, locked: bool | None = None) -> bool:
    """Payroll/admin edit any log that is not exported; a driver edits their own while it is
    "Under arbeid" (after "Levert" they take it back first)."""
    if locked if locked is not None else drivinglog_is_locked(log=log):
        return False
    if user_sees_all_logs(user=user):
        return True
    return log.driver_id == user.pk and log.status == DrivingLogStatus.DRAFT


# (from, to) -> (button label, who may: "owner" = the driver or payroll/admin, "payroll")
STATUS_TRANSITIONS: dict[tuple[str, str], tuple[str, str]] = {
    (DrivingLogStatus.DRAFT, DrivingLogStatus.SUBMITTED): ("Lever kjøreboken", "owner"),
    (DrivingLogStatus.SUBMITTED, DrivingLogStatus.DRAFT): ("Trekk tilbake", "owner"),
    (DrivingLogStatus.SUBMITTED, DrivingLogStatus.APPROVED): ("Godkjenn", "payroll"),
    (DrivingLogStatus.APPROVED, DrivingLogStatus.SUBMITTED): ("Opphev godkjenning", "payroll"),
}


def drivinglog_status_actions(
    *, log: DrivingLog, user: User, locked: bool | None = None
) -> list[tuple[str, str]]:
    """The status changes ``user`` may make on ``log`` now: [(new status, button label)]."""
    if locked if locked is not None else drivinglog_is_locked(log=log):
        return []
    payroll = user_sees_all_logs(user=user)
    actions = []
    for (src, dst), (label, who) in STATUS_TRANSITIONS.items():
        if src != log.status:
            continue
        if who == "payroll" and not payroll:
            continue
        if who == "owner" and not (payroll or log.driver_id == user.pk):
            continue
        if (
            payroll
            and log.driver_id != user.pk
            and (src, dst)
            == (
                DrivingLogStatus.SUBMITTED,
                DrivingLogStatus.DRAFT,
            )
        ):
            label = "Send tilbake til sjåføren"
        actions.append((dst, label))
    return actions


def drivinglog_list(
    *,
    logs: QuerySet[DrivingLog],
    driver_id: int | None = None,
    status: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[DrivingLog]:
    """Logs with their number of trips, km and expenses summed by the database.

    The period filter keeps logs whose period overlaps [date_from, date_to].
    """
    qs = logs.select_related("driver")
    if driver_id:
        qs = qs.filter(driver_id=driver_id)
    if status:
        qs = qs.filter(status=status)
    if date_from:
        qs = qs.filter(period_end__gte=date_from)
    if date_to:
        qs = qs.filter(period_start__lte=date_to)
    return qs.annotate(
        trip_count=Count("trips"),
        km_total=Coalesce(Sum("trips__km"), ZERO_KM),
        toll_total=Coalesce(Sum("trips__toll"), ZERO),
        parking_total=Coalesce(Sum("trips__parking"), ZERO),
        ferry_total=Coalesce(Sum("trips__ferry"), ZERO),
    ).order_by("-period_start", "driver__first_name", "driver__last_name", "id")


def drivinglog_list_totals(*, logs: QuerySet[DrivingLog]) -> dict[str, Any]:
    """Sums over every trip of the (filtered) logs, in one query."""
    trips = Trip.objects.filter(log__in=logs.order_by().values("pk"))
    return trips.aggregate(
        trip_count=Count("id"),
        km=Coalesce(Sum("km"), ZERO_KM),
        toll=Coalesce(Sum("toll"), ZERO),
        parking=Coalesce(Sum("parking"), ZERO),
        ferry=Coalesce(Sum("ferry"), ZERO),
    )


def drivinglog_overlapping(
    *, driver_id: int, period_start: dt.date, period_end: dt.date, exclude_id: int | None = None
) -> QuerySet[DrivingLog]:
    qs = DrivingLog.objects.filter(
        driver_id=driver_id, period_start__lte=period_end, period_end__gte=period_start
    )
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return qs.order_by("period_start")


@dataclass
class LogTotals:
    km: Decimal = ZERO_KM
    passenger_km: Decimal = ZERO_KM
    mileage: Decimal = ZERO
    passenger: Decimal = ZERO
    supplements: Decimal = ZERO
    toll: Decimal = ZERO
    parking: Decimal = ZERO
    ferry: Decimal = ZERO
    missing_years: list[int] = field(default_factory=list)

    @property
    def expenses(self) -> Decimal:
        return self.toll + self.parking + self.ferry

    @property
    def extras(self) -> Decimal:
        """Everything but the mileage itself: passenger, supplements and expenses."""
        return self.passenger + self.supplements + self.expenses

    @property
    def total(self) -> Decimal:
        return self.mileage + self.extras


@dataclass(frozen=True)
class LogDetail:
    trips: list[TripAmounts]
    totals: LogTotals
    rates: dict[int, MileageRate]


def drivinglog_detail(*, log: DrivingLog) -> LogDetail:
    """A log's trips with their amounts, and totals.

    The totals are computed like the payroll export computes them: quantities (km,
    passenger-km) are summed per year first, multiplied by that year's rate and rounded once,
    so the page shows what will be paid.
    """
    trips = list(log.trips.order_by("date", "id"))
    rates = mileage_rates(years=(t.date.year for t in trips))
    rows = [trip_amounts(trip=t, rate=rates.get(t.date.year)) for t in trips]
    totals = LogTotals()
    per_year: dict[int, dict[str, Decimal]] = {}
    for t in trips:
        totals.km += t.km
        totals.passenger_km += t.passengers * t.km
        totals.toll += t.toll
        totals.parking += t.parking
        totals.ferry += t.ferry
        sums = per_year.setdefault(
            t.date.year, {"km": ZERO_KM, "pkm": ZERO_KM, "trailer": ZERO_KM, "forest": ZERO_KM}
        )
        sums["km"] += t.km
        sums["pkm"] += t.passengers * t.km
        if t.trailer:
            sums["trailer"] += t.km
        if t.forest_road:
            sums["forest"] += t.km
    for year, q in sorted(per_year.items()):
        rate = rates.get(year)
        if rate is None:
            totals.missing_years.append(year)
            continue
        totals.mileage += round_ore(q["km"] * rate.rate_per_km)
        totals.passenger += round_ore(q["pkm"] * rate.passenger_rate_per_km)
        totals.supplements += round_ore(q["trailer"] * rate.trailer_rate_per_km) + round_ore(
            q["forest"] * rate.forest_road_rate_per_km
        )
    return LogDetail(trips=rows, totals=totals, rates=rates)


def driver_choices(*, users: QuerySet[User]) -> QuerySet[User]:
    """Users who may have a driving log: the agency's active users."""
    return users.filter(is_active=True).order_by("first_name", "last_name", "username")


def drivinglog_counts_by_status(*, logs: QuerySet[DrivingLog]) -> dict[str, int]:
    rows = logs.order_by().values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}
