"""Exporting invoices and credit notes to PowerOffice Go as outgoing invoice vouchers.

SPEC Part A, items 3-6, 8 and 10. The rules that make an export happen exactly once:

- **Claim.** Work is claimed with one conditional UPDATE (``export_status`` in a claimable state
  -> ``EXPORTING``, ``export_claimed_at`` = now). Zero rows updated means someone else has it or it
  is done. Results are written back only while the claim is still ours (same ``export_claimed_at``).
- **Reference.** Every voucher carries a deterministic ``ExternalImportReference``
  (``bitnet-inv-<subgroup id>-<number>``) and our invoice number, both unique per PowerOffice
  client, so PowerOffice itself refuses a second copy.
- **Look before sending again.** After an ambiguous failure (timeout or 5xx once the POST may have
  left) the client looks the voucher up before it retries; a later attempt of the same invoice, or
  the sweeper recovering a stale claim (worker killed), looks it up first too.
- **Nothing is lost.** Every attempt leaves a poweroffice.ExportAttempt row. Invoices that should
  have been exported and were not (broker down, worker killed, PowerOffice down) are picked up by
  :func:`export_sweep`, which Celery beat runs every five minutes.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from accounting.models import ExportStatus, Invoice, InvoiceLine, PaymentStatus
from accounting.pdf import invoice_specification_pdf, specification_filename
from bitnet.models import User
from poweroffice.crypto import SecretUnreadable
from poweroffice.client.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InvalidClientError,
    InvalidDocumentError,
    NotFoundError,
    PowerOfficeError,
    TransientError,
    ValidationError,
)
from poweroffice.models import (
    AttemptOutcome,
    AttemptTrigger,
    Connection,
    ExportAttempt,
    ExportBatch,
)
from poweroffice.datadeling.connection import NotConnected, connection_client
from poweroffice.invoices.customers import customer_ensure
from poweroffice.invoices.products import product_code, product_ensure
from poweroffice.invoices.reference import ExportCache, ExportProblem

logger = logging.getLogger(__name__)

CLAIMABLE = (
    ExportStatus.NOT_EXPORTED,
    ExportStatus.PENDING,
    ExportStatus.FAILED,
    ExportStatus.HELD,
)

TRANSIENT_MESSAGE = "PowerOffice svarer ikke akkurat nå – prøves igjen automatisk."
AUTH_MESSAGE = (
    "Klientnøkkelen er ugyldig eller trukket tilbake – legg inn en ny under "
    "Administrasjon > Datadeling."
)
HELD_DEFAULT = (
    "Holdt tilbake: forutsetningene for PowerOffice er ikke oppfylt. Se sjekklisten under "
    "Administrasjon > Datadeling."
)

# After this many transient failures in a row, a run stops asking PowerOffice (it is down or
# throttling hard); the rest of the run is left for the sweeper.
TRANSIENT_STREAK_LIMIT = 3


def _setting(name: str, default):
    return getattr(settings, name, default)


@dataclass
class ExportResult:
    invoice_id: int
    outcome: str  # "exported", "failed", "held", "skipped"
    message: str = ""
    error_kind: str = ""
    retryable: bool = False
    voucher_id: str = ""
    requests: int = 0
    number: int | None = None
    already_exported: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome == "exported" or self.already_exported


@dataclass
class ExportSummary:
    exported: list[ExportResult] = field(default_factory=list)
    failed: list[ExportResult] = field(default_factory=list)
    skipped: list[ExportResult] = field(default_factory=list)
    requests: int = 0

    def add(self, result: ExportResult) -> None:
        if result.outcome == "exported":
            self.exported.append(result)
        elif result.outcome in ("failed", "held"):
            self.failed.append(result)
        else:
            self.skipped.append(result)

    @property
    def total(self) -> int:
        return len(self.exported) + len(self.failed) + len(self.skipped)


# --- references ---------------------------------------------------------------------------------


def voucher_reference(invoice: Invoice) -> str:
    """The voucher's ExternalImportReference: the same for every attempt of one invoice."""
    return f"bitnet-inv-{invoice.subgroup_id}-{invoice.number}"


def matching_reference(invoice: Invoice) -> str:
    """CustomMatchingReference: a credit note carries its invoice's, so PowerOffice matches the two
    in the customer's sub-ledger at once (entries with the same reference and opposite amounts)."""
    original = invoice.credited_invoice if invoice.is_credit_note else invoice
    return f"bitnet-inv-{original.subgroup_id}-{original.number}"


# --- errors in plain Norwegian -------------------------------------------------------------------

_ACCOUNT_RE = re.compile(r"account\w*\D{0,40}?(\d{4,6})", re.IGNORECASE)
_VAT_RE = re.compile(r"vat\s*(?:code|id)?\D{0,20}?(\d{1,3})\b", re.IGNORECASE)


