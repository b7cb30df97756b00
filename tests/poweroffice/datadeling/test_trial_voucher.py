"""``manage.py poweroffice_check --post-test-voucher``: a small outgoing invoice voucher posted and
reversed in PowerOffice's demo environment or the sandbox, never in production."""

import pytest
from django.core.management import CommandError, call_command

from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_article(oslo, sandbox, subgroup_a):
    """The connected subgroup, with an article for the test voucher and a clean request log."""
    ArticleFactory(agency=subgroup_a.agency, name="Kiste")
    sandbox.clear_requests()
    return oslo


def _trial(connection) -> None:
    call_command(
        "poweroffice_check", "--subgroup", str(connection.subgroup_id), "--post-test-voucher"
    )


def test_posts_one_voucher_and_reverses_it(with_article, sandbox, capsys):
    connection, key = with_article

    _trial(connection)

    out = capsys.readouterr().out
    vouchers = sandbox.data(key, "vouchers")
    assert len(vouchers) == 1
    voucher = vouchers[0]
    assert voucher["IsReversed"] is True
    assert voucher["CurrencyAmount"] in ("1.00", 1, 1.0, "1")
    number = voucher["VoucherNo"]
    assert f"ble bokført som bilag {number}" in out
    assert f"Bilag {number} er reversert igjen." in out
    assert "konto 3000, MVA-kode 3" in out
    assert "Tilkoblingen for" in out and "er i orden" in out
    # The invoice behind it is reversed too: nothing stays open in the customer ledger.
    invoices = sandbox.data(key, "outgoinginvoices")
    assert [i["IsReversed"] for i in invoices] == [True]
    reversals = sandbox.requests_log(method="POST", path="Vouchers/Reverse")
    assert [r["status"] for r in reversals] == [202]


def test_second_run_reuses_the_test_customer(with_article, sandbox):
    connection, key = with_article

    _trial(connection)
    _trial(connection)

    customers = [c for c in sandbox.data(key, "customers") if c["Name"] == "Bitnet tilkoblingstest"]
    assert len(customers) == 1
    assert [v["IsReversed"] for v in sandbox.data(key, "vouchers")] == [True, True]


def test_refused_against_production_before_any_request(with_article, sandbox, settings):
    connection, _ = with_article
    settings.POWEROFFICE_API_URL = "https://goapi.poweroffice.net/v2"
    settings.POWEROFFICE_TOKEN_URL = "https://goapi.poweroffice.net/OAuth/Token"

    with pytest.raises(CommandError, match="koblet til PowerOffice Go i produksjon"):
        _trial(connection)

    assert sandbox.requests_log() == []


def test_missing_invoice_privilege_is_said_and_nothing_posted(with_article, sandbox, capsys):
    connection, key = with_article
    sandbox.patch_client(key, remove_privileges=["OutgoingInvoiceVoucher_Full"])

    with pytest.raises(CommandError):
        _trial(connection)

    out = capsys.readouterr().out
    assert "OutgoingInvoiceVoucher_Full" in out
    assert "Prøvebilaget ble ikke sendt: rett feilene over først." in out
    assert sandbox.requests_log(method="POST") == []


def test_voucher_that_cannot_be_reversed_is_named_for_manual_reversal(
    with_article, sandbox, capsys
):
    connection, key = with_article
    sandbox.patch_client(key, remove_privileges=["YearEndVoucher_Full"])

    with pytest.raises(CommandError):
        _trial(connection)

    out = capsys.readouterr().out
    number = sandbox.data(key, "vouchers")[0]["VoucherNo"]
    assert (
        f"Bilag {number} kunne ikke reverseres: integrasjonen mangler rettigheten "
        f"YearEndVoucher_Full. Reverser bilag {number} for hånd i PowerOffice Go." in out
    )


def test_an_article_is_needed(oslo, sandbox, capsys):
    connection, key = oslo

    with pytest.raises(CommandError):
        _trial(connection)

    assert "trenger en aktiv vare" in capsys.readouterr().out
    assert sandbox.data(key, "vouchers") == []
