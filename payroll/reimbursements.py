"""Reads for the payroll export (SPEC Part B): driving logs in range, and their reimbursements
grouped per employee, pay item and year.

Sums are computed by the database (one ``values().annotate(Sum(...))`` query per call), never row
by row in Python: Python only multiplies each group's quantity by the year's rate, once, and
rounds to øre once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import ExtractYear

from bitnet.models import Agency, Subgroup, User
from payroll.models import (
    DrivingLog,
    DrivingLogStatus,
    MileageRate,
    PayrollExport,
    PayrollExportLog,
    ReimbursementKind,
    Trip,
    WageCodeMapping,
)

ORE = Decimal("0.01")
ZERO = Decimal("0")

# Only delivered logbooks are exported ("ansatte/sjåfører som har levert kjørebok").
EXPORTABLE_STATUSES = (DrivingLogStatus.SUBMITTED, DrivingLogStatus.APPROVED)

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
    quantity: object  # an expression over Trip
    rate_field: str | None  # MileageRate field; None for expense kinds
    comment_label: str

    @property
    def is_distance(self) -> bool:
        return self.rate_field is not None


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


def round_ore(value: Decimal) -> Decimal:
    return value.quantize(ORE, rounding=ROUND_HALF_UP)


# --- logbooks -----------------------------------------------------------------------------------


def _active_claim() -> Exists:
    return Exists(PayrollExportLog.objects.filter(log=OuterRef("pk"), active=True))


def drivinglogs_in_range(
    *, subgroup: Subgroup, date_from: dt.date, date_to: dt.date
) -> QuerySet[DrivingLog]:
    """The subgroup's logbooks whose period overlaps the range (any status, claimed or not)."""
    return (
        DrivingLog.objects.filter(
            agency_id=subgroup.agency_id,
            driver__office__subgroup=subgroup,
            period_start__lte=date_to,
            period_end__gte=date_from,
        )
        .select_related("driver")
        .annotate(is_claimed=_active_claim())
        .order_by("driver__first_name", "driver__last_name", "period_start", "id")
    )


def drivinglogs_exportable(
    *, subgroup: Subgroup, date_from: dt.date, date_to: dt.date
) -> QuerySet[DrivingLog]:
    """Delivered logbooks in range that no export has taken (a logbook is exported once)."""
    return drivinglogs_in_range(subgroup=subgroup, date_from=date_from, date_to=date_to).filter(
        status__in=EXPORTABLE_STATUSES, is_claimed=False
    )


def drivinglogs_with_trips(logs: QuerySet[DrivingLog]) -> list[DrivingLog]:
    """The logbooks with their trips (one query for all trips)."""
    trips = Trip.objects.only(
        "id",
        "log_id",
        "date",
        "from_place",
        "to_place",
        "km",
        "passengers",
        "toll",
        "parking",
        "ferry",
        "trailer",
        "forest_road",
    ).order_by("date", "id")
    return list(logs.prefetch_related(Prefetch("trips", queryset=trips)))


def mileage_rates() -> dict[int, MileageRate]:
    return {rate.year: rate for rate in MileageRate.objects.all()}


def wage_code_mappings(*, subgroup: Subgroup) -> dict[str, WageCodeMapping]:
    return {m.kind: m for m in WageCodeMapping.objects.filter(subgroup=subgroup)}


# --- grouping -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineGroup:
    """Kinds paid on one salary line: one distance kind, or the expense kinds sharing a code."""

    code: str
    kinds: tuple[str, ...]
    suffix: str = ""  # only when a code is (mis)configured for several distance kinds

    @property
    def is_distance(self) -> bool:
        return KINDS[self.kinds[0]].is_distance

    @property
    def trip_filter(self) -> Q:
        q = KINDS[self.kinds[0]].trip_filter
        for kind in self.kinds[1:]:
            q |= KINDS[kind].trip_filter
        return q


