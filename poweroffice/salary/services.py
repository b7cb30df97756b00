"""Writes for the payroll export to PowerOffice Go (SPEC Part B; the ABAX guide's steps).

- Administrasjon > Integrasjoner: ``payroll_integration_activate`` / ``_deactivate``.
- Lønnskoder: ``wage_codes_save`` / ``wage_codes_check`` against ``GET /PayItems``.
- Lønnseksport: ``payroll_export_check`` (the guide's four validations),
  ``payroll_export_create`` (claims the logbooks, stores the salary lines),
  ``payroll_export_run`` (creates them in PowerOffice Go, all or nothing) and
  ``payroll_export_rollback_retry``.

All or nothing: each created line's PowerOffice id is committed as soon as PowerOffice answers,
so that whatever happens next, a rollback knows what to delete. Every line carries a deterministic
ExternalImportReference, so a run that is repeated (a redelivered task) adopts the lines it
already created instead of creating them twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from bitnet.models import Subgroup, User
from payroll import reimbursements as selectors
from payroll.models import (
    DrivingLog,
    DrivingLogStatus,
    PayrollExport,
    PayrollExportLine,
    PayrollExportLineState,
    PayrollExportLog,
    PayrollExportStatus,
    ReimbursementKind,
    WageCodeMapping,
)
from poweroffice.client.client import PowerOfficeClient
from poweroffice.crypto import SecretUnreadable
from poweroffice.client.errors import (
    ConflictError,
    NotFoundError,
    PowerOfficeError,
    TransientError,
    ValidationError,
)
from poweroffice.models import Connection
from poweroffice.datadeling.connection import (
    NotConnected,
    client_key_verify,
    connection_client,
    connection_for_subgroup,
    connection_store_client_key,
    describe_error,
)

logger = logging.getLogger(__name__)

PAYROLL_SUBSCRIPTION = "Payroll"
SALARY_LINE_PRIVILEGE = "SalaryLine_Full"

# Exports of at most this many salary lines run in the request; larger ones in a Celery task.
INLINE_MAX_LINES = getattr(settings, "PAYROLL_EXPORT_INLINE_MAX_LINES", 25)
# A run whose heartbeat is older than this is taken to have died and may be resumed.
STALE_AFTER = timedelta(minutes=10)

URL_WAGE_CODES = "/lonn/lonnskoder/"
URL_INTEGRATIONS = "/administrasjon/integrasjoner/"
URL_USER = "/administrasjon/brukere/{id}/"
URL_EXPORT = "/lonn/lonnseksport/{id}/"

KIND_LABELS = dict(ReimbursementKind.choices)


def kr(amount: Decimal) -> str:
    """Norwegian money: 1 234,50."""
    text = f"{amount:,.2f}"
    return text.replace(",", " ").replace(".", ",")


def _po_detail(error: PowerOfficeError) -> str:
    return error.detail or error.title or str(error)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", ")")) else f"{text}."


@dataclass
class Problem:
    """Why an export cannot go ahead, what to fix, and where ("Rett i" link)."""

    code: str
    message: str
    link: str = ""
    link_label: str = ""

    def as_text(self) -> str:
        return f"{self.message} Rett i: {self.link}" if self.link else self.message


class PayrollExportBlocked(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


# --- Administrasjon > Integrasjoner ---------------------------------------------------------------


@dataclass
class ActivationResult:
    ok: bool
    message: str


def _payroll_capability_problem(
    *, client_name: str, subscriptions: Iterable[str], valid: Iterable[str], invalid: Iterable[str]
) -> str:
    """Empty when the client has the payroll module and the salary-line privilege."""
    name = f"«{client_name}»" if client_name else "klienten"
    if PAYROLL_SUBSCRIPTION not in set(subscriptions):
        return (
            f"Klientnøkkelen er gyldig, men {name} har ikke abonnement på Lønn i PowerOffice Go. "
            "Aktiver lønnsmodulen for klienten i PowerOffice Go, og prøv igjen."
        )
    if SALARY_LINE_PRIVILEGE not in set(valid):
        why = (
            " (rettigheten er ugyldig for klientens abonnement)"
            if (SALARY_LINE_PRIVILEGE in set(invalid))
            else ""
        )
        return (
            f"Integrasjonen har ikke tilgang til å opprette lønnslinjer hos {name}"
            f" ({SALARY_LINE_PRIVILEGE}){why}. Gi utvidelsen tilgang til lønnslinjer under "
            "Innstillinger > Utvidelser i PowerOffice Go, og prøv igjen."
        )
    return ""


def payroll_integration_activate(
    *, subgroup: Subgroup, client_key: str | None = None
) -> ActivationResult:
    """ "Aktiver" PowerOffice Go for a subgroup's payroll.

    ``client_key`` None reuses the key Datadeling holds ("Bruk samme klientnøkkel som
    Datadeling"). A new key is verified first and stored only when the client has the payroll
    module and the salary-line privilege (GET /ClientIntegrationInformation); it is kept by
    ``connection_store_client_key`` (encrypted, never logged), the subgroup's one key.
    """
    connection = connection_for_subgroup(subgroup)
    if client_key is None:
        if not connection.has_client_key:
            return ActivationResult(
                False,
                f"Datadeling har ingen klientnøkkel for {subgroup.name}. Lim inn klientnøkkelen "
                "fra PowerOffice Go.",
            )
        try:
            with connection_client(connection) as client:
                info = client.get_client_integration_information() or {}
        except (NotConnected, SecretUnreadable) as exc:
            return ActivationResult(False, str(exc))
        except PowerOfficeError as exc:
            return ActivationResult(False, describe_error(exc))
        client_name = info.get("ClientName") or connection.client_name
        problem = _payroll_capability_problem(
            client_name=client_name,
            subscriptions=info.get("ActiveClientSubscriptions") or [],
            valid=info.get("ValidPrivileges") or [],
            invalid=info.get("InvalidPrivileges") or [],
        )
        if problem:
            return ActivationResult(False, problem)
        connection.subscriptions = list(info.get("ActiveClientSubscriptions") or [])
        connection.privileges = list(info.get("ValidPrivileges") or [])
    else:
        client_key = client_key.strip()
        verified = client_key_verify(client_key=client_key)
        if not verified.ok:
            return ActivationResult(False, verified.message)
        client_name = verified.client_name
        problem = _payroll_capability_problem(
            client_name=client_name,
            subscriptions=verified.subscriptions,
            valid=verified.valid_privileges,
            invalid=verified.invalid_privileges,
        )
        if problem:
            return ActivationResult(False, problem)
        if (
            connection.has_client_key
            and connection.client_id
            and verified.client_id
            and connection.client_id != verified.client_id
        ):
            # One subgroup is one PowerOffice client: a key for another company would send
            # invoices and salary lines to different books.
            return ActivationResult(
                False,
                f"Klientnøkkelen gjelder «{client_name}», men {subgroup.name} er koblet til "
                f"«{connection.client_name}» i Datadeling. Bruk klientnøkkelen for "
                f"«{connection.client_name}», eller bytt klient under Administrasjon > "
                "Datadeling først.",
            )
        stored = connection_store_client_key(connection=connection, client_key=client_key)
        if not stored.ok:
            return ActivationResult(False, stored.message)
    connection.payroll_enabled = True
    connection.payroll_verified_at = timezone.now()
    connection.save(
        update_fields=[
            "payroll_enabled",
            "payroll_verified_at",
            "subscriptions",
            "privileges",
            "updated_at",
        ]
    )
    logger.info("Payroll integration activated for subgroup %s", subgroup.pk)
    return ActivationResult(
        True,
        f"PowerOffice Go er aktivert for {subgroup.name}. Integreringen er godkjent"
        + (f" (klient «{client_name}»)." if client_name else "."),
    )


def payroll_integration_deactivate(*, subgroup: Subgroup) -> None:
    """ "Deaktiver": no more payroll exports. The client key stays (Datadeling may use it)."""
    Connection.objects.filter(subgroup=subgroup).update(
        payroll_enabled=False, updated_at=timezone.now()
    )


# --- Lønnskoder -----------------------------------------------------------------------------------


@dataclass
class WageCodeResult:
    ok: bool
    message: str
    errors: dict[str, str] = field(default_factory=dict)  # kind -> message beside the field
    checked: bool = False


def _payroll_connection(subgroup: Subgroup) -> Connection | None:
    return Connection.objects.filter(subgroup=subgroup).first()


def _not_active_text(subgroup: Subgroup) -> str:
    return f"PowerOffice Go er ikke aktivert for {subgroup.name}."


def _pay_items_by_code(client: PowerOfficeClient, codes: Iterable[str]) -> dict[str, dict]:
    codes = sorted({c for c in codes if c})
    if not codes:
        return {}
    items = client.list_pay_items(codes=codes)
    return {str(item.get("Code")): item for item in items if item.get("Code") is not None}


def _pay_item_problem(code: str, item: dict | None) -> str:
    if item is None:
        return f"Lønnsart {code} finnes ikke i PowerOffice Go."
    if not item.get("IsActive", True):
        return f"Lønnsart {code} ({item.get('Name') or 'uten navn'}) er inaktiv i PowerOffice Go."
    return ""


def wage_codes_save(*, subgroup: Subgroup, codes: dict[str, str]) -> WageCodeResult:
    """Save the subgroup's pay item codes after checking them against PowerOffice Go.

    A code PowerOffice does not have, or has as inactive, is refused beside its field and nothing
    is saved. When PowerOffice cannot be asked (integration not active, no answer), the codes are
    saved unchecked and say so; the export checks them again on "Søk".
    """
    codes = {kind: (codes.get(kind) or "").strip() for kind in selectors.KIND_ORDER}
    errors: dict[str, str] = {}
    for kind in selectors.DISTANCE_KINDS:
        code = codes[kind]
        if not code:
            continue
        others = [KIND_LABELS[k] for k in selectors.KIND_ORDER if k != kind and codes[k] == code]
        if others:
            errors[kind] = (
                f"Lønnsart {code} er også valgt for {', '.join(others)}. Kilometerbaserte "
                "godtgjørelser har hver sin sats og trenger hver sin lønnsart."
            )
    if errors:
        return WageCodeResult(False, "Lønnskodene ble ikke lagret.", errors)

    items: dict[str, dict] = {}
    check_error = ""
    connection = _payroll_connection(subgroup)
    if connection is None or not connection.payroll_enabled:
        check_error = f"Ikke kontrollert: {_not_active_text(subgroup)}"
    else:
        try:
            with connection_client(connection) as client:
                items = _pay_items_by_code(client, codes.values())
        except (NotConnected, SecretUnreadable) as exc:
            check_error = f"Ikke kontrollert: {exc}"
        except PowerOfficeError as exc:
            check_error = f"Ikke kontrollert: {describe_error(exc)}"
    if not check_error:
        for kind, code in codes.items():
            if code:
                problem = _pay_item_problem(code, items.get(code))
                if problem:
                    errors[kind] = problem
        if errors:
            return WageCodeResult(False, "Lønnskodene ble ikke lagret.", errors, checked=True)

    now = timezone.now()
    with transaction.atomic():
        WageCodeMapping.objects.filter(
            subgroup=subgroup, kind__in=[k for k, c in codes.items() if not c]
        ).delete()
        for kind, code in codes.items():
            if not code:
                continue
            item = items.get(code) or {}
            WageCodeMapping.objects.update_or_create(
                subgroup=subgroup,
                kind=kind,
                defaults={
                    "pay_item_code": code,
                    "pay_item_id": str(item.get("Id") or ""),
                    "pay_item_name": item.get("Name") or "",
                    "pay_item_processing_type": item.get("ProcessingType") or "",
                    "checked_at": None if check_error else now,
                    "check_error": check_error,
                },
            )
    if check_error:
        return WageCodeResult(True, f"Lønnskodene er lagret. {check_error}")
    return WageCodeResult(
        True, "Lønnskodene er lagret og kontrollert mot PowerOffice Go.", checked=True
    )


def _apply_pay_items(
    mappings: Iterable[WageCodeMapping], items: dict[str, dict], now: dt.datetime
) -> list[tuple[WageCodeMapping, str]]:
    problems = []
    changed = []
    for mapping in mappings:
        item = items.get(mapping.pay_item_code)
        problem = _pay_item_problem(mapping.pay_item_code, item)
        mapping.pay_item_id = str((item or {}).get("Id") or "")
        mapping.pay_item_name = (item or {}).get("Name") or ""
        mapping.pay_item_processing_type = (item or {}).get("ProcessingType") or ""
        mapping.check_error = problem
        mapping.checked_at = now
        changed.append(mapping)
        if problem:
            problems.append((mapping, problem))
    WageCodeMapping.objects.bulk_update(
        changed,
        ["pay_item_id", "pay_item_name", "pay_item_processing_type", "check_error", "checked_at"],
    )
    return problems


def wage_codes_check(
    *, subgroup: Subgroup, client: PowerOfficeClient | None = None
) -> WageCodeResult:
    """Check the saved codes against PowerOffice's pay items now ("Kontroller")."""
    mappings = list(WageCodeMapping.objects.filter(subgroup=subgroup))
    if not mappings:
        return WageCodeResult(False, f"Ingen lønnskoder er satt opp for {subgroup.name}.")
    connection = _payroll_connection(subgroup)
    if client is None and (connection is None or not connection.payroll_enabled):
        return WageCodeResult(False, _not_active_text(subgroup))
    try:
        if client is None:
            with connection_client(connection) as own:
                items = _pay_items_by_code(own, [m.pay_item_code for m in mappings])
        else:
            items = _pay_items_by_code(client, [m.pay_item_code for m in mappings])
    except (NotConnected, SecretUnreadable) as exc:
        return WageCodeResult(False, str(exc))
    except PowerOfficeError as exc:
        return WageCodeResult(False, describe_error(exc))
    problems = _apply_pay_items(mappings, items, timezone.now())
    if problems:
        return WageCodeResult(
            False,
            " ".join(p for _, p in problems),
            {m.kind: p for m, p in problems},
            checked=True,
        )
    return WageCodeResult(
        True, "Alle lønnskodene finnes og er aktive i PowerOffice Go.", checked=True
    )


# --- Lønnseksport: the four validations -----------------------------------------------------------


@dataclass
class ExportCheck:
    problems: list[Problem]
    computation: selectors.Computation
    employees: dict[int, dict]  # employee number -> PowerOffice EmployeeDto
    requests: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _wage_codes_link(subgroup: Subgroup) -> str:
    return f"{URL_WAGE_CODES}?undergruppe={subgroup.pk}"


def _drivers_of(log_ids: list[int]) -> list[User]:
    return list(
        User.objects.filter(driving_logs__id__in=log_ids, driving_logs__trips__isnull=False)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def payroll_export_check(
    *, subgroup: Subgroup, log_ids: Iterable[int], client: PowerOfficeClient | None = None
) -> ExportCheck:
    """The guide's validations on "Søk", in its order, each naming who or what is wrong and
    where it is fixed:

    1. every configured pay item code exists and is active in PowerOffice Go (GET /PayItems);
    2. every driver has an employee number (Ansettelsesnr. (PowerOffice));
    3. every employee number exists in PowerOffice Go (GET /Employees?employeeNos=);
    4. every kind of reimbursement in the logbooks has a pay item code.

    Two PowerOffice requests (plus a token), whatever the number of drivers and trips.
    """
    log_ids = list(log_ids)
    problems: list[Problem] = []
    connection = _payroll_connection(subgroup)
    mappings = selectors.wage_code_mappings(subgroup=subgroup)
    computation = selectors.salary_lines_compute(log_ids=log_ids, mappings=mappings)
    drivers = _drivers_of(log_ids)
    wage_link = _wage_codes_link(subgroup)
    employees: dict[int, dict] = {}
    requests = 0

    pay_item_problems: list[Problem] = []
    employee_problems: list[Problem] = []
    if connection is None or not connection.payroll_enabled:
        problems.append(
            Problem(
                "connection",
                f"{_not_active_text(subgroup)} Aktiver integrasjonen før eksport.",
                URL_INTEGRATIONS,
                "Administrasjon > Integrasjoner",
            )
        )
    else:
        numbers = sorted({d.employee_number for d in drivers if d.employee_number})
        own = client is None
        try:
            if own:
                client = connection_client(connection)
            before = client.stats.requests
            try:
                if mappings:
                    items = _pay_items_by_code(client, [m.pay_item_code for m in mappings.values()])
                    for mapping, text in _apply_pay_items(mappings.values(), items, timezone.now()):
                        pay_item_problems.append(
                            Problem(
                                "wage_code",
                                f"{text} Den er satt opp for {KIND_LABELS[mapping.kind].lower()}.",
                                wage_link,
                                "Lønnskoder",
                            )
                        )
                if numbers:
                    for employee in client.list_employees(employee_nos=numbers):
                        if employee.get("Number") is not None:
                            employees[int(employee["Number"])] = employee
            finally:
                requests = client.stats.requests - before
                if own:
                    client.close()
        except (NotConnected, SecretUnreadable) as exc:
            problems.append(Problem("connection", str(exc), URL_INTEGRATIONS, "Integrasjoner"))
        except PowerOfficeError as exc:
            problems.append(
                Problem(
                    "connection",
                    f"PowerOffice Go kunne ikke kontrollere eksporten: {describe_error(exc)}",
                )
            )
        else:
            for driver in drivers:
                number = driver.employee_number
                if not number:
                    continue
                employee = employees.get(number)
                if employee is None:
                    employee_problems.append(
                        Problem(
                            "employee_missing",
                            f"{driver} (ansattnr. {number}) finnes ikke som ansatt i "
                            "PowerOffice Go. Kontroller ansattnummeret, eller opprett den "
                            "ansatte i PowerOffice Go.",
                            URL_USER.format(id=driver.pk),
                            f"Brukere / {driver}",
                        )
                    )
                elif employee.get("IsArchived"):
                    employee_problems.append(
                        Problem(
                            "employee_missing",
                            f"{driver} (ansattnr. {number}) er arkivert i PowerOffice Go.",
                            URL_USER.format(id=driver.pk),
                            f"Brukere / {driver}",
                        )
                    )

    problems.extend(pay_item_problems)
    # 2. Employee numbers.
    for driver in drivers:
        if not driver.employee_number:
            problems.append(
                Problem(
                    "employee_number",
                    f"{driver} har levert kjørebok, men mangler Ansettelsesnr. (PowerOffice).",
                    URL_USER.format(id=driver.pk),
                    f"Brukere / {driver}",
                )
            )
    by_number: dict[int, list[User]] = {}
    for driver in drivers:
        if driver.employee_number:
            by_number.setdefault(driver.employee_number, []).append(driver)
    for number, same in sorted(by_number.items()):
        if len(same) > 1:
            names = " og ".join(str(d) for d in same)
            problems.append(
                Problem(
                    "employee_number",
                    f"{names} har samme Ansettelsesnr. (PowerOffice) {number}.",
                    URL_USER.format(id=same[-1].pk),
                    f"Brukere / {same[-1]}",
                )
            )
    # 3. Employees in PowerOffice Go.
    problems.extend(employee_problems)
    # 4. Kinds of reimbursement without a pay item.
    for kind in selectors.KIND_ORDER:
        trips = computation.unmapped.get(kind)
        if trips:
            problems.append(
                Problem(
                    "unmapped",
                    f"{KIND_LABELS[kind]} har ingen lønnskode: {trips} "
                    f"{'tur' if trips == 1 else 'turer'} i utvalget har "
                    f"{KIND_LABELS[kind].lower()}, men ingen lønnsart er satt opp for det.",
                    wage_link,
                    "Lønnskoder",
                )
            )
    for year in sorted(computation.missing_rate_years):
        problems.append(
            Problem(
                "rate",
                f"Det finnes ingen kilometersats for {year}. Legg inn statens satser for {year} "
                "før turene kan eksporteres.",
            )
        )
    # Attach what PowerOffice answered to the computed lines.
    for line in computation.lines:
        mapping = mappings.get(line.kinds[0])
        if mapping is not None:
            line.pay_item_id = mapping.pay_item_id
            line.pay_item_name = mapping.pay_item_name
            line.processing_type = mapping.pay_item_processing_type
    return ExportCheck(problems, computation, employees, requests)


# --- Lønnseksport: create, run, roll back ---------------------------------------------------------


def external_import_reference(*, export_id: int, line: selectors.LineDraft) -> str:
    """bitnet-pay-<export>-<employee no>-<pay item code>-<year>: one per salary line."""
    code = "".join(ch if ch.isalnum() else "_" for ch in line.code)
    reference = f"bitnet-pay-{export_id}-{line.employee_number}-{code}-{line.year}"
    return f"{reference}-{line.suffix}" if line.suffix else reference


def _claimed_problem(claim: PayrollExportLog) -> Problem:
    log = claim.log
    return Problem(
        "claimed",
        f"Kjøreboken til {log.driver} for {log.period_start:%d.%m.%Y}–{log.period_end:%d.%m.%Y} "
        f"er allerede med i lønnseksport {claim.export_id}.",
        URL_EXPORT.format(id=claim.export_id),
        f"Lønnseksport {claim.export_id}",
    )


def payroll_export_create(
    *,
    subgroup: Subgroup,
    log_ids: Iterable[int],
    date_from: dt.date,
    date_to: dt.date,
    user: User | None,
    submission_token: uuid.UUID | str | None = None,
    client: PowerOfficeClient | None = None,
) -> PayrollExport:
    """Validate, claim the logbooks and store the salary lines of a new export (status draft).

    The same ``submission_token`` returns the export it already made (a double POST of the
    wizard). A logbook already in an active export is refused: under row locks, and by the
    unique constraint on active claims should two requests race anyway.
    """
    log_ids = sorted({int(i) for i in log_ids})
    token = uuid.UUID(str(submission_token)) if submission_token else None
    if token is not None:
        existing = PayrollExport.objects.filter(submission_token=token, agency=subgroup.agency)
        if existing.exists():
            return existing.get()
    if not log_ids:
        raise PayrollExportBlocked([Problem("empty", "Velg minst én kjørebok.")])

    check = payroll_export_check(subgroup=subgroup, log_ids=log_ids, client=client)
    if not check.ok:
        raise PayrollExportBlocked(check.problems)

    try:
        with transaction.atomic():
            logs = list(
                DrivingLog.objects.select_for_update(of=("self",))
                .filter(
                    pk__in=log_ids,
                    agency_id=subgroup.agency_id,
                    driver__office__subgroup=subgroup,
                )
                .order_by("pk")
            )
            if token is not None:
                existing = PayrollExport.objects.filter(submission_token=token).first()
                if existing is not None:
                    return existing
            if len(logs) != len(log_ids):
                raise PayrollExportBlocked(
                    [Problem("claimed", "Noen av kjørebøkene finnes ikke lenger. Søk på nytt.")]
                )
            claims = list(
                PayrollExportLog.objects.filter(log__in=logs, active=True).select_related(
                    "log__driver"
                )
            )
            if claims:
                raise PayrollExportBlocked([_claimed_problem(c) for c in claims])
            not_delivered = [log for log in logs if log.status not in selectors.EXPORTABLE_STATUSES]
            if not_delivered:
                raise PayrollExportBlocked(
                    [
                        Problem(
                            "status",
                            f"Kjøreboken til {log.driver} for {log.period_start:%d.%m.%Y}–"
                            f"{log.period_end:%d.%m.%Y} er {log.get_status_display().lower()} "
                            "og kan ikke eksporteres.",
                        )
                        for log in not_delivered
                    ]
                )
            # Recomputed under the locks, so the lines are exactly the claimed logbooks' trips.
            computation = selectors.salary_lines_compute(
                log_ids=log_ids, mappings=selectors.wage_code_mappings(subgroup=subgroup)
            )
            if not computation.lines:
                raise PayrollExportBlocked(
                    [Problem("empty", "De valgte kjørebøkene har ingen turer å eksportere.")]
                )
            export = PayrollExport.objects.create(
                agency_id=subgroup.agency_id,
                subgroup=subgroup,
                created_by=user,
                date_from=date_from,
                date_to=date_to,
                submission_token=token,
                lines_total=len(computation.lines),
                amount_total=computation.amount_total,
                requests=check.requests,
            )
            PayrollExportLog.objects.bulk_create(
                [PayrollExportLog(export=export, log=log) for log in logs]
            )
            rows = []
            for position, line in enumerate(computation.lines, start=1):
                employee = check.employees.get(line.employee_number or 0)
                if employee is None or not line.pay_item_id:
                    # Changed between the check and the lock: let the user search again.
                    raise PayrollExportBlocked(
                        [Problem("changed", "Utvalget ble endret under kontrollen. Søk på nytt.")]
                    )
                rows.append(
                    PayrollExportLine(
                        export=export,
                        employee=line.employee,
                        employee_number=line.employee_number,
                        po_employee_id=employee["Id"],
                        kind=",".join(line.kinds),
                        pay_item_code=line.code,
                        pay_item_id=line.pay_item_id,
                        processing_type=line.processing_type,
                        year=line.year,
                        quantity=line.quantity,
                        rate=line.rate,
                        amount=line.amount,
                        comment=line.comment,
                        external_import_reference=external_import_reference(
                            export_id=export.pk, line=line
                        ),
                        position=position,
                    )
                )
            PayrollExportLine.objects.bulk_create(rows)
    except IntegrityError:
        if token is not None:
            existing = PayrollExport.objects.filter(submission_token=token).first()
            if existing is not None:
                return existing
        claims = PayrollExportLog.objects.filter(log_id__in=log_ids, active=True).select_related(
            "log__driver"
        )
        raise PayrollExportBlocked(
            [_claimed_problem(c) for c in claims]
            or [Problem("claimed", "Kjørebøkene ble nettopp eksportert av noen andre.")]
        ) from None
    logger.info("Payroll export %s created: %s lines", export.pk, export.lines_total)
    return export


def payroll_export_start(*, export: PayrollExport) -> bool:
    """Run a small export now; enqueue a large one (after commit). True when it ran here."""
    if export.status != PayrollExportStatus.DRAFT:
        return False
    if export.lines_total <= INLINE_MAX_LINES:
        payroll_export_run(export_id=export.pk)
        return True
    from poweroffice.salary.tasks import payroll_export_task

    transaction.on_commit(lambda: payroll_export_task.delay(export.pk))
    return False


# Pay items that compute the amount from Quantity × Rate themselves (SalaryLineDto.Amount: "For
# a pay item with a quantity and rate, the quantity and rate should be provided as drivers").
QUANTITY_DRIVEN = {"QuantityAndRate", "QuantityAndFixedRate", "HourlyWage"}


def _line_body(line: PayrollExportLine) -> dict:
    """SalaryLinePostDto. Distance lines: Quantity (km, passenger-km) and Rate (the trip year's
    rate per km); expense lines (toll, parking, ferry): Quantity 1, Rate = Amount. Amount, as we
    rounded it, is sent unless the pay item computes it from Quantity × Rate itself."""
    body = {
        "EmployeeId": line.po_employee_id,
        "PayItemId": line.pay_item_id,
        "Quantity": line.quantity,
        "Rate": line.rate,
        "Comment": line.comment,
        "ExternalImportReference": line.external_import_reference,
    }
    if line.processing_type not in QUANTITY_DRIVEN:
        body["Amount"] = line.amount
    return body


def _create_line(client: PowerOfficeClient, line: PayrollExportLine) -> dict:
    try:
        return client.create_salary_line(_line_body(line))
    except ValidationError as exc:
        # Our reference already in use: an earlier run created this very line and died before
        # it could store the id. Adopt it rather than fail.
        if "externalimportreference" in (exc.detail or "").lower():
            found = client.find_salary_line(
                external_import_reference=line.external_import_reference
            )
            if found is not None:
                return found
        raise


def _failure_reason(line: PayrollExportLine, position: int, total: int, error: Exception) -> str:
    what = (
        f"Lønnslinje {position} av {total} ({line.employee}, ansattnr. {line.employee_number}, "
        f"lønnsart {line.pay_item_code}, kr {kr(line.amount)})"
    )
    if isinstance(error, TransientError):
        return f"{what} kunne ikke opprettes: PowerOffice Go svarte ikke ({_po_detail(error)})."
    if isinstance(error, PowerOfficeError):
        return f"{what} ble avvist av PowerOffice Go: {_sentence(_po_detail(error))}"
    return f"{what} kunne ikke opprettes: {type(error).__name__}."


def _heartbeat(export_id: int, **updates) -> None:
    PayrollExport.objects.filter(pk=export_id).update(heartbeat_at=timezone.now(), **updates)


def _release_claims(export: PayrollExport) -> None:
    PayrollExportLog.objects.filter(export=export, active=True).update(active=False)


def _finish_without_lines(export: PayrollExport, reason: str) -> PayrollExport:
    with transaction.atomic():
        export.status = PayrollExportStatus.FAILED
        export.error = reason
        export.finished_at = timezone.now()
        export.save(update_fields=["status", "error", "finished_at"])
        _release_claims(export)
    return export


def _open_client(export: PayrollExport) -> PowerOfficeClient:
    connection = Connection.objects.filter(subgroup_id=export.subgroup_id).first()
    if connection is None:
        raise NotConnected(f"{export.subgroup.name} har ingen tilkobling til PowerOffice Go.")
    return connection_client(connection)


def payroll_export_run(*, export_id: int, client: PowerOfficeClient | None = None) -> PayrollExport:
    """Create the export's salary lines in PowerOffice Go, all or nothing.

    Claims the export (draft -> running; a running export whose heartbeat stopped is resumed).
    Each line's id is committed as soon as PowerOffice answers. On the first failure every line
    already created is deleted again (``_rollback``).
    """
    now = timezone.now()
    claimed = PayrollExport.objects.filter(pk=export_id, status=PayrollExportStatus.DRAFT).update(
        status=PayrollExportStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        claimed = PayrollExport.objects.filter(
            pk=export_id, status=PayrollExportStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER
        ).update(heartbeat_at=now)
    export = PayrollExport.objects.select_related("subgroup").get(pk=export_id)
    if not claimed:
        return export  # someone else runs it, or it has finished

    own = client is None
    try:
        if own:
            client = _open_client(export)
    except (NotConnected, SecretUnreadable) as exc:
        return _finish_without_lines(export, str(exc))
    before = client.stats.requests
    try:
        lines = list(export.lines.select_related("employee").order_by("position", "id"))
        total = len(lines)
        for position, line in enumerate(lines, start=1):
            if line.state != PayrollExportLineState.PENDING:
                continue
            try:
                created = _create_line(client, line)
            except Exception as exc:
                logger.warning("Payroll export %s: line %s failed: %s", export.pk, line.pk, exc)
                _fail_and_roll_back(export, client, line, position, total, exc)
                break
            line.po_salary_line_id = int(created["Id"])
            line.state = PayrollExportLineState.CREATED
            line.error = ""
            line.save(update_fields=["po_salary_line_id", "state", "error"])
            _heartbeat(export.pk, lines_created=F("lines_created") + 1)
        else:
            with transaction.atomic():
                PayrollExport.objects.filter(pk=export.pk).update(
                    status=PayrollExportStatus.EXPORTED,
                    error="",
                    finished_at=timezone.now(),
                )
                DrivingLog.objects.filter(
                    export_claims__export=export, export_claims__active=True
                ).update(status=DrivingLogStatus.EXPORTED)
            logger.info("Payroll export %s exported: %s lines", export.pk, total)
    finally:
        PayrollExport.objects.filter(pk=export.pk).update(
            requests=F("requests") + (client.stats.requests - before)
        )
        if own:
            client.close()
    export.refresh_from_db()
    return export


def _fail_and_roll_back(
    export: PayrollExport,
    client: PowerOfficeClient,
    line: PayrollExportLine,
    position: int,
    total: int,
    error: Exception,
) -> None:
    reason = _failure_reason(line, position, total, error)
    line.state = PayrollExportLineState.FAILED
    line.error = _po_detail(error) if isinstance(error, PowerOfficeError) else type(error).__name__
    if isinstance(error, TransientError) and not error.never_left:
        # A timeout can hide a success: if PowerOffice has the line after all, delete it too.
        try:
            found = client.find_salary_line(
                external_import_reference=line.external_import_reference
            )
        except PowerOfficeError:
            found = None
        if found is not None:
            line.po_salary_line_id = int(found["Id"])
            line.state = PayrollExportLineState.CREATED
    line.save(update_fields=["state", "error", "po_salary_line_id"])
    PayrollExport.objects.filter(pk=export.pk).update(
        status=PayrollExportStatus.ROLLING_BACK, error=reason, heartbeat_at=timezone.now()
    )
    export.status = PayrollExportStatus.ROLLING_BACK
    export.error = reason
    _rollback(export, client)


def _delete_error(error: PowerOfficeError) -> str:
    if isinstance(error, ConflictError):
        return (
            "Låst i PowerOffice Go (lønnslinjen er tatt med i en lønnskjøring): "
            f"{_po_detail(error)}"
        )
    return _po_detail(error)


def _rollback(export: PayrollExport, client: PowerOfficeClient) -> None:
    """Delete every line of the export PowerOffice has. Lines that cannot be deleted (409:
    locked in a payroll run) stay listed by name: the export is "rollback incomplete"."""
    lines = export.lines.filter(
        state__in=[PayrollExportLineState.CREATED, PayrollExportLineState.DELETE_FAILED],
        po_salary_line_id__isnull=False,
    ).order_by("-position", "-id")
    for line in lines:
        try:
            client.delete_salary_line(line.po_salary_line_id)
        except NotFoundError:
            pass  # already gone: what we wanted
        except PowerOfficeError as exc:
            logger.warning("Payroll export %s: line %s not deleted: %s", export.pk, line.pk, exc)
            line.state = PayrollExportLineState.DELETE_FAILED
            line.error = _delete_error(exc)
            line.save(update_fields=["state", "error"])
            _heartbeat(export.pk)
            continue
        line.state = PayrollExportLineState.DELETED
        line.error = ""
        line.save(update_fields=["state", "error"])
        _heartbeat(export.pk, lines_deleted=F("lines_deleted") + 1)
    left = export.lines.filter(state=PayrollExportLineState.DELETE_FAILED).exists()
    with transaction.atomic():
        export.refresh_from_db()
        export.finished_at = timezone.now()
        if left:
            # The logbooks stay claimed: some of their lines are still in PowerOffice Go.
            export.status = PayrollExportStatus.ROLLBACK_INCOMPLETE
        else:
            created_any = export.lines.filter(state=PayrollExportLineState.DELETED).exists()
            export.status = (
                PayrollExportStatus.ROLLED_BACK if created_any else PayrollExportStatus.FAILED
            )
            _release_claims(export)
        export.save(update_fields=["status", "finished_at"])


def payroll_export_rollback_retry(
    *, export_id: int, client: PowerOfficeClient | None = None
) -> PayrollExport:
    """ "Prøv tilbakerulling igjen": delete the lines that could not be deleted before.

    Raises NotConnected/SecretUnreadable (status unchanged) when there is no usable client key.
    """
    now = timezone.now()
    claimed = PayrollExport.objects.filter(
        pk=export_id, status=PayrollExportStatus.ROLLBACK_INCOMPLETE
    ).update(status=PayrollExportStatus.ROLLING_BACK, heartbeat_at=now)
    if not claimed:
        claimed = PayrollExport.objects.filter(
            pk=export_id,
            status=PayrollExportStatus.ROLLING_BACK,
            heartbeat_at__lt=now - STALE_AFTER,
        ).update(heartbeat_at=now)
    export = PayrollExport.objects.select_related("subgroup").get(pk=export_id)
    if not claimed:
        return export
    own = client is None
    try:
        if own:
            client = _open_client(export)
    except (NotConnected, SecretUnreadable):
        PayrollExport.objects.filter(pk=export_id).update(
            status=PayrollExportStatus.ROLLBACK_INCOMPLETE
        )
        raise
    before = client.stats.requests
    try:
        _rollback(export, client)
    finally:
        PayrollExport.objects.filter(pk=export.pk).update(
            requests=F("requests") + (client.stats.requests - before)
        )
        if own:
            client.close()
    export.refresh_from_db()
    return export
