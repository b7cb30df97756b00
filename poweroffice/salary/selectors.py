"""Reads for the payroll export (SPEC Part B): the logbooks an export may take, the salary lines
their trips make (per employee, pay item and year), and the exports of an agency.

What a trip or a kind of reimbursement amounts to is payroll/reimbursements.py; here those sums
are grouped by the subgroup's wage codes into salary lines. One query for all trips, whatever
their number: Python only multiplies each group's quantity by the year's rate, once, and rounds
to øre once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounting.money import round_ore
from bitnet.models import Agency, Subgroup, User
from payroll.models import (
    DrivingLog,
    DrivingLogStatus,
    MileageRate,
    PayrollExport,
    PayrollExportLog,
    PayrollExportStatus,
    Trip,
    WageCodeMapping,
)
from payroll.reimbursements import KIND_LABELS, KIND_ORDER, KINDS, ZERO, mileage_rates, trip_sums
from poweroffice.models import Connection

# Only delivered logbooks are exported ("ansatte/sjåfører som har levert kjørebok").
EXPORTABLE_STATUSES = (DrivingLogStatus.SUBMITTED, DrivingLogStatus.APPROVED)


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
    in_range = drivinglogs_in_range(subgroup=subgroup, date_from=date_from, date_to=date_to)
    return in_range.filter(status__in=EXPORTABLE_STATUSES).exclude(export_claims__active=True)


def drivinglog_trips(*, log: DrivingLog) -> list[Trip]:
    """One logbook's trips, for "Vis turer" in the wizard (fetched per logbook, on demand, so
    "Søk" does not grow with the number of trips)."""
    return list(
        Trip.objects.filter(log=log)
        .only(
            "id",
            "log_id",
            "date",
            "from_place",
            "to_place",
            "purpose",
            "km",
            "passengers",
            "toll",
            "parking",
            "ferry",
            "trailer",
            "forest_road",
        )
        .order_by("date", "id")
    )


def drivers_of(log_ids: Iterable[int]) -> list[User]:
    """The drivers of the logbooks that have trips, by name."""
    return list(
        User.objects.filter(driving_logs__id__in=list(log_ids), driving_logs__trips__isnull=False)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def wage_code_mappings(*, subgroup: Subgroup) -> dict[str, WageCodeMapping]:
    """The subgroup's wage codes, by kind of reimbursement."""
    return {m.kind: m for m in WageCodeMapping.objects.filter(subgroup=subgroup)}


def payroll_enabled_in(*, agency_id: int) -> bool:
    """Whether any subgroup of the agency has PowerOffice Go payroll activated."""
    return Connection.objects.filter(subgroup__agency_id=agency_id, payroll_enabled=True).exists()


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


