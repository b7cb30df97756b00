"""Exporting invoices to PowerOffice: what PowerOffice received, field by field, and our state.

Against the real sandbox over HTTP; our client is never mocked.
"""

from decimal import Decimal

import pytest

from accounting.customers.services import customer_create
from accounting.models import CustomerKind, ExportStatus, PaymentStatus
from poweroffice.datadeling.departments import departments_sync
from poweroffice.invoices.export import export_cache_for, invoice_export
from poweroffice.invoices.voucher import voucher_reference
from poweroffice.models import AttemptOutcome, AttemptTrigger, ExportAttempt
from tests.fixtures.export import make_credit_note, make_invoice

pytestmark = pytest.mark.django_db


def _num(value) -> Decimal:
    return Decimal(str(value))


def test_invoice_with_vat_3_5_6_reaches_poweroffice_field_by_field(export_world):
    world = export_world
    world.sandbox.clear_requests()  # what the key save and its checklist asked
    invoice = make_invoice(
        world,
        [("kiste", "1"), ("minnebok", "2"), ("honorar", "1"), ("servering", "12.5")],
        their_reference="Per Nordmann",
    )
    assert invoice.gross_total == Decimal("32939.38")  # 23000 + 780 + 6500 + 2659.38

    result = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL, user=world.user)

    assert result.outcome == "exported", result.message
    # The customer: created with our number, inside PowerOffice's customer series.
    [customer_post] = world.posted("Customers")
    series = world.sandbox.find(
        world.client_key, "numberseries", SubLedgerNumberSeriesType="Customer"
    )
    assert customer_post["body"] == {
        "Number": 10001,
        "Name": "Dødsbo etter Ola Nordmann",
        "IsPerson": False,
        "ExternalImportReference": f"bitnet-cust-{world.subgroup.pk}-10001",
        "SubLedgerNumberSeriesId": series["Id"],
        "MailAddress": {
            "AddressLine1": "Storgata 1",
            "ZipCode": "0155",
            "City": "Oslo",
            "CountryCode": "NO",
        },
    }
    customer = world.sandbox.find(world.client_key, "customers", Number=10001)
    # The products "B-<article id>", created with our price.
    product_posts = {p["body"]["Code"]: p["body"] for p in world.posted("Products")}
    kiste = world.articles["kiste"]
    assert product_posts[f"B-{kiste.pk}"] == {
        "Code": f"B-{kiste.pk}",
        "Name": "Kiste, eik heltre",
        "UnitPrice": 18400.0,
        "StandardSalesAccountId": world.account_id(3000),
        "UnitOfMeasureCode": "EA",
    }
    assert set(product_posts) == {
        f"B-{world.articles[k].pk}" for k in ("kiste", "minnebok", "honorar", "servering")
    }
    products = {p["Code"]: p["Id"] for p in world.sandbox.data(world.client_key, "products")}

    # The voucher, exactly.
    [voucher_post] = world.posted()
    assert voucher_post["status"] == 201
    assert voucher_post["body"] == {
        "InvoiceNo": str(invoice.number),
        "ExternalImportReference": f"bitnet-inv-{world.subgroup.pk}-{invoice.number}",
        "VoucherDate": "2026-03-02",
        "DueDate": "2026-03-16",
        "Cid": invoice.kid,
        "CurrencyCode": "NOK",
        "CurrencyAmount": 32939.38,
        "CustomerAccountId": customer["SubledgerAccountId"],
        "CustomerReference": "Per Nordmann",
        "Description": f"Faktura {invoice.number} – Dødsbo etter Ola Nordmann",
        "CustomMatchingReference": f"bitnet-inv-{world.subgroup.pk}-{invoice.number}",
        "OutgoingInvoiceLines": [
            {
                "AccountId": world.account_id(3000),
                "VatId": world.vat_id("3"),
                "ProductId": products[f"B-{kiste.pk}"],
                "Quantity": 1.0,
                "CurrencyAmount": 23000.0,
                "Description": "Kiste, eik heltre",
            },
            {
                "AccountId": world.account_id(3100),
                "VatId": world.vat_id("5"),
                "ProductId": products[f"B-{world.articles['minnebok'].pk}"],
                "Quantity": 2.0,
                "CurrencyAmount": 780.0,
                "Description": "Minnebok",
            },
            {
                "AccountId": world.account_id(3200),
                "VatId": world.vat_id("6"),
                "ProductId": products[f"B-{world.articles['honorar'].pk}"],
                "Quantity": 1.0,
                "CurrencyAmount": 6500.0,
                "Description": "Byråets honorar",
            },
            {
                "AccountId": world.account_id(3030),
                "VatId": world.vat_id("31"),
                "ProductId": products[f"B-{world.articles['servering'].pk}"],
                "Quantity": 12.5,
                "CurrencyAmount": 2659.38,
                "Description": "Servering minnesamvær",
            },
        ],
    }
    # What PowerOffice booked: a balanced outgoing invoice, unpaid, VAT only on the 25 %/15 % lines.
    [booked] = world.sandbox.data(world.client_key, "outgoinginvoices")
    assert booked["InvoiceNo"] == invoice.number
    assert _num(booked["TotalAmount"]) == Decimal("32939.38")
    assert _num(booked["Balance"]) == Decimal("32939.38")
    assert booked["Cid"] == invoice.kid
    assert booked["VoucherType"] == "OutgoingInvoice"
    vat_by_code = {line["VatCode"]: _num(line["VatAmount"]) for line in booked["_lines"]}
    assert vat_by_code == {
        "3": Decimal("4600.00"),
        "5": Decimal("0.00"),
        "6": Decimal("0.00"),
        "31": Decimal("346.88"),
    }
    assert len(world.vouchers()) == 1
    assert world.posted("VoucherDocumentation", method="PUT") == []

    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.EXPORTED
    assert invoice.external_voucher_id == booked["Id"]
    assert invoice.export_error == ""
    assert invoice.export_attempts == 1
    assert invoice.payment_status == PaymentStatus.UNPAID
    assert invoice.balance == Decimal("32939.38")
    [attempt] = ExportAttempt.objects.filter(invoice=invoice)
    assert attempt.outcome == AttemptOutcome.SUCCESS
    assert attempt.trigger == AttemptTrigger.MANUAL
    assert attempt.user == world.user
    assert attempt.error == ""
    assert attempt.finished_at is not None and attempt.duration_ms is not None
    # token, VAT codes, accounts, products (GET + 4 POST), customers (GET + series + POST), voucher
    assert attempt.requests == len(world.sandbox.requests_log())