def line_groups(mappings: dict[str, WageCodeMapping]) -> list[LineGroup]:
    """Salary lines are per employee and pay item: kinds mapped to the same code share a line.

    Distance kinds each have their own rate, so each gets its own line; Lønnskoder does not let
    two of them share a code, and should it happen anyway, the kind is added to the reference.
    """
    groups: list[LineGroup] = []
    expense_by_code: dict[str, list[str]] = {}
    distance_codes: dict[str, int] = {}
    for kind in KIND_ORDER:
        mapping = mappings.get(kind)
        if mapping is None:
            continue
        if KINDS[kind].is_distance:
            distance_codes[mapping.pay_item_code] = distance_codes.get(mapping.pay_item_code, 0) + 1
        else:
            expense_by_code.setdefault(mapping.pay_item_code, []).append(kind)
    for kind in KIND_ORDER:
        mapping = mappings.get(kind)
        if mapping is None:
            continue
        code = mapping.pay_item_code
        shared = distance_codes.get(code, 0) + (1 if code in expense_by_code else 0) > 1
        if KINDS[kind].is_distance:
            groups.append(LineGroup(code, (kind,), kind if shared else ""))
        elif expense_by_code.get(code, [None])[0] == kind:
            groups.append(LineGroup(code, tuple(expense_by_code[code]), "utlegg" if shared else ""))
    return groups


def _group_annotations(prefix: str, kinds: Iterable[str], trip_filter: Q) -> dict:
    kinds = list(kinds)
    quantity = None
    for kind in kinds:
        expr = KINDS[kind].quantity
        quantity = expr if quantity is None else quantity + expr
    return {
        f"{prefix}_q": Sum(quantity, filter=trip_filter, output_field=_DECIMAL),
        f"{prefix}_n": Count("id", filter=trip_filter),
        f"{prefix}_first": Min("date", filter=trip_filter),
        f"{prefix}_last": Max("date", filter=trip_filter),
    }


def trip_sums(*, log_ids: Iterable[int], groups: list[LineGroup], by: str = "log__driver_id"):
    """One row per ``by`` and trip year with, per line group ``g<i>`` and per kind ``k_<kind>``,
    the summed quantity, the number of trips and the first and last date. One query."""
    annotations: dict = {}
    for index, group in enumerate(groups):
        # Expense kinds sharing a code: only the amounts of those kinds, on trips with any of them.
        annotations.update(_group_annotations(f"g{index}", group.kinds, group.trip_filter))
    for kind in KIND_ORDER:
        annotations.update(_group_annotations(f"k_{kind}", [kind], KINDS[kind].trip_filter))
    return list(
        Trip.objects.filter(log_id__in=list(log_ids))
        .annotate(year=ExtractYear("date"))
        .values(by, "year")
        .annotate(**annotations, n_trips=Count("id"), sum_km=Sum("km"))
        .order_by(by, "year")
    )


@dataclass
class LineDraft:
    """A salary line as computed, before it is stored or sent."""

    employee: User
    employee_number: int | None
    code: str
    kinds: tuple[str, ...]
    year: int
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    trips: int
    first: dt.date
    last: dt.date
    suffix: str = ""
    pay_item_id: str = ""
    pay_item_name: str = ""
    processing_type: str = ""

    @property
    def kind_labels(self) -> str:
        return ", ".join(KIND_LABELS[k] for k in self.kinds)

    @property
    def comment(self) -> str:
        labels = [KINDS[k].comment_label for k in self.kinds]
        label = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " og " + labels[-1]
        label = label[0] + label[1:].lower()
        if self.first == self.last:
            period = f"{self.first:%d.%m.%Y}"
        else:
            period = f"{self.first:%d.%m}–{self.last:%d.%m.%Y}"
        trips = "1 tur" if self.trips == 1 else f"{self.trips} turer"
        return f"{label} {period}, {trips}"


@dataclass
class Computation:
    lines: list[LineDraft] = field(default_factory=list)
    # kind -> number of trips that need a pay item that is not configured (validation 4)
    unmapped: dict[str, int] = field(default_factory=dict)
    # years with trips but no MileageRate
    missing_rate_years: set[int] = field(default_factory=set)

    @property
    def amount_total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)