def _group_line(
    *,
    row: dict[str, Any],
    index: int,
    group: LineGroup,
    rates: dict[int, MileageRate],
    driver: User,
    mapping: WageCodeMapping,
    result: Computation,
) -> LineDraft | None:
    """The salary line of one line group in one row (driver and year) of ``trip_sums``.

    Distance: quantity = km (passenger-km for the passenger supplement), rate = the trip year's
    rate, amount = quantity × rate rounded to øre once. Expenses: quantity 1, rate = amount.
    """
    year = row["year"]
    count = row[f"g{index}_n"]
    quantity = row[f"g{index}_q"] or ZERO
    if not count or quantity <= 0:
        return None
    if group.is_distance:
        rate_row = rates.get(year)
        if rate_row is None:
            result.missing_rate_years.add(year)
            return None
        rate = KINDS[group.kinds[0]].rate(rate_row)
        amount = round_ore(quantity * rate)
    else:
        amount = round_ore(quantity)
        quantity, rate = Decimal("1"), amount
    return LineDraft(
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


def salary_lines_compute(
    *,
    log_ids: Iterable[int],
    mappings: dict[str, WageCodeMapping],
    rates: dict[int, MileageRate] | None = None,
) -> Computation:
    """Group the trips of the logbooks per employee, pay item and year (SPEC Part B, 5)."""
    log_ids = list(log_ids)
    rates = mileage_rates() if rates is None else rates
    groups = line_groups(mappings)
    rows = trip_sums(log_ids=log_ids, groups=[group.kinds for group in groups])
    drivers = {
        u.pk: u
        for u in User.objects.filter(pk__in={row["log__driver_id"] for row in rows}).only(
            "id", "first_name", "last_name", "username", "employee_number"
        )
    }
    result = Computation()
    for row in rows:
        for kind in KIND_ORDER:
            if row[f"k_{kind}_n"] and kind not in mappings:
                result.unmapped[kind] = result.unmapped.get(kind, 0) + row[f"k_{kind}_n"]
        for index, group in enumerate(groups):
            line = _group_line(
                row=row,
                index=index,
                group=group,
                rates=rates,
                driver=drivers[row["log__driver_id"]],
                mapping=mappings[group.kinds[0]],
                result=result,
            )
            if line is not None:
                result.lines.append(line)
    result.lines.sort(
        key=lambda line: (
            str(line.employee).lower(),
            line.employee_number or 0,
            line.year,
            KIND_ORDER.index(line.kinds[0]),
        )
    )
    return result


# --- exports --------------------------------------------------------------------------------------


def payroll_exports_for_agency(*, agency: Agency | int) -> QuerySet[PayrollExport]:
    agency_id = agency if isinstance(agency, int) else agency.pk
    return (
        PayrollExport.objects.filter(agency_id=agency_id)
        .select_related("subgroup", "created_by")
        .annotate(log_count=Count("log_claims"))
        .order_by("-created_at", "-id")
    )


# The statuses in which a run is (or should be) working on an export.
WORKING_STATUSES = (
    PayrollExportStatus.DRAFT,
    PayrollExportStatus.RUNNING,
    PayrollExportStatus.ROLLING_BACK,
)


def stale_before(now: dt.datetime | None = None) -> dt.datetime:
    """A heartbeat older than this means the run died (``PAYROLL_EXPORT_STALE_AFTER``)."""
    return (now or timezone.now()) - dt.timedelta(seconds=settings.PAYROLL_EXPORT_STALE_AFTER)


def stale_filter(now: dt.datetime | None = None) -> Q:
    """Exports a run should be working on whose run stopped beating (or never started)."""
    before = stale_before(now)
    return Q(status__in=WORKING_STATUSES) & (
        Q(heartbeat_at__lt=before) | Q(heartbeat_at__isnull=True, created_at__lt=before)
    )


def export_is_stale(export: PayrollExport, now: dt.datetime | None = None) -> bool:
    """Whether the export's run has died (see ``stale_filter``)."""
    if export.status not in WORKING_STATUSES:
        return False
    beat = export.heartbeat_at or export.created_at
    return beat is not None and beat < stale_before(now)


def payroll_exports_in_progress(*, subgroup: Subgroup) -> list[PayrollExport]:
    """The subgroup's exports a live run is working on now."""
    working = PayrollExport.objects.filter(subgroup=subgroup, status__in=WORKING_STATUSES)
    return list(working.exclude(stale_filter()).order_by("created_at", "id"))


def payroll_exports_holding(
    *, subgroup: Subgroup, date_from: dt.date, date_to: dt.date
) -> list[tuple[PayrollExport, int]]:
    """The exports that hold logbooks of this range (with how many of them), oldest first."""
    in_range = drivinglogs_in_range(subgroup=subgroup, date_from=date_from, date_to=date_to)
    claims = (
        PayrollExportLog.objects.filter(active=True, log__in=in_range.values("pk"))
        .values("export_id")
        .annotate(n=Count("id"))
        .order_by("export_id")
    )
    counts = {row["export_id"]: row["n"] for row in claims}
    exports = PayrollExport.objects.filter(pk__in=counts).order_by("created_at", "id")
    return [(export, counts[export.pk]) for export in exports]
