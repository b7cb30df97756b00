"""The test voucher of ``manage.py poweroffice_check --post-test-voucher``: one small outgoing
invoice posted the way an export posts it, and reversed again.

Only the writes prove what PowerOffice's integration information cannot: that the integration
may really post an outgoing invoice voucher (``OutgoingInvoiceVoucher_Full``, the privilege the
public contract leaves out), with the agency's own sales account and VAT code. It is meant for
PowerOffice's demo environment (``/Demo/v2``) or the sandbox, and is refused against production,
where it would appear in the customer's accounts.

What it leaves behind, in the demo client: one customer "Bitnet tilkoblingstest" (found again by
its ``ExternalImportReference`` the next time), the voucher and its reversal.
"""

from __future__ import annotations

import logging
import time
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounting.models import Article
from poweroffice.client.client import PowerOfficeClient
from poweroffice.client.environment import Environment, environment_of
from poweroffice.client.errors import ForbiddenError, PowerOfficeError
from poweroffice.datadeling.connection import connection_client
from poweroffice.datadeling.connection_check import ConnectionReport
from poweroffice.invoices.reference import ExportCache, ExportProblem
from poweroffice.messages import Context, error_message
from poweroffice.models import Connection

logger = logging.getLogger(__name__)

AMOUNT = Decimal("1.00")
CUSTOMER_NAME = "Bitnet tilkoblingstest"
REVERSE_PRIVILEGE = "YearEndVoucher_Full"

PRODUCTION_REFUSED = (
    "Prøvebilaget sendes bare til PowerOffice sitt demomiljø (/Demo/v2) eller til sandkassen. "
    "Denne installasjonen er koblet til PowerOffice Go i produksjon, der bilaget ville blitt "
    "bokført i kundens regnskap. Test mot demomiljøet med POWEROFFICE_API_URL og "
    "POWEROFFICE_TOKEN_URL."
)


def trial_voucher_allowed() -> bool:
    """False when the app talks to PowerOffice Go in production."""
    return environment_of(settings.POWEROFFICE_API_URL) != Environment.PRODUCTION


def _customer_reference(connection: Connection) -> str:
    return f"bitnet-test-customer-{connection.subgroup_id}"


def _article(connection: Connection) -> Article | None:
    """The agency's first active article: its sales account and VAT code are the ones the
    test voucher uses."""
    return (
        Article.objects.filter(agency_id=connection.subgroup.agency_id, is_active=True)
        .select_related("account", "vat_code")
        .order_by("name", "pk")
        .first()
    )


def _customer_account_id(client: PowerOfficeClient, connection: Connection) -> int:
    reference = _customer_reference(connection)
    customer = client.find_customer(external_import_reference=reference)
    if customer is None:
        customer = client.create_customer(
            {"Name": CUSTOMER_NAME, "IsPerson": False, "ExternalImportReference": reference}
        )
    return int(customer["SubledgerAccountId"])


def _body(
    connection: Connection, article: Article, cache: ExportCache, customer_account_id: int
) -> dict[str, Any]:
    today = timezone.localdate()
    account = cache.account(article.account.number)
    vat_id = cache.vat_id(code=article.vat_code.code, rate=article.vat_code.rate, on=today)
    stamp = int(time.time())
    return {
        # Digits only, far above any invoice number of Bitnet's; free again once reversed.
        "InvoiceNo": f"9{stamp}",
        "ExternalImportReference": f"bitnet-test-{connection.subgroup_id}-{stamp}",
        "VoucherDate": today,
        "DueDate": today,
        "CurrencyCode": "NOK",
        "CurrencyAmount": AMOUNT,
        "CustomerAccountId": customer_account_id,
        "Description": "Prøvebilag fra Bitnet (tilkoblingstest), reverseres straks",
        "OutgoingInvoiceLines": [
            {
                "AccountId": int(account["Id"]),
                "VatId": vat_id,
                "Quantity": Decimal(1),
                "CurrencyAmount": AMOUNT,
                "Description": f"Tilkoblingstest – {article.name}"[:250],
            }
        ],
    }


def trial_voucher_run(*, connection: Connection, report: ConnectionReport) -> None:
    """Post the test voucher and reverse it, adding what happened to ``report``."""
    if not trial_voucher_allowed():
        report.add(False, PRODUCTION_REFUSED)
        return
    article = _article(connection)
    if article is None:
        report.add(
            False,
            "Prøvebilaget trenger en aktiv vare med salgskonto og MVA-kode. Legg inn en under "
            "Administrasjon > Varer.",
        )
        return
    with connection_client(connection) as client:
        try:
            cache = ExportCache(connection=connection, client=client)
            body = _body(connection, article, cache, _customer_account_id(client, connection))
            voucher = client.create_outgoing_invoice_voucher(body)
        except ExportProblem as exc:
            report.add(False, f"Prøvebilaget ble ikke sendt: {exc}")
            return
        except PowerOfficeError as exc:
            logger.info("Test voucher not posted: %s", type(exc).__name__)
            report.add(
                False,
                "PowerOffice tok ikke imot prøvebilaget: "
                + error_message(exc, context=Context.EXPORT),
            )
            return
        number = voucher.get("VoucherNo") or "uten nummer"
        report.add(
            True,
            f"Prøvebilag (faktura {body['InvoiceNo']}, kr 1,00 på konto {article.account.number}, "
            f"MVA-kode {article.vat_code.code}) ble bokført som bilag {number}.",
        )
        try:
            client.reverse_outgoing_invoice_voucher(str(voucher["Id"]))
        except ForbiddenError:
            report.add(
                False,
                f"Bilag {number} kunne ikke reverseres: integrasjonen mangler rettigheten "
                f"{REVERSE_PRIVILEGE}. Reverser bilag {number} for hånd i PowerOffice Go.",
            )
            return
        except PowerOfficeError as exc:
            logger.info("Test voucher not reversed: %s", type(exc).__name__)
            report.add(
                False,
                f"Bilag {number} kunne ikke reverseres ("
                + error_message(exc, context=Context.EXPORT)
                + f"). Reverser bilag {number} for hånd i PowerOffice Go.",
            )
            return
        report.add(True, f"Bilag {number} er reversert igjen.")