def salary_lines_compute(
    *,
    log_ids: Iterable[int],
    mappings: dict[str, WageCodeMapping],
    rates: dict[int, MileageRate] | None = None,
) -> Computation:
    """Group the trips of the logbooks per employee, pay item and year (SPEC Part B, 5).

    Distance: quantity = km (passenger-km for the passenger supplement), rate = the trip year's
    rate, amount = quantity × rate rounded to øre once. Expenses: quantity 1, rate = amount.
    """
    log_ids = list(log_ids)
    rates = mileage_rates() if rates is None else rates
    groups = line_groups(mappings)
    rows = trip_sums(log_ids=log_ids, groups=groups)
    drivers = {
        u.pk: u
        for u in User.objects.filter(pk__in={row["log__driver_id"] for row in rows}).only(
            "id", "first_name", "last_name", "username", "employee_number"
        )
    }
    result = Computation()
    for row in rows:
        year = row["year"]
        for kind in KIND_ORDER:
            if row[f"k_{kind}_n"] and kind not in mappings:
                result.unmapped[kind] = result.unmapped.get(kind, 0) + row[f"k_{kind}_n"]
        for index, group in enumerate(groups):
            count = row[f"g{index}_n"]
            quantity = row[f"g{index}_q"] or ZERO
            if not count or quantity <= 0:
                continue
            if group.is_distance:
                rate_row = rates.get(year)
                if rate_row is None:
                    result.missing_rate_years.add(year)
                    continue
                rate = getattr(rate_row, KINDS[group.kinds[0]].rate_field)
                amount = round_ore(quantity * rate)
            else:
                amount = round_ore(quantity)
                quantity, rate = Decimal("1"), amount
            driver = drivers[row["log__driver_id"]]
            mapping = mappings[group.kinds[0]]
            result.lines.append(
                LineDraft(
                    employee=driver,
                    employee_number=driver.employee_number,
                    code=group.code,
                    kinds=group.kinds,
                    year=year,
                    quantity=quantity,
                    rate=rate,
                    amount=amount,
                    trips=count,
                    first=row[f"g{index}_first"],
                    last=row[f"g{index}_last"],
                    suffix=group.suffix,
                    pay_item_id=mapping.pay_item_id,
                    pay_item_name=mapping.pay_item_name,
                    processing_type=mapping.pay_item_processing_type,
                )
            )
    result.lines.sort(
        key=lambda line: (
            str(line.employee).lower(),
            line.employee_number or 0,
            line.year,
            KIND_ORDER.index(line.kinds[0]),
        )
    )
    return result


@dataclass
class LogSummary:
    """What a logbook amounts to, for the wizard's list: trips, km and reimbursement."""

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
    for row in trip_sums(log_ids=log_ids, groups=[], by="log_id"):
        summary = summaries.setdefault(row["log_id"], LogSummary())
        summary.trips += row["n_trips"]
        summary.km += row["sum_km"] or ZERO
        summary.passenger_km += row[f"k_{ReimbursementKind.PASSENGER}_q"] or ZERO
        rate_row = rates.get(row["year"])
        for kind, spec in KINDS.items():
            quantity = row[f"k_{kind}_q"] or ZERO
            if spec.is_distance:
                if rate_row is not None:
                    summary.amount += round_ore(quantity * getattr(rate_row, spec.rate_field))
            else:
                summary.expenses += quantity
                summary.amount += round_ore(quantity)
    return summaries


# --- exports --------------------------------------------------------------------------------------


def payroll_exports_for_agency(*, agency: Agency | int) -> QuerySet[PayrollExport]:
    agency_id = agency if isinstance(agency, int) else agency.pk
    return (
        PayrollExport.objects.filter(agency_id=agency_id)
        .select_related("subgroup", "created_by")
        .annotate(log_count=Count("log_claims"))
        .order_by("-created_at", "-id")
    )