def describe_export_error(exc: BaseException) -> tuple[str, str, bool]:
    """(message, kind, retryable) for a failed export: words a finance person understands.

    Built from our own texts and PowerOffice's problem details (which the client has already
    scrubbed of keys and tokens); never from request headers.
    """
    if isinstance(exc, ExportProblem):
        return exc.message, exc.kind, exc.retryable
    if isinstance(exc, NotConnected):
        return str(exc), "no_key", False
    if isinstance(exc, SecretUnreadable):
        return str(exc), "auth", False
    if isinstance(exc, TransientError):
        return TRANSIENT_MESSAGE, "transient", True
    if isinstance(exc, InvalidClientError | AuthenticationError):
        return AUTH_MESSAGE, "auth", False
    if isinstance(exc, ForbiddenError):
        return (
            "PowerOffice gir ikke integrasjonen tilgang (rettighet eller modul mangler). "
            "Kontroller utvidelsen under Innstillinger > Utvidelser i PowerOffice.",
            "forbidden",
            False,
        )
    if isinstance(exc, InvalidDocumentError):
        return (
            "Fakturaspesifikasjonen kunne ikke sendes til PowerOffice "
            f"({exc.detail or exc.title}).",
            "document",
            False,
        )
    if isinstance(exc, PowerOfficeError):
        text = " ".join(str(p) for p in (exc.title, exc.detail) if p)
        lowered = text.lower()
        missing = any(w in lowered for w in ("not found", "does not exist", "unknown", "invalid"))
        if missing and "account" in lowered and (m := _ACCOUNT_RE.search(text)):
            return f"Konto {m.group(1)} finnes ikke i PowerOffice.", "account_missing", False
        if missing and "vat" in lowered and (m := _VAT_RE.search(text)):
            return f"MVA-kode {m.group(1)} mangler i PowerOffice.", "vat_missing", False
        if isinstance(exc, NotFoundError):
            return (
                f"PowerOffice finner ikke noe fakturaen viser til: {text or 'ukjent'}.",
                "not_found",
                False,
            )
        if isinstance(exc, ConflictError):
            return (
                f"PowerOffice avviste fakturaen fordi noe er låst eller i bruk: {text}.",
                "conflict",
                False,
            )
        if isinstance(exc, ValidationError):
            return f"PowerOffice avviste fakturaen: {text or 'ugyldige data'}.", "rejected", False
        return f"PowerOffice svarte med en feil: {text or exc.status}.", "error", False
    return (
        "Uventet feil i Bitnet under eksporten. Prøv igjen; vedvarer feilen, kontakt Bitnet.",
        "internal",
        False,
    )


# --- the cache for one run -----------------------------------------------------------------------


def export_cache_for(connection: Connection | None, *, subgroup_name: str = "") -> ExportCache:
    """A fresh reference-data cache (and client) for one subgroup's connection."""
    if connection is None or not connection.enabled:
        name = connection.subgroup.name if connection else subgroup_name
        raise ExportProblem(
            f"«PowerOffice som regnskapssystem» er ikke slått på for {name} – se "
            "Administrasjon > Datadeling.",
            kind="not_enabled",
        )
    try:
        client = connection_client(connection)
    except NotConnected as exc:
        raise ExportProblem(str(exc), kind="no_key") from None
    except SecretUnreadable as exc:
        raise ExportProblem(str(exc), kind="auth") from None
    return ExportCache(connection=connection, client=client)


def _prefetch(cache: ExportCache, invoice_ids: list[int]) -> None:
    """Read every id a list of invoices will need, in one request per kind."""
    lines = InvoiceLine.objects.filter(invoice_id__in=invoice_ids).values_list(
        "account__number", "article_id"
    )
    accounts: set[int] = set()
    articles: set[int] = set()
    for number, article_id in lines.distinct():
        accounts.add(number)
        articles.add(article_id)
    heads = Invoice.objects.filter(pk__in=invoice_ids).values_list(
        "customer__number", "created_by__employee_number"
    )
    customers: set[int] = set()
    employees: set[int] = set()
    for customer_number, employee_number in heads.distinct():
        customers.add(customer_number)
        if employee_number:
            employees.add(employee_number)
    cache.prefetch(
        account_numbers=accounts,
        product_codes=[product_code(a) for a in articles],
        customer_numbers=customers,
        employee_numbers=employees if cache.connection.include_employee_number else (),
    )


# --- the voucher ---------------------------------------------------------------------------------


@dataclass
class _PreparedLine:
    line: InvoiceLine
    account_id: int
    vat_id: int


