"""Reads for Økonomi > Integrasjonsstatus: the state of PowerOffice per subgroup at a glance.

Every read covers all subgroups of the agency at once (grouped or DISTINCT ON in the database),
so the page costs the same handful of queries however many subgroups and invoices there are.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounting.models import ExportStatus, Invoice
from bitnet.models import Subgroup
from payroll.models import PayrollExport, PayrollExportStatus
from poweroffice.client.ratelimit import QueueStatus, rate_limit_queue
from poweroffice.models import (
    AccountValidation,
    AttemptOutcome,
    Connection,
    ExportAttempt,
    PaymentSyncRun,
)
from poweroffice.overview.fixes import fix_for

CHART_DAYS = 30


@dataclass(frozen=True)
class Problem:
    """Invoices of one subgroup stopped for the same reason."""

    status: str  # ExportStatus.FAILED or HELD
    message: str
    kind: str
    count: int

    @property
    def fix(self) -> str:
        return fix_for(self.kind)


@dataclass
class SubgroupStatus:
    subgroup: Subgroup
    connection: Connection | None
    last_export_at: dt.datetime | None = None
    failed: list[Problem] = field(default_factory=list)
    held: list[Problem] = field(default_factory=list)
    payment_run: PaymentSyncRun | None = None
    validation: AccountValidation | None = None
    payroll: dict[str, int] = field(default_factory=dict)  # status label -> count
    payroll_last: PayrollExport | None = None

    @property
    def connected(self) -> bool:
        c = self.connection
        return bool(c and c.enabled and c.has_client_key)

    @property
    def failed_count(self) -> int:
        return sum(p.count for p in self.failed)

    @property
    def held_count(self) -> int:
        return sum(p.count for p in self.held)


@dataclass(frozen=True)
class Day:
    date: dt.date
    exported: int
    failed: int


@dataclass(frozen=True)
class Overview:
    subgroups: list[SubgroupStatus]
    days: list[Day]
    queue: QueueStatus | None


def integration_overview(*, agency_id: int, today: dt.date | None = None) -> Overview:
    subgroups = list(
        Subgroup.objects.filter(agency_id=agency_id)
        .select_related("poweroffice_connection")
        .order_by("name", "pk")
    )
    rows = {s.pk: SubgroupStatus(s, getattr(s, "poweroffice_connection", None)) for s in subgroups}
    for subgroup_id, last in _last_exports(agency_id):
        rows[subgroup_id].last_export_at = last
    for subgroup_id, problem in _problems(agency_id):
        row = rows[subgroup_id]
        (row.failed if problem.status == ExportStatus.FAILED else row.held).append(problem)
    for run in _latest_per_subgroup(PaymentSyncRun, agency_id, "-started_at"):
        rows[run.subgroup_id].payment_run = run
    for validation in _latest_per_subgroup(AccountValidation, agency_id, "-run_at"):
        rows[validation.subgroup_id].validation = validation
    _add_payroll(rows, agency_id)
    return Overview(
        subgroups=list(rows.values()),
        days=export_days(agency_id=agency_id, today=today),
        queue=_queue(),
    )


def _last_exports(agency_id: int) -> list[tuple[int, dt.datetime]]:
    return list(
        ExportAttempt.objects.filter(invoice__agency_id=agency_id, outcome=AttemptOutcome.SUCCESS)
        .values("invoice__subgroup_id")
        .annotate(last=Max("finished_at"))
        .values_list("invoice__subgroup_id", "last")
    )


def _problems(agency_id: int) -> list[tuple[int, Problem]]:
    """Failed and held invoices grouped by subgroup, status, message and the kind of failure of
    their newest attempt: one query."""
    newest_kind = (
        ExportAttempt.objects.filter(invoice=OuterRef("pk"))
        .order_by("-started_at", "-id")
        .values("error_kind")[:1]
    )
    grouped = (
        Invoice.objects.filter(
            agency_id=agency_id,
            export_hidden=False,
            export_status__in=[ExportStatus.FAILED, ExportStatus.HELD],
        )
        .annotate(failure_kind=Subquery(newest_kind))
        .values("subgroup_id", "export_status", "export_error", "failure_kind")
        .annotate(count=Count("pk"))
        .order_by("subgroup_id", "-count", "export_error")
    )
    return [
        (
            g["subgroup_id"],
            Problem(
                status=g["export_status"],
                message=g["export_error"] or "Ingen melding fra eksporten.",
                kind=g["failure_kind"] or "",
                count=g["count"],
            ),
        )
        for g in grouped
    ]


def _latest_per_subgroup(model: Any, agency_id: int, newest: str) -> list[Any]:
    return list(
        model.objects.filter(subgroup__agency_id=agency_id)
        .order_by("subgroup_id", newest, "-pk")
        .distinct("subgroup_id")
    )


def _add_payroll(rows: dict[int, SubgroupStatus], agency_id: int) -> None:
    labels = dict(PayrollExportStatus.choices)
    counts = (
        PayrollExport.objects.filter(agency_id=agency_id)
        .values("subgroup_id", "status")
        .annotate(count=Count("pk"))
        .order_by("subgroup_id", "status")
    )
    for c in counts:
        if c["subgroup_id"] in rows:
            rows[c["subgroup_id"]].payroll[labels.get(c["status"], c["status"])] = c["count"]
    latest = (
        PayrollExport.objects.filter(agency_id=agency_id)
        .order_by("subgroup_id", "-created_at", "-pk")
        .distinct("subgroup_id")
    )
    for export in latest:
        if export.subgroup_id in rows:
            rows[export.subgroup_id].payroll_last = export


def export_days(*, agency_id: int, today: dt.date | None = None) -> list[Day]:
    """Exports and failures per day over the last :data:`CHART_DAYS` days, oldest first, days
    without attempts included."""
    today = today or timezone.localdate()
    first = today - dt.timedelta(days=CHART_DAYS - 1)
    per_day = (
        ExportAttempt.objects.filter(invoice__agency_id=agency_id, started_at__date__gte=first)
        .annotate(day=TruncDate("started_at"))
        .values("day")
        .annotate(
            exported=Count("pk", filter=Q(outcome=AttemptOutcome.SUCCESS)),
            failed=Count("pk", filter=Q(outcome=AttemptOutcome.FAILED)),
        )
    )
    found: dict[dt.date, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for d in per_day:
        found[d["day"]] = (d["exported"], d["failed"])
    days = (first + dt.timedelta(days=i) for i in range(CHART_DAYS))
    return [Day(day, *found[day]) for day in days]


def _queue() -> QueueStatus | None:
    """The rate limiter's queue now, or None when it cannot be read (the page still shows)."""
    try:
        return rate_limit_queue()
    except Exception:  # a status page must not fail on the limiter's backend
        return None