def test_department_employee_and_specification_pdf(export_world):
    world = export_world
    world.set_options(
        include_department=True, include_employee_number=True, include_specification=True
    )
    departments_sync(connection=world.connection)
    world.office.external_department_code = "2"
    world.office.save()
    invoice = make_invoice(world, [("kiste", "1"), ("transport", "1"), ("honorar", "1")])

    result = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL)

    assert result.outcome == "exported", result.message
    department_id = world.po_id("departments", Code="2")
    employee = world.sandbox.find(world.client_key, "employees", Number=2)
    [post] = world.posted()
    body = post["body"]
    assert body["DepartmentId"] == department_id
    assert body["SalesPersonEmployeeId"] == employee["Id"]
    assert [line["DepartmentId"] for line in body["OutgoingInvoiceLines"]] == [department_id] * 3
    assert [line["VatId"] for line in body["OutgoingInvoiceLines"]] == [
        world.vat_id("3"),
        world.vat_id("33"),
        world.vat_id("6"),
    ]
    [booked] = world.sandbox.data(world.client_key, "outgoinginvoices")
    assert booked["DepartmentCode"] == "2"
    assert booked["SellersReferenceEmployeeNo"] == 2
    # The specification PDF, attached to the voucher.
    [put] = world.posted("VoucherDocumentation", method="PUT")
    assert put["query"] == {"id": booked["Id"]}
    assert put["status"] == 204
    pdf = world.sandbox.hook(
        "GET", f"clients/{world.client_key}/vouchers/{booked['Id']}/documentation"
    )
    assert pdf.startswith(b"%PDF-")
    attachment = world.sandbox.state.clients[world.client_key]["attachments"][booked["Id"]]
    assert attachment["filename"] == f"fakturaspesifikasjon-{invoice.number}.pdf"
    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.EXPORTED


def test_credit_note_is_a_negative_voucher_that_refers_to_its_invoice(export_world):
    world = export_world
    invoice = make_invoice(world, [("kiste", "1"), ("minnebok", "1")])
    assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).ok
    credit = make_credit_note(world, invoice)

    result = invoice_export(invoice_id=credit.pk, trigger=AttemptTrigger.MANUAL)

    assert result.outcome == "exported", result.message
    post = world.posted()[-1]["body"]
    assert post["InvoiceNo"] == str(credit.number)
    assert post["CurrencyAmount"] == -23390.0
    assert [line["CurrencyAmount"] for line in post["OutgoingInvoiceLines"]] == [-23000.0, -390.0]
    assert [line["Quantity"] for line in post["OutgoingInvoiceLines"]] == [-1.0, -1.0]
    assert post["CustomMatchingReference"] == voucher_reference(invoice)
    assert post["ExternalImportReference"] == voucher_reference(credit)
    assert post["Cid"] == invoice.kid
    assert post["Description"] == (
        f"Kreditnota {credit.number} for faktura {invoice.number} – Dødsbo etter Ola Nordmann"
    )
    booked = {i["InvoiceNo"]: i for i in world.sandbox.data(world.client_key, "outgoinginvoices")}
    assert booked[credit.number]["VoucherType"] == "OutgoingCreditNote"
    assert _num(booked[credit.number]["TotalAmount"]) == Decimal("-23390.00")
    assert (
        booked[credit.number]["CustomMatchingReference"]
        == booked[invoice.number]["CustomMatchingReference"]
    )
    assert len(world.vouchers()) == 2
    # Customer and products existed already: one request for the voucher only, plus lookups.
    assert len(world.posted("Customers")) == 1
    assert len(world.posted("Products")) == 2


