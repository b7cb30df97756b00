"""Reads for Lønn > Kjørebøker: which logs a user may see and edit, lists with sums from the
database, and a log's trips with their reimbursements at the year's MileageRate.

Every user of the agency sees and edits their own driving logs; payroll staff and
administrators see and edit all of the agency's (the caller scopes to the agency first).
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from accounting.money import kr, round_ore
from bitnet.models import Role, User
from payroll import limits
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


# --- unusual trips (payroll/limits.py) ------------------------------------------------


@dataclass(frozen=True)
class UnusualTrip:
    """A trip within the limits that a person should look at before it is paid."""

    trip: Trip
    reasons: list[str]


def _km_text(km: Decimal) -> str:
    return f"{km.normalize():,f}".replace(",", " ").replace(".", ",")


def _driver_usual_km(trips: list[Trip]) -> dict[int, tuple[Decimal, int]]:
    """Per driver of ``trips``: the average km and the number of their other trips in the year
    before the latest of ``trips``. One query."""
    latest = max(t.date for t in trips)
    rows = (
        Trip.objects.filter(
            log__driver_id__in={t.log.driver_id for t in trips},
            date__gt=latest - dt.timedelta(days=365),
            date__lte=latest,
        )
        .exclude(pk__in=[t.pk for t in trips])
        .values("log__driver_id")
        .annotate(avg=Avg("km"), n=Count("id"))
        .order_by()
    )
    return {row["log__driver_id"]: (Decimal(row["avg"]), row["n"]) for row in rows}


def _reasons(trip: Trip, usual: tuple[Decimal, int] | None) -> list[str]:
    reasons = []
    if trip.km > limits.UNUSUAL_KM:
        reasons.append(f"Lang tur: {_km_text(trip.km)} km.")
    elif usual is not None and usual[1] >= limits.UNUSUAL_MIN_HISTORY:
        average = usual[0]
        if trip.km >= limits.UNUSUAL_MIN_KM and trip.km > limits.UNUSUAL_FACTOR * average:
            reasons.append(
                f"{_km_text(trip.km)} km er mer enn {limits.UNUSUAL_FACTOR} ganger sjåførens "
                f"vanlige tur (snitt {_km_text(round(average, 1))} km det siste året)."
            )
    for name, label in (("toll", "Bompenger"), ("parking", "Parkering"), ("ferry", "Ferje")):
        amount = getattr(trip, name)
        if amount > limits.UNUSUAL_EXPENSE:
            reasons.append(f"{label} {kr(amount)} kr.")
    return reasons


def trips_unusual(*, log_ids: Iterable[int]) -> list[UnusualTrip]:
    """The trips of the logs that look unusual (payroll/limits.py): long, far above what the
    driver usually drives, or with a large outlay. Two queries whatever the number of trips."""
    expense = limits.UNUSUAL_EXPENSE
    candidates = list(
        Trip.objects.filter(log_id__in=list(log_ids))
        .filter(
            Q(km__gte=limits.UNUSUAL_MIN_KM)
            | Q(toll__gt=expense)
            | Q(parking__gt=expense)
            | Q(ferry__gt=expense)
        )
        .select_related("log__driver")
        .order_by("log__driver__first_name", "log__driver__last_name", "date", "id")
    )
    if not candidates:
        return []
    usual = _driver_usual_km(candidates)
    unusual = []
    for trip in candidates:
        reasons = _reasons(trip, usual.get(trip.log.driver_id))
        if reasons:
            unusual.append(UnusualTrip(trip=trip, reasons=reasons))
    return unusual
