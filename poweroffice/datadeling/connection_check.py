"""«Test tilkoblingen»: what PowerOffice says about a subgroup's key, line by line.

One request (GET /ClientIntegrationInformation) answers it all: whether the key works, which
client it opens (the one the connection was verified against, no other subgroup's), whether the
client has the modules the chosen options need, and whether the integration holds every
privilege they need. Each problem says, in Norwegian, what the customer or PowerOffice must do.
Used by the Datadeling button and ``manage.py poweroffice_check``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bitnet.identifiers import org_number_format
from poweroffice.client.errors import PowerOfficeError
from poweroffice.crypto import SecretUnreadable
from poweroffice.datadeling.connection import NotConnected, connection_client
from poweroffice.datadeling.identity import client_mismatch_message, client_owner
from poweroffice.models import Connection

logger = logging.getLogger(__name__)

ACCOUNTING = "Accounting"
PAYROLL = "Payroll"
INVOICE_PRIVILEGE = "OutgoingInvoiceVoucher_Full"
SALARY_PRIVILEGE = "SalaryLine_Full"

_MODULES = {ACCOUNTING: "Regnskap", PAYROLL: "Lønn"}
_PRIVILEGES = {
    INVOICE_PRIVILEGE: "bokføre utgående fakturaer (eksport av fakturaer)",
    SALARY_PRIVILEGE: "opprette lønnslinjer (eksport av lønn)",
}


@dataclass
class CheckLine:
    ok: bool
    message: str


@dataclass
class ConnectionReport:
    lines: list[CheckLine] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.lines) and all(line.ok for line in self.lines)

    @property
    def problems(self) -> list[str]:
        return [line.message for line in self.lines if not line.ok]

    def add(self, ok: bool, message: str) -> None:
        self.lines.append(CheckLine(ok, message))


def _needs(connection: Connection) -> tuple[list[str], list[str]]:
    """The modules and privileges the connection's options need."""
    modules, privileges = [], []
    if connection.enabled:
        modules.append(ACCOUNTING)
        privileges.append(INVOICE_PRIVILEGE)
    if connection.payroll_enabled:
        modules.append(PAYROLL)
        privileges.append(SALARY_PRIVILEGE)
    return modules, privileges


def _identity(report: ConnectionReport, connection: Connection, info: dict[str, Any]) -> None:
    name = str(info.get("ClientName") or "")
    client_id = str(info.get("ClientId") or "")
    changed = client_mismatch_message(connection=connection, info=info)
    owner = client_owner(connection=connection, client_id=client_id)
    if changed:
        report.add(False, changed)
    elif owner is not None:
        report.add(
            False,
            f"Klientnøkkelen åpner «{name}», som også er koblet til {owner.subgroup.name}. "
            f"{connection.subgroup.name} må ha sin egen klient i PowerOffice: lim inn "
            "klientnøkkelen fra den under Administrasjon > Datadeling.",
        )
    else:
        org = (
            f", org.nr. {org_number_format(connection.client_org_number)}"
            if connection.client_org_number and connection.client_id == client_id
            else ""
        )
        report.add(True, f"Klientnøkkelen virker og åpner «{name}» (klient-ID {client_id}{org}).")


def _capabilities(report: ConnectionReport, connection: Connection, info: dict[str, Any]) -> None:
    name = f"«{info.get('ClientName')}»" if info.get("ClientName") else "klienten"
    subscriptions = set(info.get("ActiveClientSubscriptions") or [])
    valid = set(info.get("ValidPrivileges") or [])
    invalid = set(info.get("InvalidPrivileges") or [])
    modules, privileges = _needs(connection)
    for module in modules:
        label = _MODULES[module]
        if module in subscriptions:
            report.add(True, f"{name} har modulen {label} i PowerOffice Go.")
        else:
            report.add(
                False,
                f"{name} har ikke modulen {label} i PowerOffice Go. Kunden må bestille "
                f"{label} for klienten hos PowerOffice, og så teste tilkoblingen på nytt.",
            )
    for privilege in privileges:
        what = _PRIVILEGES[privilege]
        if privilege in valid:
            report.add(True, f"Integrasjonen kan {what} ({privilege}).")
        elif privilege in invalid:
            report.add(
                False,
                f"Integrasjonen har rettigheten til å {what} ({privilege}), men den gjelder "
                f"ikke for abonnementet til {name}. Kunden må utvide abonnementet hos "
                "PowerOffice.",
            )
        else:
            report.add(
                False,
                f"Integrasjonen mangler rettigheten til å {what} ({privilege}) hos {name}. "
                "Kunden må gi Bitnet denne tilgangen under Innstillinger > Utvidelser i "
                "PowerOffice Go; får de ikke valgt den, må PowerOffice legge den til "
                "integrasjonen.",
            )


def capability_problems(*, connection: Connection, info: dict[str, Any]) -> list[str]:
    """What the options need and the client or integration lacks (no request of its own)."""
    report = ConnectionReport()
    _capabilities(report, connection, info)
    return report.problems


def connection_check(*, connection: Connection) -> ConnectionReport:
    """Test the subgroup's key and what its options need, without changing anything."""
    report = ConnectionReport()
    try:
        with connection_client(connection) as client:
            info = client.get_client_integration_information() or {}
    except (NotConnected, SecretUnreadable) as exc:
        report.add(False, str(exc))
        return report
    except PowerOfficeError as exc:
        # Imported here: poweroffice.messages imports the connection module.
        from poweroffice.messages import Context, error_message

        logger.info("Connection test failed: %s", type(exc).__name__)
        report.add(False, error_message(exc, context=Context.KEY_CHECK))
        return report
    _identity(report, connection, info)
    _capabilities(report, connection, info)
    return report