def _prepare(invoice: Invoice, lines: list[InvoiceLine], cache: ExportCache):
    """Check everything that can be checked before anything is written in PowerOffice."""
    connection = cache.connection
    if invoice.is_credit_note and invoice.credited_invoice.export_status != ExportStatus.EXPORTED:
        # Book the credit note after its invoice, so PowerOffice can match the two at once.
        raise ExportProblem(
            f"Kreditnotaen krediterer faktura {invoice.credited_invoice.number}, som ikke er "
            "eksportert ennå. Eksporter fakturaen først; kreditnotaen prøves igjen automatisk.",
            kind="original_not_exported",
            retryable=True,
        )
    prepared = []
    for line in lines:
        account = cache.account(line.account.number)
        vat_id = cache.vat_id(code=line.vat_code.code, rate=line.vat_rate, on=invoice.invoice_date)
        locked_to = account.get("VatCodeId")
        if account.get("IsVatCodeLocked") and locked_to is not None and locked_to != vat_id:
            raise ExportProblem(
                f"Konto {line.account.number} er låst til MVA-kode "
                f"{cache.vat_code_of_id(locked_to)} i PowerOffice, men linjen «{line.description}» "
                f"har MVA-kode {line.vat_code.code}. Rett kontoen eller MVA-koden på varen.",
                kind="account_vat_locked",
            )
        prepared.append(_PreparedLine(line=line, account_id=int(account["Id"]), vat_id=vat_id))

    department_id = None
    code = invoice.office.external_department_code
    if connection.include_department and code:
        department_id = cache.department_id(code)
    if department_id is None:
        for item in prepared:
            if cache.account(item.line.account.number).get("IsDepartmentRequired"):
                raise ExportProblem(
                    f"Konto {item.line.account.number} krever avdeling i PowerOffice, men byrå "
                    f"{invoice.office.name} har ingen ekstern avdeling. Velg den under "
                    "Administrasjon > Byrå og slå på «Send med avdeling for fakturaer».",
                    kind="department_required",
                )

    seller_id = None
    number = invoice.created_by.employee_number
    if connection.include_employee_number and number:
        employee = cache.employee(number)
        if employee is None:
            raise ExportProblem(
                f"Ansattnr {number} ({invoice.created_by}) finnes ikke i PowerOffice. Rett "
                "«Ansettelsesnr. (PowerOffice)» for brukeren under Administrasjon > Brukere.",
                kind="employee_missing",
            )
        seller_id = int(employee["Id"])
    return prepared, department_id, seller_id


def voucher_body(
    *,
    invoice: Invoice,
    prepared: list[_PreparedLine],
    customer_account_id: int,
    product_ids: dict[int, int],
    department_id: int | None,
    seller_id: int | None,
) -> dict:
    """OutgoingInvoiceVoucherDto's writable fields for one invoice or credit note.

    Net or gross: the header's CurrencyAmount is "the total amount of the outgoing voucher", the
    customer's receivable, i.e. the amount to pay including VAT. Each line's CurrencyAmount is "the
    amount on the line" together with its VatId, and PowerOffice (like its own voucher entry)
    derives the VAT from a VAT-inclusive line amount. So lines carry their gross amount (net + VAT,
    each rounded once by us), and the lines add up exactly to the header, our gross total: the
    voucher balances without PowerOffice rounding anything of ours. The line amount is always
    Bitnet's price x quantity, whatever the product's price in PowerOffice (SPEC Part A, item 10).

    A credit note is a voucher with negative amounts and quantities; it refers to the credited
    invoice through its description and CustomMatchingReference.
    """
    if invoice.is_credit_note:
        description = (
            f"Kreditnota {invoice.number} for faktura {invoice.credited_invoice.number} – "
            f"{invoice.customer.name}"
        )
    else:
        description = f"Faktura {invoice.number} – {invoice.customer.name}"
    lines = []
    for item in prepared:
        line = item.line
        body_line = {
            "AccountId": item.account_id,
            "VatId": item.vat_id,
            "ProductId": product_ids[line.article_id],
            "Quantity": line.quantity,
            "CurrencyAmount": line.gross_amount,
            "Description": line.description[:250],
        }
        if department_id:
            body_line["DepartmentId"] = department_id
        lines.append(body_line)
    body = {
        "InvoiceNo": str(invoice.number),
        "ExternalImportReference": voucher_reference(invoice),
        "VoucherDate": invoice.invoice_date,
        "DueDate": invoice.due_date,
        "Cid": invoice.kid or None,
        "CurrencyCode": "NOK",
        "CurrencyAmount": invoice.gross_total,
        "CustomerAccountId": customer_account_id,
        "CustomerReference": invoice.their_reference or None,
        "Description": description[:250],
        "CustomMatchingReference": matching_reference(invoice),
        "DepartmentId": department_id,
        "SalesPersonEmployeeId": seller_id,
        "OutgoingInvoiceLines": lines,
    }
    return {k: v for k, v in body.items() if v is not None}


