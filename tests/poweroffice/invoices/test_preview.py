"""«Forhåndsvis eksport»: the preview is the voucher the export posts, and it sends nothing.

Against the real sandbox over HTTP; our client is never mocked.
"""

import json
from decimal import Decimal

import pytest

from accounting.models import ExportStatus
from poweroffice.client.params import encode_json
from poweroffice.invoices.export import invoice_export
from poweroffice.invoices.preview import invoice_export_preview
from poweroffice.models import AttemptTrigger
from tests.fixtures.export import make_credit_note, make_invoice

pytestmark = pytest.mark.django_db

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _url(invoice) -> str:
    return f"/okonomi/fakturaer/{invoice.pk}/forhandsvis-eksport/"


def _writes(world) -> list[dict]:
    """Requests that could change the client's data; asking for an access token cannot."""
    return [
        r
        for r in world.sandbox.requests_log()
        if r["method"] in WRITES and r["route"] != "/OAuth/Token"
    ]


def _json(body: dict) -> dict:
    """The body as the client sends it."""
    return json.loads(encode_json(body))


def _lines(body: dict) -> list[tuple]:
    return [
        (
            line["AccountId"],
            line["VatId"],
            Decimal(str(line["Quantity"])),
            Decimal(str(line["CurrencyAmount"])),
            line["Description"],
            line.get("DepartmentId"),
        )
        for line in body["OutgoingInvoiceLines"]
    ]


def _stored(world, invoice) -> dict:
    [voucher] = [v for v in world.vouchers() if v["InvoiceNo"] == str(invoice.number)]
    return voucher


def test_preview_lines_and_amounts_are_the_voucher_posted_afterwards(export_world):
    world = export_world
    world.set_options(include_employee_number=True, include_specification=True)
    invoice = make_invoice(world, [("kiste", "1"), ("minnebok", "2"), ("servering", "12.5")])
    world.sandbox.clear_requests()

    preview = invoice_export_preview(invoice=invoice)

    assert preview.ready, preview.blockers
    assert _writes(world) == []
    assert preview.customer_new and all(item.product_new for item in preview.lines)
    assert preview.attach_pdf
    assert preview.seller == "Ola Hansen (ansattnr. 2)"
    result = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL, user=world.user)
    assert result.outcome == "exported", result.message
    stored = _stored(world, invoice)
    assert _lines(_json(preview.body)) == _lines(stored)
    assert [item.amount for item in preview.lines] == [
        Decimal(str(line["CurrencyAmount"])) for line in stored["OutgoingInvoiceLines"]
    ]
    assert Decimal(str(stored["CurrencyAmount"])) == preview.total == invoice.gross_total
    for key in ("InvoiceNo", "Cid", "DueDate", "VoucherDate", "SalesPersonEmployeeId"):
        assert _json(preview.body)[key] == stored[key], key

    # Customer and products known now: the preview is the posted body, id for id.
    second = make_invoice(world, [("servering", "4"), ("minnebok", "3")])
    world.sandbox.clear_requests()
    preview = invoice_export_preview(invoice=second)
    assert _writes(world) == []
    assert not preview.customer_new and not any(item.product_new for item in preview.lines)
    invoice_export(invoice_id=second.pk, trigger=AttemptTrigger.MANUAL, user=world.user)
    [posted] = world.posted()
    assert _json(preview.body) == posted["body"]


def test_preview_of_a_credit_note_matches_its_voucher(export_world):
    world = export_world
    invoice = make_invoice(world)
    invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL, user=world.user)
    credit = make_credit_note(world, invoice)
    world.sandbox.clear_requests()
    preview = invoice_export_preview(invoice=credit)
    assert preview.ready, preview.blockers
    assert _writes(world) == []
    invoice_export(invoice_id=credit.pk, trigger=AttemptTrigger.MANUAL, user=world.user)
    [posted] = world.posted()
    assert _json(preview.body) == posted["body"]


