"""Reimbursements: what a trip, a logbook and a kind of reimbursement amount to (SPEC Part B).

The kinds (``KINDS``) say how each reimbursement is read from a trip and paid: distance kinds are
a quantity (km, passenger-km) times the trip year's ``MileageRate``, expense kinds (toll, parking,
ferry) are refunds of what the driver paid. Sums are computed by the database (one
``values().annotate(Sum(...))`` query per call), never row by row in Python: Python only
multiplies each sum by the year's rate, once, and rounds to øre once (``round_ore``).

How these amounts become salary lines of a PowerOffice export is poweroffice/salary/selectors.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Max, Min, Q, Sum
from django.db.models.expressions import Combinable
from django.db.models.functions import ExtractYear

from accounting.money import round_ore
from payroll.models import MileageRate, ReimbursementKind, Trip

ZERO = Decimal("0.00")
ZERO_KM = Decimal("0.0")

_DECIMAL = DecimalField(max_digits=14, decimal_places=2)


@dataclass(frozen=True)
class KindSpec:
    """How one kind of reimbursement is read from trips and paid.

    Distance kinds are paid as quantity (km, or passenger-km) times the year's rate from
    MileageRate (``rate_field``). Expense kinds (toll, parking, ferry) are refunds of what the
    driver paid: sent as quantity 1 with rate = amount, so that a QuantityAndRate pay item and an
    ExpenseRefund pay item both end up with the right amount.
    """

    kind: str
    trip_filter: Q
    quantity: Combinable  # an expression over Trip
    rate_field: str | None  # MileageRate field; None for expense kinds
    comment_label: str

    @property
    def is_distance(self) -> bool:
        return self.rate_field is not None

    def rate(self, rates: MileageRate) -> Decimal:
        """The year's rate of a distance kind, from its ``rate_field`` of MileageRate."""
        return Decimal(getattr(rates, str(self.rate_field)))


KINDS: dict[str, KindSpec] = {
    ReimbursementKind.MILEAGE: KindSpec(
        ReimbursementKind.MILEAGE, Q(km__gt=0), F("km"), "rate_per_km", "Kjøring"
    ),
    ReimbursementKind.PASSENGER: KindSpec(
        ReimbursementKind.PASSENGER,
        Q(passengers__gt=0),
        ExpressionWrapper(F("passengers") * F("km"), output_field=_DECIMAL),
        "passenger_rate_per_km",
        "Passasjertillegg",
    ),
    ReimbursementKind.TOLL: KindSpec(
        ReimbursementKind.TOLL, Q(toll__gt=0), F("toll"), None, "Bompenger"
    ),
    ReimbursementKind.PARKING: KindSpec(
        ReimbursementKind.PARKING, Q(parking__gt=0), F("parking"), None, "Parkering"
    ),
    ReimbursementKind.FERRY: KindSpec(
        ReimbursementKind.FERRY, Q(ferry__gt=0), F("ferry"), None, "Ferje"
    ),
    ReimbursementKind.TRAILER: KindSpec(
        ReimbursementKind.TRAILER,
        Q(trailer=True),
        F("km"),
        "trailer_rate_per_km",
        "Tilhenger/utstyr",
    ),
    ReimbursementKind.FOREST_ROAD: KindSpec(
        ReimbursementKind.FOREST_ROAD,
        Q(forest_road=True),
        F("km"),
        "forest_road_rate_per_km",
        "Skogs-/anleggsvei",
    ),
}
KIND_ORDER = list(KINDS)
KIND_LABELS = dict(ReimbursementKind.choices)
DISTANCE_KINDS = [k for k, spec in KINDS.items() if spec.is_distance]
EXPENSE_KINDS = [k for k, spec in KINDS.items() if not spec.is_distance]


def kinds_filter(kinds: Sequence[str]) -> Q:
    """Trips that have any of ``kinds``."""
    q = KINDS[kinds[0]].trip_filter
    for kind in kinds[1:]:
        q |= KINDS[kind].trip_filter
    return q


def mileage_rates(*, years: Iterable[int] | None = None) -> dict[int, MileageRate]:
    """The state's rates per year (all years, or only ``years``)."""
    rates = MileageRate.objects.all()
    if years is not None:
        rates = rates.filter(year__in=set(years))
    return {rate.year: rate for rate in rates}