def _post_voucher(cache: ExportCache, invoice: Invoice, body: dict) -> str:
    client = cache.client
    reference = body["ExternalImportReference"]
    try:
        voucher = client.create_outgoing_invoice_voucher(body)
        return str(voucher["Id"])
    except ValidationError:
        # The number or the reference may already be taken: by us (an earlier attempt that got
        # through after all) or by someone else.
        found = client.find_outgoing_invoice(invoice_no=invoice.number)
        if found is None:
            raise
        if found.get("ExternalImportReference") == reference:
            return str(found["Id"])
        voucher_no = found.get("VoucherNo")
        raise ExportProblem(
            f"Fakturanummer {invoice.number} er allerede brukt av et annet bilag i PowerOffice"
            + (f" (bilagsnr. {voucher_no})" if voucher_no else "")
            + ". Kontroller fakturanummerserien under Administrasjon > Datadeling.",
            kind="invoice_number_taken",
        ) from None


def _export_to_poweroffice(invoice: Invoice, cache: ExportCache, *, look_first: bool) -> str:
    """Send one claimed invoice; return the voucher id. Raises ExportProblem/PowerOfficeError."""
    lines = list(
        invoice.lines.select_related("article__account", "account", "vat_code").order_by("position")
    )
    if not lines:
        raise ExportProblem(f"Faktura {invoice.number} har ingen linjer.", kind="empty")
    prepared, department_id, seller_id = _prepare(invoice, lines, cache)
    client = cache.client
    voucher_id = invoice.external_voucher_id
    if not voucher_id and look_first:
        found = client.find_outgoing_invoice(
            invoice_no=invoice.number, external_import_reference=voucher_reference(invoice)
        )
        if found is not None:
            voucher_id = str(found["Id"])
    if not voucher_id:
        customer = customer_ensure(cache=cache, customer=invoice.customer)
        product_ids = {}
        for line in lines:
            if line.article_id not in product_ids:
                product_ids[line.article_id] = int(
                    product_ensure(cache=cache, article=line.article)["Id"]
                )
        body = voucher_body(
            invoice=invoice,
            prepared=prepared,
            customer_account_id=int(customer["SubledgerAccountId"]),
            product_ids=product_ids,
            department_id=department_id,
            seller_id=seller_id,
        )
        voucher_id = _post_voucher(cache, invoice, body)
    if cache.connection.include_specification:
        # Keep the voucher id at once: if the documentation fails below, the next attempt only
        # uploads it and never posts a second voucher.
        if voucher_id != invoice.external_voucher_id:
            Invoice.objects.filter(pk=invoice.pk).update(external_voucher_id=voucher_id)
        pdf = cache.pdfs.take(invoice) if cache.pdfs else invoice_specification_pdf(invoice=invoice)
        try:
            client.upload_voucher_documentation(voucher_id, pdf, specification_filename(invoice))
        except PowerOfficeError as exc:
            message, kind, retryable = describe_export_error(exc)
            raise ExportProblem(
                "Bilaget er opprettet i PowerOffice, men fakturaspesifikasjonen ble ikke lastet "
                f"opp: {message}",
                kind=kind,
                retryable=retryable,
            ) from exc
    return voucher_id


# --- one invoice ---------------------------------------------------------------------------------


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
    if not claimed:
        return _skip_result(invoice_id)

    invoice = Invoice.objects.select_related(
        "agency", "subgroup", "office", "customer", "created_by", "credited_invoice"
    ).get(pk=invoice_id)
    attempt = ExportAttempt.objects.create(invoice=invoice, trigger=trigger, user=user)
    if stale_before is not None:
        # The attempt that held the stale claim never finished (its worker died): say so.
        ExportAttempt.objects.filter(invoice_id=invoice_id, outcome=AttemptOutcome.RUNNING).exclude(
            pk=attempt.pk
        ).update(
            outcome=AttemptOutcome.FAILED,
            error="Avbrutt underveis (prosessen stoppet). PowerOffice ble sjekket før nytt forsøk.",
            error_kind="interrupted",
            finished_at=now,
        )
    started = time.monotonic()
    own_cache = cache is None
    requests_before = cache.client.stats.requests if cache is not None else 0
    result = ExportResult(invoice_id, "failed", number=invoice.number)
    try:
        if cache is None:
            connection = Connection.objects.filter(subgroup_id=invoice.subgroup_id).first()
            cache = export_cache_for(connection, subgroup_name=invoice.subgroup.name)
        elif cache.subgroup_id != invoice.subgroup_id:
            raise ValueError("the cache belongs to another subgroup")
        # A previous attempt may have reached PowerOffice without us hearing the answer: one
        # that never finished (worker killed) or ended in a transient or unexpected error.
        look_first = stale_before is not None or (
            invoice.export_attempts > 1
            and ExportAttempt.objects.filter(invoice_id=invoice_id)
            .exclude(pk=attempt.pk)
            .filter(
                Q(outcome=AttemptOutcome.RUNNING)
                | Q(retryable=True)
                | Q(error_kind__in=["internal", "interrupted"])
            )
            .exists()
        )
        result.voucher_id = _export_to_poweroffice(invoice, cache, look_first=look_first)
        result.outcome = "exported"
    except Exception as exc:  # every failure is recorded; unexpected ones are logged in full
        if not isinstance(exc, ExportProblem | PowerOfficeError | NotConnected | SecretUnreadable):
            logger.exception("Export of invoice %s failed unexpectedly", invoice_id)
        else:
            logger.info("Export of invoice %s failed: %s", invoice_id, type(exc).__name__)
        result.message, result.error_kind, result.retryable = describe_export_error(exc)
    finally:
        if cache is not None:
            result.requests = cache.client.stats.requests - requests_before
            if own_cache:
                cache.client.close()

    duration_ms = int((time.monotonic() - started) * 1000)
    finished = timezone.now()
    mine = Invoice.objects.filter(
        pk=invoice_id, export_status=ExportStatus.EXPORTING, export_claimed_at=now
    )
    if result.outcome == "exported":
        updated = mine.update(
            export_status=ExportStatus.EXPORTED,
            exported_at=finished,
            export_error="",
            external_voucher_id=result.voucher_id,
            payment_status=PaymentStatus.UNPAID,
            balance=F("gross_total"),
        )
        result.message = (
            f"{invoice.get_kind_display()} {invoice.number} er eksportert til PowerOffice."
        )
    else:
        updated = mine.update(export_status=ExportStatus.FAILED, export_error=result.message)
    if not updated:
        logger.warning("Invoice %s: the export claim was taken over before it finished", invoice_id)
    ExportAttempt.objects.filter(pk=attempt.pk).update(
        outcome=AttemptOutcome.SUCCESS if result.outcome == "exported" else AttemptOutcome.FAILED,
        error=result.message if result.outcome != "exported" else "",
        error_kind=result.error_kind,
        retryable=result.retryable,
        duration_ms=duration_ms,
        requests=result.requests,
        finished_at=finished,
    )
    return result