def test_page_shows_what_poweroffice_gets_in_finance_terms(client, export_world, finance_a):
    world = export_world
    invoice = make_invoice(world)
    world.sandbox.clear_requests()
    client.force_login(finance_a)

    html = client.get(_url(invoice)).content.decode()

    assert _writes(world) == []
    assert "opprettes som ny kunde i PowerOffice" in html
    assert "Alt er klart" in html
    assert "3000" in html and f"B-{world.articles['kiste'].pk}" in html
    assert invoice.kid in html
    assert "fakturaspesifikasjonen legges ikke ved" in html
    detail = client.get(f"/okonomi/fakturaer/{invoice.pk}/").content.decode()
    assert _url(invoice) in detail and "Forhåndsvis eksport" in detail


def test_missing_account_is_shown_and_nothing_is_sent(client, export_world, finance_a):
    world = export_world
    invoice = make_invoice(world, [("kiste", "1"), ("krans", "1")])
    world.sandbox.remove(world.client_key, "accounts", world.account_id(3020))
    world.sandbox.clear_requests()
    client.force_login(finance_a)

    html = client.get(_url(invoice)).content.decode()

    assert "Dette stopper eksporten" in html
    assert "Konto 3020 finnes ikke i PowerOffice" in html
    assert _writes(world) == []
    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.NOT_EXPORTED


def test_connection_off_is_the_reason(client, export_world, finance_a):
    world = export_world
    invoice = make_invoice(world)
    world.set_options(enabled=False)
    world.sandbox.clear_requests()
    client.force_login(finance_a)

    html = client.get(_url(invoice)).content.decode()

    assert "«PowerOffice som regnskapssystem» er ikke slått på" in html
    assert world.sandbox.requests_log() == []


def test_prerequisites_not_met_and_held_invoice_say_why(export_world):
    world = export_world
    invoice = make_invoice(world)
    world.set_options(
        prerequisites_ok=False,
        prerequisites=[{"key": "vat", "title": "MVA-koder", "status": "error"}],
    )
    preview = invoice_export_preview(invoice=invoice)
    assert any("forutsetningene for PowerOffice ikke er oppfylt" in n for n in preview.notes)
    assert any("MVA-koder" in n for n in preview.notes)

    invoice.export_status = ExportStatus.HELD
    invoice.export_error = "Eksport for undergruppen er holdt tilbake."
    invoice.save()
    preview = invoice_export_preview(invoice=invoice)
    assert "Holdt tilbake: Eksport for undergruppen er holdt tilbake." in preview.blockers
    assert _writes(world) == []


def test_other_client_behind_the_key_is_shown_and_nothing_is_held(export_world):
    world = export_world
    invoice = make_invoice(world)
    world.connection.client_id = "00000000-0000-0000-0000-000000000000"
    world.connection.client_name = "Et annet AS"
    world.connection.save()
    world.sandbox.clear_requests()

    preview = invoice_export_preview(invoice=invoice)

    assert any("holdt tilbake" in reason and "Et annet AS" in reason for reason in preview.blockers)
    assert _writes(world) == []
    world.connection.refresh_from_db()
    assert world.connection.prerequisites_ok is not False


def test_access(client, export_world, personas):
    invoice = make_invoice(export_world)
    for name in ("user_a", "payroll_a"):
        client.force_login(personas[name])
        assert client.get(_url(invoice)).status_code == 403
    client.force_login(personas["admin_b"])
    assert client.get(_url(invoice)).status_code == 404
    client.force_login(personas["admin_a"])
    assert client.get(_url(invoice)).status_code == 200


def test_no_request_at_all_when_the_kept_data_suffices(export_world):
    world = export_world
    first = make_invoice(world)
    invoice_export(invoice_id=first.pk, trigger=AttemptTrigger.MANUAL, user=world.user)
    second = make_invoice(world)
    world.sandbox.clear_requests()

    preview = invoice_export_preview(invoice=second)

    assert preview.ready, preview.blockers
    assert preview.requests == 0
    assert world.sandbox.requests_log() == []
