"""PowerOffice's reference data kept between exports: a lone export costs its voucher (and its
PDF) once the client is known, and the kept data is read again when PowerOffice changed under it
(a deleted account, a renamed product code, a new VAT code, Valider kontoplan, Synkroniser
avdelinger). Counted from the sandbox's request log."""

import pytest

from accounting.models import ExportStatus, Invoice
from poweroffice.chart.services import account_chart_validate
from poweroffice.datadeling.departments import departments_sync
from poweroffice.invoices.export import invoice_export
from poweroffice.invoices.products import product_code
from poweroffice.models import AttemptTrigger
from tests.fixtures.export import make_invoice

pytestmark = pytest.mark.django_db


def _export(invoice) -> None:
    result = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.AUTOMATIC)
    assert result.outcome == "exported", result.message


def _sent(world) -> list[tuple[str, str]]:
    """(method, route) of every API request of the world's client since the log was cleared."""
    return [
        (r["method"], r["route"])
        for r in world.sandbox.requests_log()
        if r["client_name"] == world.client_name and r["route"] != "/OAuth/Token"
    ]


def _warm(world, lines=None):
    """A first export: the products and the customer exist in PowerOffice from now on."""
    first = make_invoice(world, lines)
    _export(first)
    world.sandbox.clear_requests()
    return first


def test_a_lone_export_in_the_steady_state_sends_its_voucher_alone(export_world):
    world = export_world
    _warm(world)

    _export(make_invoice(world))
    assert _sent(world) == [("POST", "/Vouchers/OutgoingInvoiceJournals")]

    world.set_options(include_specification=True)
    world.sandbox.clear_requests()
    invoice = make_invoice(world, [("kiste", "1"), ("honorar", "1")], customer="estate")
    _export(invoice)
    assert _sent(world) == [
        ("POST", "/Vouchers/OutgoingInvoiceJournals"),
        ("PUT", "/VoucherDocumentation"),
    ]


def test_a_new_customer_and_article_are_asked_for_in_one_request_per_kind(export_world):
    world = export_world
    _warm(world, [("kiste", "1")])

    # Two articles and a customer PowerOffice has not seen: one GET each kind, then the creates.
    _export(
        make_invoice(world, [("krans", "1"), ("transport", "2"), ("kiste", "1")], customer="person")
    )
    sent = _sent(world)
    assert sent.count(("GET", "/Products")) == 1
    assert sent.count(("GET", "/Customers")) == 1
    assert sent.count(("POST", "/Products")) == 2
    assert ("GET", "/GeneralLedgerAccounts") in sent  # accounts 3020 and 3040, one request
    assert sent.count(("GET", "/GeneralLedgerAccounts")) == 1
    assert ("GET", "/VatCodes") not in sent

    # Created ones are kept at once.
    world.sandbox.clear_requests()
    _export(make_invoice(world, [("krans", "1"), ("transport", "1")], customer="person"))
    assert _sent(world) == [("POST", "/Vouchers/OutgoingInvoiceJournals")]


def test_an_account_deleted_in_poweroffice_is_read_again_after_the_404(export_world):
    world = export_world
    _warm(world)
    old_id = world.account_id(3000)
    account = world.sandbox.record(world.client_key, "accounts", old_id)
    world.sandbox.remove(world.client_key, "accounts", old_id)
    # Someone makes account 3000 again in PowerOffice: it has a new id.
    fields = {k: v for k, v in account.items() if k not in ("Id",)}
    new_id = world.sandbox.seed(world.client_key, "accounts", **fields)["Id"]
    assert new_id != old_id

    invoice = make_invoice(world)
    _export(invoice)

    sent = _sent(world)
    assert sent == [
        ("POST", "/Vouchers/OutgoingInvoiceJournals"),  # 404: the kept id is gone
        ("GET", "/GeneralLedgerAccounts"),
        ("POST", "/Vouchers/OutgoingInvoiceJournals"),
    ]
    statuses = [r["status"] for r in world.posted()]
    assert statuses == [404, 201]
    [voucher] = [v for v in world.vouchers() if v["InvoiceNo"] == str(invoice.number)]
    kiste_line = voucher["OutgoingInvoiceLines"][0]
    assert kiste_line["AccountId"] == new_id

    # The next one uses the new id straight away.
    world.sandbox.clear_requests()
    _export(make_invoice(world))
    assert _sent(world) == [("POST", "/Vouchers/OutgoingInvoiceJournals")]


def test_an_account_deleted_for_good_fails_with_the_reason(export_world):
    world = export_world
    _warm(world)
    world.sandbox.remove(world.client_key, "accounts", world.account_id(3000))

    invoice = make_invoice(world)
    result = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.AUTOMATIC)

    assert result.outcome == "failed"
    assert "Konto 3000 finnes ikke i PowerOffice" in result.message
    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.FAILED
    # One refresh, not a loop.
    assert _sent(world).count(("GET", "/GeneralLedgerAccounts")) == 1