class PdfPipeline:
    """Renders the specification PDFs of a run a few invoices ahead, in one background thread.

    WeasyPrint is CPU work and the export mostly waits on PowerOffice (latency and the rate
    limit), so rendering the next PDFs while this invoice's requests are in flight roughly halves
    the time of a batch with "Send med fakturaspesifikasjon". Invoices are immutable once
    created, so a PDF rendered before the claim is the same as one rendered after it.
    """

    DEPTH = 2

    def __init__(self, invoice_ids: list[int]) -> None:
        self.ids = invoice_ids
        self.futures: dict[int, Future] = {}
        self.scheduled = 0
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-pdf")

    @classmethod
    def start(cls, invoice_ids: list[int]) -> PdfPipeline | None:
        # A thread has its own database connection: it cannot see rows of a transaction that
        # has not committed (as in a test wrapped in one), so inside one the PDF is made inline.
        if transaction.get_connection().in_atomic_block or len(invoice_ids) < 2:
            return None
        return cls(invoice_ids)

    @staticmethod
    def _render(invoice_id: int) -> bytes:
        invoice = Invoice.objects.select_related(
            "agency", "subgroup", "office", "customer", "credited_invoice"
        ).get(pk=invoice_id)
        return invoice_specification_pdf(invoice=invoice)

    def advance(self, position: int) -> None:
        """Make sure the PDFs of ``ids[position : position + DEPTH]`` are on their way."""
        while self.scheduled < min(len(self.ids), position + self.DEPTH):
            invoice_id = self.ids[self.scheduled]
            self.futures[invoice_id] = self.executor.submit(self._render, invoice_id)
            self.scheduled += 1

    def take(self, invoice: Invoice) -> bytes:
        future = self.futures.pop(invoice.pk, None)
        if future is not None:
            try:
                return future.result()
            except Exception:  # rendered again below, where a failure is recorded as usual
                logger.warning("Background PDF of invoice %s failed", invoice.pk, exc_info=True)
        return invoice_specification_pdf(invoice=invoice)

    def close(self) -> None:
        for future in self.futures.values():
            future.cancel()
        # The thread's database connection is closed by the thread itself.
        self.executor.submit(connections.close_all).result()
        self.executor.shutdown(wait=True)


# --- many invoices -------------------------------------------------------------------------------


