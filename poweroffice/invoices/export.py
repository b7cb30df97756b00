"""Exporting one invoice or credit note to PowerOffice Go as an outgoing invoice voucher.

SPEC Part A, items 3-6, 8 and 10. The rules that make an export happen exactly once:

- **Claim.** Work is claimed with one conditional UPDATE (``export_status`` in a claimable state
  -> ``EXPORTING``, ``export_claimed_at`` = now). Zero rows updated means someone else has it or it
  is done. Results are written back only while the claim is still ours (same ``export_claimed_at``).
- **Reference.** Every voucher carries a deterministic ``ExternalImportReference``
  (``bitnet-inv-<subgroup id>-<number>``, see voucher.py) and our invoice number, both unique per
  PowerOffice client, so PowerOffice itself refuses a second copy.
- **Look before sending again.** After an ambiguous failure (timeout or 5xx once the POST may have
  left) the client looks the voucher up before it retries; a later attempt of the same invoice, or
  the sweeper recovering a stale claim (worker killed), looks it up first too.
- **Nothing is lost.** Every attempt leaves a poweroffice.ExportAttempt row. Invoices that should
  have been exported and were not (broker down, worker killed, PowerOffice down) are picked up by
  the sweeper (sweep.py), which Celery beat runs every five minutes.

Many invoices at once ("Eksporter alle", the command line) are in batch.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounting.models import ExportStatus, Invoice, InvoiceLine, PaymentStatus
from accounting.pdf import invoice_specification_pdf, specification_filename
from bitnet.models import User
from poweroffice.alerts.hooks import export_failure_alert
from poweroffice.client.errors import NotFoundError, PowerOfficeError, ValidationError
from poweroffice.client.ratelimit import Lane
from poweroffice.crypto import SecretUnreadable
from poweroffice.datadeling.connection import NotConnected, connection_client
from poweroffice.datadeling.identity import KIND as CLIENT_CHANGED
from poweroffice.datadeling.identity import client_identity_confirm
from poweroffice.datadeling.selectors import connection_get
from poweroffice.invoices.customers import customer_ensure
from poweroffice.invoices.products import product_ensure
from poweroffice.invoices.refcache import KINDS
from poweroffice.invoices.reference import ExportCache, ExportProblem
from poweroffice.invoices.voucher import (
    PreparedVoucher,
    voucher_body,
    voucher_prepare,
    voucher_reference,
)
from poweroffice.messages import Context, error_answer
from poweroffice.models import AttemptOutcome, Connection, ExportAttempt

logger = logging.getLogger(__name__)
_OUTCOMES = {"exported": AttemptOutcome.SUCCESS, "held": AttemptOutcome.HELD}

CLAIMABLE = (
    ExportStatus.NOT_EXPORTED,
    ExportStatus.PENDING,
    ExportStatus.FAILED,
    ExportStatus.HELD,
)


@dataclass
class ExportResult:
    invoice_id: int
    outcome: str  # "exported", "failed", "held", "skipped"
    message: str = ""
    error_kind: str = ""
    retryable: bool = False
    voucher_id: str = ""
    voucher_no: int | None = None
    voucher_date: dt.date | None = None
    requests: int = 0
    number: int | None = None
    already_exported: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome == "exported" or self.already_exported


# --- the cache for one run -----------------------------------------------------------------------


def export_cache_for(
    connection: Connection | None, *, subgroup_name: str = "", lane: Lane = Lane.INTERACTIVE
) -> ExportCache:
    """A fresh reference-data cache (and client, in the rate limiter's ``lane``) for one
    subgroup's connection."""
    if connection is None or not connection.enabled:
        name = connection.subgroup.name if connection else subgroup_name
        raise ExportProblem(
            f"«PowerOffice som regnskapssystem» er ikke slått på for {name} – se "
            "Administrasjon > Datadeling.",
            kind="not_enabled",
        )
    try:
        client = connection_client(connection, lane=lane)
    except NotConnected as exc:
        raise ExportProblem(str(exc), kind="no_key") from None
    except SecretUnreadable as exc:
        raise ExportProblem(str(exc), kind="auth") from None
    try:
        client_identity_confirm(connection=connection, client=client)
    except BaseException:
        client.close()
        raise
    return ExportCache(connection=connection, client=client)


# --- sending -------------------------------------------------------------------------------------


@dataclass
class Booked:
    """The voucher PowerOffice holds for the invoice: its id, and its number and date once known."""

    id: str
    number: int | None = None
    date: dt.date | None = None

    @classmethod
    def of(cls, voucher: dict[str, Any]) -> Booked:
        """From an OutgoingInvoiceVoucherDto or OutgoingInvoiceDto (both carry VoucherNo and
        VoucherDate)."""
        number = voucher.get("VoucherNo")
        day = voucher.get("VoucherDate")
        return cls(
            id=str(voucher["Id"]),
            number=int(number) if number is not None else None,
            date=dt.date.fromisoformat(str(day)[:10]) if day else None,
        )


def _post_voucher(cache: ExportCache, invoice: Invoice, body: dict[str, Any]) -> Booked:
    client = cache.client
    reference = body["ExternalImportReference"]
    try:
        return Booked.of(client.create_outgoing_invoice_voucher(body))
    except ValidationError as exc:
        # Our own reference in use is the client's business (it finds our voucher). The number
        # taken may be by us too (another process, a moment ago, not readable yet) or by someone
        # else's voucher: look patiently before saying which.
        if not exc.names_in_use("InvoiceNo"):
            raise
        found = client.look_patiently(
            lambda: client.find_outgoing_invoice(invoice_no=invoice.number)
        )
        if found is None:
            raise
        if found.get("ExternalImportReference") == reference:
            return Booked.of(found)
        voucher_no = found.get("VoucherNo")
        raise ExportProblem(
            f"Fakturanummer {invoice.number} er allerede brukt av et annet bilag i PowerOffice"
            + (f" (bilagsnr. {voucher_no})" if voucher_no else "")
            + ". Kontroller fakturanummerserien under Administrasjon > Datadeling.",
            kind="invoice_number_taken",
        ) from None


def _create_voucher(
    invoice: Invoice, lines: list[InvoiceLine], prepared: PreparedVoucher, cache: ExportCache
) -> Booked:
    """Make sure the customer and the products exist in PowerOffice, then post the voucher."""
    customer = customer_ensure(cache=cache, customer=invoice.customer)
    product_ids: dict[int, int] = {}
    for line in lines:
        if line.article_id not in product_ids:
            product = product_ensure(cache=cache, article=line.article)
            product_ids[line.article_id] = int(product["Id"])
    body = voucher_body(
        invoice=invoice,
        prepared=prepared.lines,
        customer_account_id=int(customer["SubledgerAccountId"]),
        product_ids=product_ids,
        department_id=prepared.department_id,
        seller_id=prepared.seller_id,
    )
    return _post_voucher(cache, invoice, body)


def _keep_voucher(invoice: Invoice, booked: Booked) -> None:
    """Keep the voucher id (and number and date) at once: if the documentation fails after it,
    the next attempt only uploads it and never posts a second voucher."""
    if (booked.id, booked.number, booked.date) != (
        invoice.external_voucher_id,
        invoice.voucher_no,
        invoice.voucher_date,
    ):
        Invoice.objects.filter(pk=invoice.pk).update(
            external_voucher_id=booked.id, voucher_no=booked.number, voucher_date=booked.date
        )


def _upload_specification(invoice: Invoice, cache: ExportCache, voucher_id: str) -> None:
    pdf = cache.pdfs.take(invoice) if cache.pdfs else invoice_specification_pdf(invoice=invoice)
    try:
        cache.client.upload_voucher_documentation(voucher_id, pdf, specification_filename(invoice))
    except PowerOfficeError as exc:
        message, kind, retryable = error_answer(exc, context=Context.EXPORT)
        raise ExportProblem(
            "Bilaget er opprettet i PowerOffice, men fakturaspesifikasjonen ble ikke lastet "
            f"opp: {message}",
            kind=kind,
            retryable=retryable,
        ) from exc


# Which kind of reference data a field of a 404 on the voucher refers to (the problem details'
# "errors" name the field, e.g. "OutgoingInvoiceLines[0].ProductId").
_REFERENCE_FIELDS = {
    "AccountId": "accounts",
    "VatId": "vat_codes",
    "ProductId": "products",
    "CustomerAccountId": "customers",
    "SalesPersonEmployeeId": "employees",
    "DepartmentId": "departments",
}


def _stale_kinds(error: Exception) -> tuple[str, ...]:
    """The kinds of reference data that reading again might fix: those an ExportProblem was
    found in, or those a 404 on the voucher names (all of them when it names none)."""
    if isinstance(error, ExportProblem):
        return error.refresh
    if not isinstance(error, NotFoundError):
        return ()
    errors = error.body.get("errors") if isinstance(error.body, dict) else None
    fields = (
        {str(name).rsplit(".", 1)[-1] for name in (errors or {})}
        if isinstance(errors, dict)
        else set()
    )
    named = {_REFERENCE_FIELDS[name] for name in fields if name in _REFERENCE_FIELDS}
    return tuple(sorted(named)) or KINDS


def _book(
    invoice: Invoice, lines: list[InvoiceLine], cache: ExportCache, booked: Booked | None
) -> tuple[PreparedVoucher, Booked]:
    """Check the invoice against PowerOffice's reference data and post the voucher (unless it is
    there already). A problem with kept reference data, or a 404 on a kept id, reads that data
    again and tries once more."""
    for last_try in (False, True):
        try:
            prepared = voucher_prepare(invoice=invoice, lines=lines, cache=cache)
            if booked is None:
                booked = _create_voucher(invoice, lines, prepared, cache)
            return prepared, booked
        except (ExportProblem, NotFoundError) as exc:
            if last_try or not cache.refresh(_stale_kinds(exc)):
                raise
            reason = exc.kind if isinstance(exc, ExportProblem) else "404"
            logger.info("Invoice %s: reference data read again (%s)", invoice.pk, reason)
            cache.prefetch_invoices([invoice.pk])
    raise AssertionError("unreachable")


def _known_voucher(invoice: Invoice, cache: ExportCache, *, look_first: bool) -> Booked | None:
    """The voucher already in PowerOffice for the invoice: the one we kept, or (``look_first``)
    the one a lookup finds."""
    if invoice.external_voucher_id:
        return Booked(invoice.external_voucher_id, invoice.voucher_no, invoice.voucher_date)
    if look_first:
        found = cache.client.find_outgoing_invoice(
            invoice_no=invoice.number, external_import_reference=voucher_reference(invoice)
        )
        if found is not None:
            return Booked.of(found)
    return None


def _with_number(booked: Booked, cache: ExportCache) -> Booked:
    """The voucher with its number and date, read from PowerOffice when not known yet."""
    if booked.number is not None and booked.date is not None:
        return booked
    read = Booked.of(cache.client.get_outgoing_invoice_voucher(booked.id))
    return Booked(booked.id, read.number or booked.number, read.date or booked.date)


def _export_to_poweroffice(invoice: Invoice, cache: ExportCache, *, look_first: bool) -> Booked:
    """Send one claimed invoice; return its voucher. Raises ExportProblem/PowerOfficeError."""
    lines = list(
        invoice.lines.select_related("article__account", "account", "vat_code").order_by("position")
    )
    if not lines:
        raise ExportProblem(f"Faktura {invoice.number} har ingen linjer.", kind="empty")
    _, booked = _book(invoice, lines, cache, _known_voucher(invoice, cache, look_first=look_first))
    booked = _with_number(booked, cache)
    if cache.connection.include_specification:
        _keep_voucher(invoice, booked)
        _upload_specification(invoice, cache, booked.id)
    return booked


# --- one invoice ---------------------------------------------------------------------------------


def _claim(invoice_id: int, *, now: dt.datetime, stale_before: dt.datetime | None) -> bool:
    """Take the invoice (or, for the sweeper, an EXPORTING claim older than ``stale_before``)."""
    if stale_before is not None:
        claimed = Invoice.objects.filter(
            pk=invoice_id,
            export_status=ExportStatus.EXPORTING,
            export_claimed_at__lt=stale_before,
        ).update(export_claimed_at=now, export_attempts=F("export_attempts") + 1)
    else:
        claimed = Invoice.objects.filter(pk=invoice_id, export_status__in=CLAIMABLE).update(
            export_status=ExportStatus.EXPORTING,
            export_claimed_at=now,
            export_attempts=F("export_attempts") + 1,
        )
    return bool(claimed)


def _skip_result(invoice_id: int) -> ExportResult:
    row = Invoice.objects.filter(pk=invoice_id).values("export_status", "number").first()
    if row is None:
        return ExportResult(invoice_id, "skipped", message="Fakturaen finnes ikke.")
    status = row["export_status"]
    if status == ExportStatus.EXPORTED:
        return ExportResult(
            invoice_id,
            "skipped",
            message=f"Faktura {row['number']} er allerede eksportert.",
            number=row["number"],
            already_exported=True,
        )
    return ExportResult(
        invoice_id,
        "skipped",
        message=f"Faktura {row['number']} eksporteres allerede.",
        number=row["number"],
    )


def _close_interrupted(invoice_id: int, *, current: ExportAttempt, now: dt.datetime) -> None:
    """The attempt that held a stale claim never finished (its worker died): say so."""
    ExportAttempt.objects.filter(invoice_id=invoice_id, outcome=AttemptOutcome.RUNNING).exclude(
        pk=current.pk
    ).update(
        outcome=AttemptOutcome.FAILED,
        error="Avbrutt underveis (prosessen stoppet). PowerOffice ble sjekket før nytt forsøk.",
        error_kind="interrupted",
        finished_at=now,
    )


def _may_have_arrived(invoice: Invoice, current: ExportAttempt) -> bool:
    """Whether a previous attempt may have reached PowerOffice without us hearing the answer: one
    that never finished (worker killed) or ended in a transient or unexpected error."""
    return (
        invoice.export_attempts > 1
        and ExportAttempt.objects.filter(invoice_id=invoice.pk)
        .exclude(pk=current.pk)
        .filter(
            Q(outcome=AttemptOutcome.RUNNING)
            | Q(retryable=True)
            | Q(error_kind__in=["internal", "interrupted"])
        )
        .exists()
    )


def _run(
    invoice: Invoice, *, attempt: ExportAttempt, cache: ExportCache | None, stale: bool
) -> ExportResult:
    """Send the claimed invoice; every failure becomes the result's message, none is raised."""
    own_cache = cache is None
    requests_before = cache.client.stats.requests if cache is not None else 0
    result = ExportResult(invoice.pk, "failed", number=invoice.number)
    try:
        if cache is None:
            connection = connection_get(subgroup_id=invoice.subgroup_id)
            cache = export_cache_for(connection, subgroup_name=invoice.subgroup.name)
            # What the invoice lacks, in one request per kind rather than one per line.
            cache.prefetch_invoices([invoice.pk])
        elif cache.subgroup_id != invoice.subgroup_id:
            raise ValueError("the cache belongs to another subgroup")
        look_first = stale or _may_have_arrived(invoice, attempt)
        booked = _export_to_poweroffice(invoice, cache, look_first=look_first)
        result.voucher_id, result.voucher_no, result.voucher_date = (
            booked.id,
            booked.number,
            booked.date,
        )
        result.outcome = "exported"
    except Exception as exc:  # every failure is recorded; unexpected ones are logged in full
        if not isinstance(exc, ExportProblem | PowerOfficeError | NotConnected | SecretUnreadable):
            logger.exception("Export of invoice %s failed unexpectedly", invoice.pk)
        else:
            logger.info("Export of invoice %s failed: %s", invoice.pk, type(exc).__name__)
        result.message, result.error_kind, result.retryable = error_answer(
            exc, context=Context.EXPORT
        )
        if result.error_kind == CLIENT_CHANGED:
            result.outcome = "held"
    finally:
        if cache is not None:
            result.requests = cache.client.stats.requests - requests_before
            if own_cache:
                cache.client.close()
    return result


def _record(
    invoice: Invoice,
    *,
    attempt: ExportAttempt,
    result: ExportResult,
    claimed_at: dt.datetime,
    duration_ms: int,
) -> None:
    """Write the outcome to the invoice (only while the claim is still ours) and its attempt."""
    finished = timezone.now()
    mine = Invoice.objects.filter(
        pk=invoice.pk, export_status=ExportStatus.EXPORTING, export_claimed_at=claimed_at
    )
    exported = result.outcome == "exported"
    if exported:
        updated = mine.update(
            export_status=ExportStatus.EXPORTED,
            exported_at=finished,
            export_error="",
            external_voucher_id=result.voucher_id,
            voucher_no=result.voucher_no,
            voucher_date=result.voucher_date,
            payment_status=PaymentStatus.UNPAID,
            balance=F("gross_total"),
        )
        result.message = (
            f"{invoice.get_kind_display()} {invoice.number} er eksportert til PowerOffice."
        )
    else:
        status = ExportStatus.HELD if result.outcome == "held" else ExportStatus.FAILED
        updated = mine.update(export_status=status, export_error=result.message)
        if updated and status == ExportStatus.FAILED and not result.retryable:
            export_failure_alert(invoice, kind=result.error_kind, message=result.message)
    if not updated:
        logger.warning("Invoice %s: the export claim was taken over before it finished", invoice.pk)
    ExportAttempt.objects.filter(pk=attempt.pk).update(
        outcome=_OUTCOMES.get(result.outcome, AttemptOutcome.FAILED),
        error="" if exported else result.message,
        error_kind=result.error_kind,
        retryable=result.retryable,
        duration_ms=duration_ms,
        requests=result.requests,
        finished_at=finished,
    )


def invoice_export(
    *,
    invoice_id: int,
    trigger: str,
    user: User | None = None,
    cache: ExportCache | None = None,
    stale_before: dt.datetime | None = None,
) -> ExportResult:
    """Export one invoice or credit note to PowerOffice, at most once.

    ``cache`` is the run's reference data (one per subgroup); without it a fresh one is made.
    ``stale_before`` is for the sweeper: take over an EXPORTING claim older than that (its worker
    died), and ask PowerOffice first whether the voucher got there.
    """
    now = timezone.now()
    # The claim and its attempt row commit together: a process killed between them leaves
    # neither, never a claimed invoice with no attempt saying what happened to it.
    with transaction.atomic():
        if not _claim(invoice_id, now=now, stale_before=stale_before):
            return _skip_result(invoice_id)
        invoice = Invoice.objects.select_related(
            "agency", "subgroup", "office", "customer", "created_by", "credited_invoice"
        ).get(pk=invoice_id)
        attempt = ExportAttempt.objects.create(invoice=invoice, trigger=trigger, user=user)
        if stale_before is not None:
            _close_interrupted(invoice_id, current=attempt, now=now)
    started = time.monotonic()
    result = _run(invoice, attempt=attempt, cache=cache, stale=stale_before is not None)
    duration_ms = int((time.monotonic() - started) * 1000)
    _record(invoice, attempt=attempt, result=result, claimed_at=now, duration_ms=duration_ms)
    return result