# --- one trip -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TripAmounts:
    """A trip's reimbursements; each distance amount is rounded to øre once, from exact."""

    trip: Trip
    rate: MileageRate | None
    mileage: Decimal | None
    passenger: Decimal | None
    supplements: Decimal | None  # tilhenger/utstyr + skogs-/anleggsvei
    expenses: Decimal  # bompenger + parkering + ferje (refunds, already in øre)
    total: Decimal | None


def trip_amounts(*, trip: Trip, rate: MileageRate | None) -> TripAmounts:
    """What one trip amounts to at its year's rate (``rate`` None: the year has no rate)."""
    expenses = trip.toll + trip.parking + trip.ferry
    if rate is None:
        return TripAmounts(trip, None, None, None, None, expenses, None)
    mileage = round_ore(trip.km * rate.rate_per_km)
    passenger = round_ore(trip.passengers * trip.km * rate.passenger_rate_per_km)
    per_km = Decimal("0")
    if trip.trailer:
        per_km += rate.trailer_rate_per_km
    if trip.forest_road:
        per_km += rate.forest_road_rate_per_km
    supplements = round_ore(trip.km * per_km)
    return TripAmounts(
        trip=trip,
        rate=rate,
        mileage=mileage,
        passenger=passenger,
        supplements=supplements,
        expenses=expenses,
        total=mileage + passenger + supplements + expenses,
    )


# --- sums per kind and year ---------------------------------------------------------------------


def _sum_annotations(prefix: str, kinds: Sequence[str]) -> dict[str, Any]:
    trip_filter = kinds_filter(kinds)
    quantity: Combinable = KINDS[kinds[0]].quantity
    for kind in kinds[1:]:
        quantity = quantity + KINDS[kind].quantity
    return {
        f"{prefix}_q": Sum(quantity, filter=trip_filter, output_field=_DECIMAL),
        f"{prefix}_n": Count("id", filter=trip_filter),
        f"{prefix}_first": Min("date", filter=trip_filter),
        f"{prefix}_last": Max("date", filter=trip_filter),
    }


def trip_sums(
    *, log_ids: Iterable[int], groups: Sequence[Sequence[str]] = (), by: str = "log__driver_id"
) -> list[dict[str, Any]]:
    """One row per ``by`` and trip year with, per group of kinds ``g<i>`` and per kind
    ``k_<kind>``, the summed quantity (``_q``), the number of trips (``_n``) and the first and
    last date (``_first``, ``_last``); and ``n_trips``, ``sum_km`` over all trips. One query.

    A group of several (expense) kinds sums only the amounts of those kinds, on trips with any
    of them.
    """
    annotations: dict[str, Any] = {}
    for index, kinds in enumerate(groups):
        annotations.update(_sum_annotations(f"g{index}", kinds))
    for kind in KIND_ORDER:
        annotations.update(_sum_annotations(f"k_{kind}", [kind]))
    return list(
        Trip.objects.filter(log_id__in=list(log_ids))
        .annotate(year=ExtractYear("date"))
        .values(by, "year")
        .annotate(**annotations, n_trips=Count("id"), sum_km=Sum("km"))
        .order_by(by, "year")
    )


# --- one logbook --------------------------------------------------------------------------------


@dataclass
class LogSummary:
    """What a logbook amounts to, for the export wizard's list: trips, km and reimbursement."""

    trips: int = 0
    km: Decimal = ZERO
    passenger_km: Decimal = ZERO
    expenses: Decimal = ZERO
    amount: Decimal = ZERO


def drivinglog_summaries(
    *, log_ids: Iterable[int], rates: dict[int, MileageRate] | None = None
) -> dict[int, LogSummary]:
    """Per logbook: trips, km, passenger-km, expenses and the amount at the year's rates
    (rounded per kind and year, as the salary lines are). One query."""
    rates = mileage_rates() if rates is None else rates
    summaries: dict[int, LogSummary] = {}
    for row in trip_sums(log_ids=log_ids, by="log_id"):
        summary = summaries.setdefault(row["log_id"], LogSummary())
        summary.trips += row["n_trips"]
        summary.km += row["sum_km"] or ZERO
        summary.passenger_km += row[f"k_{ReimbursementKind.PASSENGER}_q"] or ZERO
        rate_row = rates.get(row["year"])
        for kind, spec in KINDS.items():
            quantity = row[f"k_{kind}_q"] or ZERO
            if not spec.is_distance:
                summary.expenses += quantity
                summary.amount += round_ore(quantity)
            elif rate_row is not None:
                summary.amount += round_ore(quantity * spec.rate(rate_row))
    return summaries