def invoices_export(
    *,
    invoice_ids: Iterable[int],
    trigger: str,
    user: User | None = None,
    on_result: Callable[[ExportResult], None] | None = None,
    stale_before: dt.datetime | None = None,
) -> ExportSummary:
    """Export many invoices, one reference-data cache per subgroup for the whole run."""
    summary = ExportSummary()
    ids = list(dict.fromkeys(int(i) for i in invoice_ids))
    by_subgroup: dict[int, list[int]] = defaultdict(list)
    for pk, subgroup_id in (
        Invoice.objects.filter(pk__in=ids)
        .order_by("subgroup_id", "number")
        .values_list("pk", "subgroup_id")
    ):
        by_subgroup[subgroup_id].append(pk)
    connections = {
        c.subgroup_id: c
        for c in Connection.objects.select_related("subgroup").filter(
            subgroup_id__in=by_subgroup.keys()
        )
    }
    for subgroup_id, subgroup_ids in by_subgroup.items():
        cache: ExportCache | None = None
        try:
            cache = export_cache_for(connections.get(subgroup_id))
        except ExportProblem:
            cache = None  # each invoice records the reason in its own attempt
        try:
            if cache is not None:
                try:
                    _prefetch(cache, subgroup_ids)
                except PowerOfficeError as exc:
                    # Not fatal: each invoice asks again for what it lacks and records a failure.
                    logger.info(
                        "Prefetch for subgroup %s failed: %s", subgroup_id, type(exc).__name__
                    )
            if cache is not None and cache.connection.include_specification:
                cache.pdfs = PdfPipeline.start(subgroup_ids)
            streak = 0
            for position, invoice_id in enumerate(subgroup_ids):
                if cache is not None and cache.pdfs:
                    cache.pdfs.advance(position)
                result = invoice_export(
                    invoice_id=invoice_id,
                    trigger=trigger,
                    user=user,
                    cache=cache,
                    stale_before=stale_before,
                )
                summary.add(result)
                if on_result:
                    on_result(result)
                streak = streak + 1 if result.error_kind == "transient" else 0
                if streak >= TRANSIENT_STREAK_LIMIT and position + 1 < len(subgroup_ids):
                    # PowerOffice is down: leave the rest waiting for the sweeper.
                    for rest_id in subgroup_ids[position + 1 :]:
                        rest = ExportResult(rest_id, "skipped", message=TRANSIENT_MESSAGE)
                        rest.error_kind = "transient"
                        summary.add(rest)
                        if on_result:
                            on_result(rest)
                    break
        finally:
            if cache is not None:
                if cache.pdfs:
                    cache.pdfs.close()
                summary.requests += cache.client.stats.requests
                cache.client.close()
    return summary


# --- automatic export ----------------------------------------------------------------------------


def prerequisites_reason(connection: Connection) -> str:
    """Why a subgroup's automatic exports are held back, from the validation's last result."""
    try:
        from poweroffice.chart.services import prerequisites_hold_reason
    except ImportError:  # pragma: no cover - the validation part is optional
        prerequisites_hold_reason = None
    if prerequisites_hold_reason is not None:
        reason = prerequisites_hold_reason(connection)
        if reason:
            return reason
    checks = connection.prerequisites if isinstance(connection.prerequisites, list) else []
    failed = [
        str(c.get("title") or c.get("message"))
        for c in checks
        if isinstance(c, dict) and c.get("status") == "error"
    ]
    if not failed:
        return HELD_DEFAULT
    return (
        "Automatisk eksport er holdt tilbake fordi forutsetningene for PowerOffice ikke er "
        f"oppfylt: {', '.join(failed).lower()}. Se Administrasjon > Datadeling."
    )


def invoice_queue_export(*, invoice_id: int) -> str:
    """React to a committed invoice (accounting.hooks.invoice_committed).

    If its subgroup exports automatically, mark it PENDING and enqueue the task; if the
    subgroup's prerequisites are known to fail, hold it with the reason instead of producing a
    stream of failures. Returns the status given ("" when nothing was done).
    """
    row = (
        Invoice.objects.filter(pk=invoice_id, export_status=ExportStatus.NOT_EXPORTED)
        .values("subgroup_id")
        .first()
    )
    if row is None:
        return ""
    connection = Connection.objects.filter(subgroup_id=row["subgroup_id"]).first()
    if (
        connection is None
        or not connection.enabled
        or not connection.auto_export
        or not connection.has_client_key
    ):
        return ""
    if connection.prerequisites_ok is False:
        Invoice.objects.filter(pk=invoice_id, export_status=ExportStatus.NOT_EXPORTED).update(
            export_status=ExportStatus.HELD, export_error=prerequisites_reason(connection)
        )
        return ExportStatus.HELD
    updated = Invoice.objects.filter(pk=invoice_id, export_status=ExportStatus.NOT_EXPORTED).update(
        export_status=ExportStatus.PENDING, export_error="", export_claimed_at=timezone.now()
    )
    if updated:
        _enqueue_export(invoice_id)
    return ExportStatus.PENDING


def _enqueue_export(invoice_id: int, trigger: str = AttemptTrigger.AUTOMATIC) -> None:
    from poweroffice.invoices.tasks import export_invoice

    def send() -> None:
        try:
            export_invoice.delay(invoice_id, trigger)
        except Exception:  # broker down: the invoice stays PENDING and the sweeper takes it
            logger.warning("Could not enqueue the export of invoice %s", invoice_id, exc_info=True)

    transaction.on_commit(send)


