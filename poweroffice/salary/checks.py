"""Lønnseksport, "Søk": the ABAX guide's validations of an export before anything is sent.

Each ``Problem`` names who or what is wrong and where it is fixed. Two PowerOffice requests (plus
a token), whatever the number of drivers and trips: ``GET /PayItems`` for the wage codes and
``GET /Employees?employeeNos=`` for the drivers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils import timezone

from bitnet.models import Subgroup, User
from payroll.models import WageCodeMapping
from payroll.reimbursements import KIND_LABELS, KIND_ORDER
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.errors import PowerOfficeError
from poweroffice.crypto import SecretUnreadable
from poweroffice.datadeling.connection import NotConnected, connection_client
from poweroffice.datadeling.identity import ClientMismatch, client_identity_confirm
from poweroffice.datadeling.selectors import connection_get
from poweroffice.messages import Context, error_message
from poweroffice.models import Connection
from poweroffice.salary.problems import (
    Problem,
    integrations_link,
    not_active_text,
    user_link,
    wage_codes_link,
)
from poweroffice.salary.selectors import (
    Computation,
    drivers_of,
    salary_lines_compute,
    wage_code_mappings,
)
from poweroffice.salary.wagecodes import pay_items_by_code, wage_code_mappings_refresh

Employee = dict[str, Any]  # PowerOffice's EmployeeDto


@dataclass
class ExportCheck:
    problems: list[Problem]
    computation: Computation
    employees: dict[int, Employee]  # employee number -> PowerOffice EmployeeDto
    requests: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Answers:
    """What PowerOffice said about the wage codes and the drivers (validations 1 and 3)."""

    connection: list[Problem] = field(default_factory=list)
    pay_items: list[Problem] = field(default_factory=list)
    employees: dict[int, Employee] = field(default_factory=dict)
    requests: int = 0
    asked: bool = False  # both questions answered


def _user_problem(code: str, message: str, user: User) -> Problem:
    return Problem(code, message, user_link(user), f"Brukere / {user}")


def _ask(
    answers: _Answers,
    client: PowerOfficeClient,
    *,
    subgroup: Subgroup,
    mappings: dict[str, WageCodeMapping],
    numbers: list[int],
) -> None:
    if mappings:
        items = pay_items_by_code(client, [m.pay_item_code for m in mappings.values()])
        for mapping, text in wage_code_mappings_refresh(mappings.values(), items, timezone.now()):
            answers.pay_items.append(
                Problem(
                    "wage_code",
                    f"{text} Den er satt opp for {KIND_LABELS[mapping.kind].lower()}.",
                    wage_codes_link(subgroup),
                    "Lønnskoder",
                )
            )
    if numbers:
        for employee in client.list_employees(employee_nos=numbers):
            if employee.get("Number") is not None:
                answers.employees[int(employee["Number"])] = employee


def _ask_poweroffice(
    *,
    subgroup: Subgroup,
    connection: Connection | None,
    mappings: dict[str, WageCodeMapping],
    drivers: list[User],
    client: PowerOfficeClient | None,
) -> _Answers:
    answers = _Answers()
    if connection is None or not connection.payroll_enabled:
        answers.connection.append(
            Problem(
                "connection",
                f"{not_active_text(subgroup)} Aktiver integrasjonen før eksport.",
                integrations_link(),
                "Administrasjon > Integrasjoner",
            )
        )
        return answers
    numbers = sorted({d.employee_number for d in drivers if d.employee_number})
    own = client is None
    try:
        if client is None:
            client = connection_client(connection)
        before = client.stats.requests
        try:
            client_identity_confirm(connection=connection, client=client)
            _ask(answers, client, subgroup=subgroup, mappings=mappings, numbers=numbers)
        finally:
            answers.requests = client.stats.requests - before
            if own:
                client.close()
    except (NotConnected, SecretUnreadable) as exc:
        answers.connection.append(
            Problem("connection", str(exc), integrations_link(), "Integrasjoner")
        )
    except ClientMismatch as mismatch:
        answers.connection.append(
            Problem(
                "client_changed",
                str(mismatch),
                reverse("datadeling:index"),
                "Administrasjon > Datadeling",
            )
        )
    except PowerOfficeError as exc:
        answers.connection.append(
            Problem(
                "connection",
                "PowerOffice Go kunne ikke kontrollere eksporten: "
                + error_message(exc, context=Context.KEY_CHECK),
            )
        )
    else:
        answers.asked = True
    return answers


def _employee_number_problems(drivers: list[User]) -> list[Problem]:
    """Validation 2: every driver has an employee number of their own."""
    problems = [
        _user_problem(
            "employee_number",
            f"{driver} har levert kjørebok, men mangler Ansettelsesnr. (PowerOffice).",
            driver,
        )
        for driver in drivers
        if not driver.employee_number
    ]
    by_number: dict[int, list[User]] = {}
    for driver in drivers:
        if driver.employee_number:
            by_number.setdefault(driver.employee_number, []).append(driver)
    for number, same in sorted(by_number.items()):
        if len(same) > 1:
            names = " og ".join(str(d) for d in same)
            problems.append(
                _user_problem(
                    "employee_number",
                    f"{names} har samme Ansettelsesnr. (PowerOffice) {number}.",
                    same[-1],
                )
            )
    return problems


def _employee_problems(drivers: list[User], employees: dict[int, Employee]) -> list[Problem]:
    """Validation 3: every employee number is an employee in PowerOffice Go, not archived."""
    problems = []
    for driver in drivers:
        number = driver.employee_number
        if not number:
            continue
        employee = employees.get(number)
        if employee is None:
            problems.append(
                _user_problem(
                    "employee_missing",
                    f"{driver} (ansattnr. {number}) finnes ikke som ansatt i PowerOffice Go. "
                    "Kontroller ansattnummeret, eller opprett den ansatte i PowerOffice Go.",
                    driver,
                )
            )
        elif employee.get("IsArchived"):
            problems.append(
                _user_problem(
                    "employee_missing",
                    f"{driver} (ansattnr. {number}) er arkivert i PowerOffice Go.",
                    driver,
                )
            )
    return problems


def _reimbursement_problems(subgroup: Subgroup, computation: Computation) -> list[Problem]:
    """Validation 4 (every kind in the logbooks has a pay item), and a rate for every year."""
    problems = []
    for kind in KIND_ORDER:
        trips = computation.unmapped.get(kind)
        if trips:
            problems.append(
                Problem(
                    "unmapped",
                    f"{KIND_LABELS[kind]} har ingen lønnskode: {trips} "
                    f"{'tur' if trips == 1 else 'turer'} i utvalget har "
                    f"{KIND_LABELS[kind].lower()}, men ingen lønnsart er satt opp for det.",
                    wage_codes_link(subgroup),
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
    return problems


def payroll_export_check(
    *, subgroup: Subgroup, log_ids: Iterable[int], client: PowerOfficeClient | None = None
) -> ExportCheck:
    """The guide's validations on "Søk", in its order, each naming who or what is wrong and
    where it is fixed:

    0. the key still opens the PowerOffice client the subgroup is connected to
       (``datadeling.identity``; no request for a key already seen to open it);
    1. every configured pay item code exists and is active in PowerOffice Go (GET /PayItems);
    2. every driver has an employee number (Ansettelsesnr. (PowerOffice));
    3. every employee number exists in PowerOffice Go (GET /Employees?employeeNos=);
    4. every kind of reimbursement in the logbooks has a pay item code.

    Two PowerOffice requests (plus a token), whatever the number of drivers and trips.
    """
    log_ids = list(log_ids)
    connection = connection_get(subgroup)
    mappings = wage_code_mappings(subgroup=subgroup)
    computation = salary_lines_compute(log_ids=log_ids, mappings=mappings)
    drivers = drivers_of(log_ids)
    answers = _ask_poweroffice(
        subgroup=subgroup, connection=connection, mappings=mappings, drivers=drivers, client=client
    )
    problems = [
        *answers.connection,
        *answers.pay_items,
        *_employee_number_problems(drivers),
        *(_employee_problems(drivers, answers.employees) if answers.asked else []),
        *_reimbursement_problems(subgroup, computation),
    ]
    # Attach what PowerOffice answered to the computed lines.
    for line in computation.lines:
        mapping = mappings.get(line.kinds[0])
        if mapping is not None:
            line.pay_item_id = mapping.pay_item_id
            line.pay_item_name = mapping.pay_item_name
            line.processing_type = mapping.pay_item_processing_type
    return ExportCheck(problems, computation, answers.employees, answers.requests)
