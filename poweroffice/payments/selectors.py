"""Reads of the payment check: which subgroups it runs for, their open invoices, and the
Betalingssjekk page's overview of runs per subgroup."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.utils import timezone

from accounting.models import ExportStatus, Invoice, PaymentStatus
from bitnet.models import Agency, Subgroup
from poweroffice.datadeling.selectors import connections_by_subgroup
from poweroffice.models import Connection, PaymentSyncRun

# A run not finished after this long is taken to have died (a worker killed mid-run).
STALE_AFTER = dt.timedelta(hours=1)
# What "unpaid" means on our side: not yet observed, unpaid or partly paid.
OPEN_STATUSES = (
    PaymentStatus.UNKNOWN,
    PaymentStatus.UNPAID,
    PaymentStatus.PARTLY_PAID,
    PaymentStatus.PARTLY_CREDITED,
)


def payments_connected_subgroups() -> QuerySet[Subgroup]:
    """Subgroups whose Datadeling is on and hold a client key."""
    return (
        Subgroup.objects.filter(
            poweroffice_connection__enabled=True,
            poweroffice_connection__client_key_encrypted__gt="",
        )
        .select_related("agency")
        .order_by("agency_id", "id")
    )


def payments_open_invoices(*, subgroup_id: int) -> QuerySet[Invoice]:
    """The subgroup's exported invoices that are not known to be settled."""
    return Invoice.objects.filter(
        subgroup_id=subgroup_id,
        export_status=ExportStatus.EXPORTED,
        payment_status__in=OPEN_STATUSES,
    )


def payments_is_running(*, subgroup: Subgroup) -> bool:
    return PaymentSyncRun.objects.filter(
        subgroup=subgroup,
        finished_at__isnull=True,
        started_at__gte=timezone.now() - STALE_AFTER,
    ).exists()


# --- the page -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


# The order the page counts exported invoices in: settled first, then open, then not yet seen.
SUMMARY_ORDER = (
    PaymentStatus.PAID,
    PaymentStatus.CREDITED,
    PaymentStatus.PARTLY_CREDITED,
    PaymentStatus.PARTLY_PAID,
    PaymentStatus.UNPAID,
    PaymentStatus.REVERSED,
    PaymentStatus.UNKNOWN,
)


@dataclass
class SubgroupPayments:
    subgroup: Subgroup
    connection: Connection | None
    runs: list[PaymentSyncRun]
    running: PaymentSyncRun | None
    last_failure: PaymentSyncRun | None
    status_counts: list[StatusCount]

    @property
    def connected(self) -> bool:
        c = self.connection
        return bool(c and c.enabled and c.client_key_encrypted)


def payments_overview(*, agency: Agency, runs_per_subgroup: int = 10) -> list[SubgroupPayments]:
    """Per subgroup of the agency: its connection, last runs, a running one, the failure to show
    (the latest finished run, if it failed)."""
    subgroups = list(Subgroup.objects.filter(agency=agency).order_by("name"))
    connections = connections_by_subgroup(agency_id=agency.pk)
    counts = payments_status_counts(subgroup_ids=[s.pk for s in subgroups])
    stale_before = timezone.now() - STALE_AFTER
    items: list[SubgroupPayments] = []
    for subgroup in subgroups:
        runs = list(
            PaymentSyncRun.objects.filter(subgroup=subgroup).order_by("-started_at", "-id")[
                :runs_per_subgroup
            ]
        )
        running = next(
            (r for r in runs if r.finished_at is None and r.started_at >= stale_before), None
        )
        finished = [r for r in runs if r.finished_at is not None and r.success is not None]
        last_failure = finished[0] if finished and finished[0].success is False else None
        items.append(
            SubgroupPayments(
                subgroup=subgroup,
                connection=connections.get(subgroup.pk),
                runs=runs,
                running=running,
                last_failure=last_failure,
                status_counts=counts.get(subgroup.pk, []),
            )
        )
    # Connected subgroups first, then by name.
    return sorted(items, key=lambda i: (not i.connected, i.subgroup.name))


def payments_status_counts(*, subgroup_ids: list[int]) -> dict[int, list[StatusCount]]:
    """Per subgroup: how many exported invoices and credit notes have each payment status (only
    the statuses that occur), in one query."""
    rows = (
        Invoice.objects.filter(subgroup_id__in=subgroup_ids, export_status=ExportStatus.EXPORTED)
        .values("subgroup_id", "payment_status")
        .annotate(n=Count("id"))
        .order_by()
    )
    found: dict[int, dict[str, int]] = {}
    for r in rows:
        found.setdefault(r["subgroup_id"], {})[r["payment_status"]] = r["n"]
    return {
        subgroup_id: [
            StatusCount(status=str(status), label=str(status.label), count=by_status[status])
            for status in SUMMARY_ORDER
            if by_status.get(status)
        ]
        for subgroup_id, by_status in found.items()
    }