# --- "Eksporter alle" ----------------------------------------------------------------------------


def export_batch_create(
    *, agency_id: int, user: User | None, invoice_ids: list[int]
) -> ExportBatch:
    """A background "Eksporter alle": the invoices are marked PENDING and a task runs them."""
    with transaction.atomic():
        ids = list(
            Invoice.objects.filter(
                agency_id=agency_id, pk__in=invoice_ids, export_status__in=CLAIMABLE
            )
            .order_by("subgroup_id", "number")
            .values_list("pk", flat=True)
        )
        Invoice.objects.filter(pk__in=ids, export_status__in=CLAIMABLE).update(
            export_status=ExportStatus.PENDING, export_claimed_at=timezone.now()
        )
        batch = ExportBatch.objects.create(
            agency_id=agency_id, created_by=user, invoice_ids=ids, total=len(ids)
        )
        _enqueue_batch(batch.pk)
    return batch


def _enqueue_batch(batch_id: int) -> None:
    from poweroffice.invoices.tasks import export_batch

    def send() -> None:
        try:
            export_batch.delay(batch_id)
        except Exception:  # the sweeper notices a batch nobody runs
            logger.warning("Could not enqueue export batch %s", batch_id, exc_info=True)

    transaction.on_commit(send)


def export_batch_run(*, batch_id: int, stale_after: float | None = None) -> ExportSummary | None:
    """Run a batch. Claimed like an invoice: a batch already running (with a live heartbeat) is
    left alone, so a redelivered task does nothing twice."""
    stale_after = stale_after or _setting("POWEROFFICE_EXPORT_BATCH_STALE", 300)
    now = timezone.now()
    claimed = ExportBatch.objects.filter(pk=batch_id, status=ExportBatch.Status.QUEUED).update(
        status=ExportBatch.Status.RUNNING, heartbeat_at=now, exported=0, failed=0, skipped=0
    ) or ExportBatch.objects.filter(
        pk=batch_id,
        status=ExportBatch.Status.RUNNING,
        heartbeat_at__lt=now - dt.timedelta(seconds=stale_after),
    ).update(heartbeat_at=now, exported=0, failed=0, skipped=0)
    if not claimed:
        return None
    batch = ExportBatch.objects.get(pk=batch_id)

    def progress(result: ExportResult) -> None:
        if result.ok:
            column = "exported"
        elif result.outcome in ("failed", "held"):
            column = "failed"
        else:
            column = "skipped"
        ExportBatch.objects.filter(pk=batch_id).update(
            **{column: F(column) + 1}, heartbeat_at=timezone.now()
        )

    try:
        summary = invoices_export(
            invoice_ids=batch.invoice_ids,
            trigger=AttemptTrigger.BATCH,
            user=batch.created_by,
            on_result=progress,
        )
    except Exception as exc:
        logger.exception("Export batch %s failed", batch_id)
        ExportBatch.objects.filter(pk=batch_id).update(
            status=ExportBatch.Status.FAILED,
            finished_at=timezone.now(),
            error=describe_export_error(exc)[0],
        )
        raise
    ExportBatch.objects.filter(pk=batch_id).update(
        status=ExportBatch.Status.DONE, finished_at=timezone.now(), heartbeat_at=timezone.now()
    )
    return summary


# --- the sweeper ---------------------------------------------------------------------------------


@dataclass
class SweepSummary:
    recovered: int = 0  # stale EXPORTING claims taken over
    pending: int = 0  # PENDING invoices exported (their task never ran)
    retried: int = 0  # transient failures tried again
    released: int = 0  # HELD invoices released because the prerequisites now pass
    batches_requeued: int = 0
    results: ExportSummary = field(default_factory=ExportSummary)