def test_a_renamed_product_code_is_seen_when_the_kept_product_ages_out(export_world, settings):
    world = export_world
    _warm(world, [("kiste", "1")])
    code = product_code(world.articles["kiste"])
    old = world.sandbox.find(world.client_key, "products", Code=code)
    world.sandbox.update(world.client_key, "products", old["Id"], Code="KISTE-EIK")

    # Within its lifetime the kept product is used as it is (its id still exists).
    _export(make_invoice(world, [("kiste", "1")]))
    assert _sent(world) == [("POST", "/Vouchers/OutgoingInvoiceJournals")]

    # Older than POWEROFFICE_REFERENCE_TTL_OWN (products and customers): PowerOffice is asked,
    # has no product with our code any more, and gets it again.
    settings.POWEROFFICE_REFERENCE_TTL_OWN = 0
    world.sandbox.clear_requests()
    invoice = make_invoice(world, [("kiste", "1")])
    _export(invoice)
    assert _sent(world) == [
        ("GET", "/Products"),
        ("GET", "/Customers"),
        ("POST", "/Products"),
        ("POST", "/Vouchers/OutgoingInvoiceJournals"),
    ]
    new = world.sandbox.find(world.client_key, "products", Code=code)
    assert new["Id"] != old["Id"]
    [voucher] = [v for v in world.vouchers() if v["InvoiceNo"] == str(invoice.number)]
    assert voucher["OutgoingInvoiceLines"][0]["ProductId"] == new["Id"]


def test_a_vat_code_added_in_poweroffice_is_found_by_reading_the_codes_again(export_world):
    world = export_world
    entry = world.sandbox.find(world.client_key, "vatcodes", Code="33", ValidTo=None)
    world.sandbox.remove(world.client_key, "vatcodes", entry["Id"])
    _warm(world, [("kiste", "1")])  # the kept VAT codes have no 33

    missing = make_invoice(world, [("transport", "1")])  # 12 %: VAT code 33
    result = invoice_export(invoice_id=missing.pk, trigger=AttemptTrigger.AUTOMATIC)
    assert result.outcome == "failed" and "MVA-kode 33 mangler i PowerOffice" in result.message
    assert _sent(world).count(("GET", "/VatCodes")) == 1  # read again once, still missing

    world.sandbox.seed(world.client_key, "vatcodes", **entry)  # added (again) in PowerOffice
    world.sandbox.clear_requests()
    invoice = make_invoice(world, [("transport", "1")])
    _export(invoice)

    assert _sent(world).count(("GET", "/VatCodes")) == 1
    world.sandbox.clear_requests()
    _export(make_invoice(world, [("transport", "2")]))
    assert ("GET", "/VatCodes") not in _sent(world)


def test_valider_kontoplan_and_synkroniser_avdelinger_make_the_export_read_the_chart_again(
    export_world,
):
    world = export_world
    _warm(world)

    account_chart_validate(subgroup=world.subgroup)
    world.sandbox.clear_requests()
    _export(make_invoice(world))
    sent = _sent(world)
    assert sent.count(("GET", "/GeneralLedgerAccounts")) == 1
    assert sent.count(("GET", "/VatCodes")) == 1
    assert ("GET", "/Products") not in sent and ("GET", "/Customers") not in sent

    departments_sync(connection=world.connection)
    world.sandbox.clear_requests()
    _export(make_invoice(world))
    sent = _sent(world)
    assert sent.count(("GET", "/GeneralLedgerAccounts")) == 1
    assert sent.count(("GET", "/VatCodes")) == 1


def test_a_customer_deleted_in_poweroffice_is_made_again(export_world):
    world = export_world
    _warm(world)
    customer = world.sandbox.find(world.client_key, "customers", Number=10001)
    world.sandbox.remove(world.client_key, "customers", customer["Id"])

    invoice = make_invoice(world)
    _export(invoice)

    assert _sent(world) == [
        ("POST", "/Vouchers/OutgoingInvoiceJournals"),  # 404 on CustomerAccountId
        ("GET", "/Customers"),
        ("POST", "/Customers"),
        ("POST", "/Vouchers/OutgoingInvoiceJournals"),
    ]
    assert Invoice.objects.get(pk=invoice.pk).export_status == ExportStatus.EXPORTED


def test_the_kept_data_is_the_clients_and_holds_no_key(export_world):
    from django.core.cache import cache

    from poweroffice.crypto import decrypt_secret
    from poweroffice.invoices.refcache import ReferenceStore, client_scope

    world = export_world
    _warm(world)
    scope = client_scope(world.connection)
    assert world.connection.client_id in scope
    key = decrypt_secret(world.connection.client_key_encrypted)
    assert key not in scope
    store = ReferenceStore(scope)
    kept = store.get_items("customers", [10001])[10001]
    assert set(kept) <= {
        "Id",
        "Number",
        "SubledgerAccountId",
        "ExternalImportReference",
        "IsArchived",
    }
    # Another client (another scope) sees none of it.
    assert ReferenceStore(scope + "-other").get_items("customers", [10001]) == {}
    assert cache.get(f"poweroffice:ref:{scope}:customers:generation")