def test_credit_note_waits_for_its_invoice(export_world):
    world = export_world
    invoice = make_invoice(world, [("kiste", "1")])
    credit = make_credit_note(world, invoice)

    early = invoice_export(invoice_id=credit.pk, trigger=AttemptTrigger.AUTOMATIC)

    assert early.outcome == "failed" and early.retryable
    assert early.message.startswith(
        f"Kreditnotaen krediterer faktura {invoice.number}, som ikke er eksportert ennå."
    )
    assert world.vouchers() == []
    assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).ok
    assert invoice_export(invoice_id=credit.pk, trigger=AttemptTrigger.SWEEPER).ok
    assert [int(v["InvoiceNo"]) for v in world.vouchers()] == [invoice.number, credit.number]


def test_existing_product_and_customer_are_reused_with_our_price(export_world):
    world = export_world
    kiste = world.articles["kiste"]
    product = world.sandbox.seed(
        world.client_key,
        "products",
        Code=f"B-{kiste.pk}",
        Name="Kiste (PowerOffice)",
        UnitPrice=99.0,
    )
    customer = world.sandbox.seed(
        world.client_key, "customers", Name="Dødsbo etter Ola Nordmann", Number=10001
    )
    invoice = make_invoice(world, [("kiste", "2")])

    assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).ok

    assert world.posted("Customers") == []
    assert world.posted("Products") == []
    [post] = world.posted()
    assert post["body"]["CustomerAccountId"] == customer["SubledgerAccountId"]
    [line] = post["body"]["OutgoingInvoiceLines"]
    assert line["ProductId"] == product["Id"]
    assert line["CurrencyAmount"] == 46000.0  # 2 x 18 400 + 25 %, never PowerOffice's 99


def test_a_second_export_is_refused_and_sends_nothing(export_world):
    world = export_world
    invoice = make_invoice(world)
    assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).ok
    before = len(world.sandbox.requests_log())

    again = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL)

    assert again.outcome == "skipped" and again.already_exported
    assert "allerede eksportert" in again.message
    assert len(world.sandbox.requests_log()) == before
    assert len(world.vouchers()) == 1
    assert ExportAttempt.objects.filter(invoice=invoice).count() == 1


def test_prefetch_of_a_large_batch_keeps_every_url_short(export_world):
    """Up to 200 product codes and 500 customer numbers in one batch: asked for in parts, every
    URL under 2,000 characters, each code and number once."""
    world = export_world
    codes = [f"B-{100_000 + n}" for n in range(200)]
    numbers = list(range(10_001, 11_001, 2))
    cache = export_cache_for(world.connection)
    world.sandbox.clear_requests()

    cache.prefetch(account_numbers=[3000], product_codes=codes, customer_numbers=numbers)

    log = world.sandbox.requests_log(client=world.client_name, method="GET")
    assert max(len(world.sandbox.url + entry["target"]) for entry in log) < 2000
    asked = [e["query"]["codes"] for e in log if e["route"] == "/Products"]
    assert sorted(",".join(asked).split(",")) == sorted(codes)
    asked = [e["query"]["customerNos"] for e in log if e["route"] == "/Customers"]
    assert sorted(int(n) for n in ",".join(asked).split(",")) == numbers
    requests = len(world.sandbox.requests_log(client=world.client_name))
    assert cache.product(codes[0]) is None and cache.customer(numbers[-1]) is None
    assert len(world.sandbox.requests_log(client=world.client_name)) == requests


def test_person_with_a_one_word_name_gets_both_names(export_world):
    """PowerOffice wants FirstName and LastName for a person: a one-word name is the last name,
    with "-" for the first name missing in Bitnet."""
    world = export_world
    world.customers["mononym"] = customer_create(
        subgroup=world.subgroup, kind=CustomerKind.PERSON, name=" Aasmund ", number=10003
    )
    invoice = make_invoice(world, [("krans", "1")], customer="mononym")

    result = invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL)

    assert result.outcome == "exported", result.message
    [post] = world.posted("Customers")
    assert post["status"] == 201
    assert (post["body"]["IsPerson"], post["body"]["FirstName"], post["body"]["LastName"]) == (
        True,
        "-",
        "Aasmund",
    )
    customer = world.sandbox.find(world.client_key, "customers", Number=10003)
    assert (customer["FirstName"], customer["LastName"]) == ("-", "Aasmund")