def export_sweep(
    *,
    now: dt.datetime | None = None,
    pending_grace: float | None = None,
    claim_timeout: float | None = None,
    batch_stale: float | None = None,
    max_attempts: int | None = None,
    limit: int = 500,
) -> SweepSummary:
    """Pick up every invoice that should have been exported and was not.

    - EXPORTING claims older than ``claim_timeout`` (the worker was killed): PowerOffice is asked
      first whether the voucher got there; if not, the invoice is exported.
    - Batches whose heartbeat stopped are queued again.
    - HELD invoices of subgroups whose prerequisites no longer fail are released.
    - PENDING invoices older than ``pending_grace`` (the broker was down when they were created,
      or their task was lost) and FAILED ones with a transient error and fewer than
      ``max_attempts`` attempts are exported here.
    """
    now = now or timezone.now()
    if pending_grace is None:
        pending_grace = _setting("POWEROFFICE_EXPORT_PENDING_GRACE", 60)
    if claim_timeout is None:
        claim_timeout = _setting("POWEROFFICE_EXPORT_CLAIM_TIMEOUT", 600)
    if batch_stale is None:
        batch_stale = _setting("POWEROFFICE_EXPORT_BATCH_STALE", 300)
    if max_attempts is None:
        max_attempts = _setting("POWEROFFICE_EXPORT_MAX_ATTEMPTS", 5)
    summary = SweepSummary()
    enabled = Connection.objects.filter(enabled=True).exclude(client_key_encrypted="")
    enabled_subgroups = list(enabled.values_list("subgroup_id", flat=True))

    # 1. Stale claims: check PowerOffice first (invoice_export with stale_before looks first).
    stale_before = now - dt.timedelta(seconds=claim_timeout)
    stale_ids = list(
        Invoice.objects.filter(
            export_status=ExportStatus.EXPORTING,
            export_claimed_at__lt=stale_before,
            subgroup_id__in=enabled_subgroups,
        ).values_list("pk", flat=True)[:limit]
    )
    if stale_ids:
        result = invoices_export(
            invoice_ids=stale_ids, trigger=AttemptTrigger.SWEEPER, stale_before=stale_before
        )
        summary.recovered = len(result.exported) + len(result.failed)
        _merge(summary.results, result)

    # 2. Batches nobody is running any more.
    live_ids: set[int] = set()
    stale_batch = now - dt.timedelta(seconds=batch_stale)
    for batch in ExportBatch.objects.filter(
        status__in=[ExportBatch.Status.QUEUED, ExportBatch.Status.RUNNING]
    ):
        last_sign = batch.heartbeat_at or batch.created_at
        if last_sign >= stale_batch:
            live_ids.update(batch.invoice_ids)
            continue
        if _requeue_batch(batch, now=now):
            summary.batches_requeued += 1
            live_ids.update(batch.invoice_ids)

    # 3. Held invoices whose subgroup now passes its checks go back into the queue.
    releasable = list(
        enabled.filter(auto_export=True)
        .exclude(prerequisites_ok=False)
        .values_list("subgroup_id", flat=True)
    )
    summary.released = Invoice.objects.filter(
        export_status=ExportStatus.HELD, subgroup_id__in=releasable, export_attempts=0
    ).update(
        export_status=ExportStatus.PENDING,
        export_error="",
        # Old enough for step 4 below to take them in this same run.
        export_claimed_at=now - dt.timedelta(seconds=pending_grace + 1),
    )

    # 4. Pending invoices whose task never came, and transient failures below the cap.
    old = now - dt.timedelta(seconds=pending_grace)
    pending_ids = [
        pk
        for pk in Invoice.objects.filter(
            export_status=ExportStatus.PENDING,
            subgroup_id__in=enabled_subgroups,
            created_at__lt=old,
        )
        .exclude(export_claimed_at__gte=old)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
        if pk not in live_ids
    ]
    last_attempt = ExportAttempt.objects.filter(invoice=OuterRef("pk")).order_by(
        "-started_at", "-id"
    )
    retry_ids = [
        pk
        for pk in Invoice.objects.filter(
            export_status=ExportStatus.FAILED,
            subgroup_id__in=enabled_subgroups,
            export_attempts__lt=max_attempts,
            export_claimed_at__lt=old,
        )
        .annotate(last_retryable=Subquery(last_attempt.values("retryable")[:1]))
        .filter(last_retryable=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
        if pk not in live_ids
    ]
    if pending_ids or retry_ids:
        result = invoices_export(
            invoice_ids=pending_ids + retry_ids, trigger=AttemptTrigger.SWEEPER
        )
        summary.pending = len(pending_ids)
        summary.retried = len(retry_ids)
        _merge(summary.results, result)
    return summary


def _requeue_batch(batch: ExportBatch, *, now: dt.datetime) -> bool:
    from poweroffice.invoices.tasks import export_batch

    ExportBatch.objects.filter(pk=batch.pk).update(
        status=ExportBatch.Status.QUEUED, heartbeat_at=now
    )
    try:
        export_batch.delay(batch.pk)
    except Exception:
        logger.warning("Could not queue export batch %s again", batch.pk, exc_info=True)
        # Leave it looking stale, so its invoices are swept directly below.
        ExportBatch.objects.filter(pk=batch.pk).update(heartbeat_at=batch.heartbeat_at)
        return False
    return True


def _merge(into: ExportSummary, other: ExportSummary) -> None:
    into.exported += other.exported
    into.failed += other.failed
    into.skipped += other.skipped
    into.requests += other.requests


# --- the list's red eye --------------------------------------------------------------------------


def invoice_export_hide_toggle(*, invoice: Invoice, user: User) -> bool:
    """Hide an invoice from "Ikke eksporterte fakturaer", or bring it back. Returns hidden."""
    hidden = not invoice.export_hidden
    Invoice.objects.filter(pk=invoice.pk).update(
        export_hidden=hidden,
        export_hidden_at=timezone.now() if hidden else None,
        export_hidden_by=user if hidden else None,
    )
    invoice.export_hidden = hidden
    return hidden
