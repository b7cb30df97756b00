"""Økonomi > Fakturaer: invoice list access, new invoice, credit note and detail, end to end
through Django's test client against PostgreSQL (the list's filters: test_list.py)."""

import datetime as dt
from decimal import Decimal

import pytest

from accounting.models import ExportStatus, Invoice, InvoiceKind, InvoiceLine, PaymentStatus
from accounting.money import is_valid_kid, kid_for
from tests.factories import CustomerFactory, OfficeFactory, SubgroupFactory
from tests.fixtures.accounting import DAY


def _login(client, user):
    client.force_login(user)
    return client


def _page_urls(invoice, customer):
    return [
        "/okonomi/fakturaer/",
        "/okonomi/fakturaer/ny/",
        f"/okonomi/fakturaer/{invoice.pk}/",
        f"/okonomi/fakturaer/{invoice.pk}/krediter/",
        "/okonomi/kunder/",
        "/okonomi/kunder/ny/",
        f"/okonomi/kunder/{customer.pk}/",
    ]


# Access


@pytest.mark.parametrize("persona", ["admin_a", "finance_a"])
def test_every_page_renders_for_finance_and_administrators(
    client, personas, persona, invoice_a, customer_a
):
    _login(client, personas[persona])
    for url in _page_urls(invoice_a, customer_a):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"<main" in response.content


@pytest.mark.parametrize("persona", ["payroll_a", "user_a"])
def test_other_roles_are_refused(client, personas, persona, invoice_a, customer_a):
    _login(client, personas[persona])
    for url in _page_urls(invoice_a, customer_a):
        assert client.get(url).status_code == 403, url
    assert client.post("/okonomi/fakturaer/ny/", {}).status_code == 403
    assert client.post(f"/okonomi/fakturaer/{invoice_a.pk}/krediter/", {}).status_code == 403
    assert Invoice.objects.count() == 1


def test_anonymous_is_sent_to_login(client, invoice_a):
    response = client.get("/okonomi/fakturaer/")
    assert response.status_code == 302
    assert response["Location"].startswith("/logg-inn/")


def test_another_agencys_ids_are_404(client, admin_b, world_b, invoice_a, customer_a):
    _login(client, admin_b)
    for url in [
        f"/okonomi/fakturaer/{invoice_a.pk}/",
        f"/okonomi/fakturaer/{invoice_a.pk}/krediter/",
        f"/okonomi/kunder/{customer_a.pk}/",
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/okonomi/fakturaer/{invoice_a.pk}/krediter/", {}).status_code == 404
    assert not invoice_a.credit_notes.exists()
    # B's own pages work, and B's list never shows A's invoices.
    assert client.get(f"/okonomi/fakturaer/{world_b['invoice'].pk}/").status_code == 200
    listed = list(client.get("/okonomi/fakturaer/").context["page_obj"])
    assert listed == [world_b["invoice"]]
    customers = list(client.get("/okonomi/kunder/").context["page_obj"])
    assert customers == [world_b["customer"]]


def test_new_invoice_offers_only_own_agencys_rows(client, finance_a, catalogue, world_b):
    _login(client, finance_a)
    response = client.get("/okonomi/fakturaer/ny/")
    form, formset = response.context["form"], response.context["formset"]
    assert world_b["customer"] not in form.fields["customer"].queryset
    assert world_b["office"] not in form.fields["office"].queryset
    articles = set(formset.forms[0].fields["article"].queryset)
    assert articles == set(catalogue.values())


def test_foreign_customer_or_office_cannot_be_posted(
    client, finance_a, office_a, customer_a, catalogue, world_b
):
    _login(client, finance_a)
    data = _invoice_post(office_a, world_b["customer"], [(catalogue["kiste"], "1", "")])
    response = client.post("/okonomi/fakturaer/ny/", data)
    assert response.status_code == 200
    assert "customer" in response.context["form"].errors
    data = _invoice_post(world_b["office"], customer_a, [(catalogue["kiste"], "1", "")])
    response = client.post("/okonomi/fakturaer/ny/", data)
    assert "office" in response.context["form"].errors
    assert Invoice.objects.filter(agency=finance_a.agency).count() == 0


# New invoice


def _invoice_post(office, customer, lines, **extra):
    data = {
        "office": office.pk,
        "customer": customer.pk,
        "invoice_date": "2026-03-02",
        "due_date": "",
        "our_reference": "Per Hansen",
        "their_reference": "",
        "deceased_name": "Ola Nordmann",
        "note": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for i, (article, quantity, price, *rest) in enumerate(lines):
        data[f"lines-{i}-article"] = article.pk if article else ""
        data[f"lines-{i}-quantity"] = quantity
        data[f"lines-{i}-unit_price"] = price
        data[f"lines-{i}-description"] = rest[0] if rest else ""
    data.update(extra)
    return data


def test_invoice_created_through_the_form(client, finance_a, office_a, customer_a, catalogue):
    subgroup = office_a.subgroup
    _login(client, finance_a)
    data = _invoice_post(
        office_a,
        customer_a,
        [
            (catalogue["kiste"], "1", "11 990,50", "Kiste, hvit lakk"),
            (catalogue["blomster"], "2", ""),  # the article's price and name
            (catalogue["transport"], "1,5", "3400"),
            (catalogue["avgift"], "1", ""),
        ],
    )
    response = client.post("/okonomi/fakturaer/ny/", data)
    assert response.status_code == 302
    invoice = Invoice.objects.get()
    assert response["Location"] == f"/okonomi/fakturaer/{invoice.pk}/"

    assert invoice.number == subgroup.invoice_series_start == 100001
    assert invoice.kind == InvoiceKind.INVOICE
    assert invoice.kid == kid_for(customer_number=10500, invoice_number=100001)
    assert is_valid_kid(invoice.kid)
    assert invoice.invoice_date == DAY
    assert invoice.due_date == DAY + dt.timedelta(days=subgroup.payment_terms_days)
    assert invoice.created_by == finance_a
    assert invoice.deceased_name == "Ola Nordmann"
    assert invoice.subgroup == subgroup

    lines = list(invoice.lines.order_by("position"))
    assert [
        (ln.description, ln.quantity, ln.unit_price, ln.net_amount, ln.vat_amount) for ln in lines
    ] == [
        ("Kiste, hvit lakk", Decimal("1.000"), Decimal("11990.50"), Decimal("11990.50"),
         Decimal("2997.63")),
        ("Blomsterdekorasjon", Decimal("2.000"), Decimal("1250.00"), Decimal("2500.00"),
         Decimal("625.00")),
        ("Transport av avdøde", Decimal("1.500"), Decimal("3400.00"), Decimal("5100.00"),
         Decimal("0.00")),
        ("Kremasjonsavgift", Decimal("1.000"), Decimal("4100.00"), Decimal("4100.00"),
         Decimal("0.00")),
    ]  # fmt: skip
    assert invoice.net_total == Decimal("23690.50")
    assert invoice.vat_total == Decimal("3622.63")
    assert invoice.gross_total == Decimal("27313.13")
    subgroup.refresh_from_db()
    assert subgroup.next_invoice_number == 100002

    detail = client.get(response["Location"])
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "Faktura 100001" in html
    assert invoice.kid in html
    assert "27\xa0313,13" in html
    vat_totals = detail.context["data"].vat_totals
    assert [(t.code, t.net, t.vat) for t in vat_totals] == [
        ("3", Decimal("14490.50"), Decimal("3622.63")),
        ("5", Decimal("5100.00"), Decimal("0.00")),
        ("6", Decimal("4100.00"), Decimal("0.00")),
    ]

    # The next invoice takes the next number of the series.
    client.post("/okonomi/fakturaer/ny/", data)
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [100001, 100002]


def test_invoice_form_keeps_explicit_due_date_and_skips_removed_rows(
    client, finance_a, office_a, customer_a, catalogue
):
    _login(client, finance_a)
    data = _invoice_post(
        office_a,
        customer_a,
        [(catalogue["kiste"], "1", ""), (catalogue["blomster"], "0", ""), (None, "1", "")],
        due_date="2026-04-01",
    )
    data["lines-1-DELETE"] = "on"  # removed in the browser: its bad quantity does not count
    response = client.post("/okonomi/fakturaer/ny/", data)
    assert response.status_code == 302
    invoice = Invoice.objects.get()
    assert invoice.due_date == dt.date(2026, 4, 1)
    assert invoice.lines.count() == 1


BAD_INPUT = [
    (
        "quantity zero",
        {"lines": [("kiste", "0", "")]},
        ("line", "quantity"),
        "Antall må være større enn 0 på en faktura",
    ),
    (
        "quantity negative",
        {"lines": [("kiste", "-1", "")]},
        ("line", "quantity"),
        "Antall må være større enn 0 på en faktura",
    ),
    (
        "price negative",
        {"lines": [("kiste", "1", "-10")]},
        ("line", "unit_price"),
        "Prisen kan ikke være negativ",
    ),
    (
        "price not a number",
        {"lines": [("kiste", "1", "mye")]},
        ("line", "unit_price"),
        "Skriv et tall",
    ),
    ("no lines", {"lines": [(None, "1", "")]}, ("formset", None), "minst én linje"),
    (
        "due date before invoice date",
        {"lines": [("kiste", "1", "")], "due_date": "2026-03-01"},
        ("form", "due_date"),
        "Forfallsdato kan ikke være før fakturadato",
    ),
    (
        "customer of another subgroup",
        {"lines": [("kiste", "1", "")], "other_customer": True},
        ("form", "customer"),
        "Velg en kunde i byråets undergruppe",
    ),
    (
        "no customer",
        {"lines": [("kiste", "1", "")], "no_customer": True},
        ("form", "customer"),
        "Velg en kunde",
    ),
]


@pytest.mark.parametrize(
    ("case", "change", "where", "message"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT]
)
def test_bad_invoice_input_gives_message_beside_field_and_saves_nothing(
    client, finance_a, office_a, customer_a, catalogue, case, change, where, message
):
    customer = customer_a
    if change.get("other_customer"):
        other = SubgroupFactory(agency=office_a.agency, name="Hansen Drammen")
        customer = CustomerFactory(subgroup=other, number=10001, name="Anne Annen")
    lines = [(catalogue[a] if a else None, q, p) for a, q, p in change["lines"]]
    data = _invoice_post(office_a, customer, lines)
    if "due_date" in change:
        data["due_date"] = change["due_date"]
    if change.get("no_customer"):
        data["customer"] = ""
    _login(client, finance_a)
    response = client.post("/okonomi/fakturaer/ny/", data)

    assert response.status_code == 200
    kind, field = where
    if kind == "line":
        errors = response.context["formset"].forms[0].errors[field]
    elif kind == "formset":
        errors = response.context["formset"].non_form_errors()
    else:
        errors = response.context["form"].errors[field]
    assert any(message in e for e in errors), errors
    html = response.content.decode()
    assert message in html
    assert 'class="errorlist' in html
    assert Invoice.objects.count() == 0
    assert InvoiceLine.objects.count() == 0
    office_a.subgroup.refresh_from_db()
    assert office_a.subgroup.next_invoice_number == 100001


def test_bad_line_error_is_in_the_row_of_that_line(
    client, finance_a, office_a, customer_a, catalogue
):
    _login(client, finance_a)
    data = _invoice_post(
        office_a, customer_a, [(catalogue["kiste"], "1", ""), (catalogue["blomster"], "0", "")]
    )
    html = client.post("/okonomi/fakturaer/ny/", data).content.decode()
    rows = html.split('<tr class="line-row')
    assert "Antall må være større enn 0" not in rows[1]
    assert "Antall må være større enn 0" in rows[2]
    # What the user typed is kept.
    assert 'value="0"' in rows[2]


def test_due_date_default_comes_from_subgroup_terms(client, finance_a, office_a, catalogue):
    office_a.subgroup.payment_terms_days = 30
    office_a.subgroup.save()
    _login(client, finance_a)
    form = client.get("/okonomi/fakturaer/ny/").context["form"]
    today = form.initial["invoice_date"]
    assert form.initial["due_date"] == today + dt.timedelta(days=30)
    assert form.initial["office"] == office_a.pk


# Credit note


def test_credit_note_confirm_then_create(client, finance_a, invoice_a):
    _login(client, finance_a)
    page = client.get(f"/okonomi/fakturaer/{invoice_a.pk}/krediter/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Dette krediteres" in html
    assert page.context["totals"]["gross"] == -invoice_a.gross_total
    assert Invoice.objects.count() == 1  # a GET changes nothing

    response = client.post(
        f"/okonomi/fakturaer/{invoice_a.pk}/krediter/", {"invoice_date": "2026-03-10", "note": ""}
    )
    credit = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    assert response.status_code == 302
    assert response["Location"] == f"/okonomi/fakturaer/{credit.pk}/"
    assert credit.credited_invoice == invoice_a
    assert credit.number == 100002
    assert credit.gross_total == -invoice_a.gross_total
    assert credit.invoice_date == dt.date(2026, 3, 10)
    assert [ln.quantity for ln in credit.lines.order_by("position")] == [
        -ln.quantity for ln in invoice_a.lines.order_by("position")
    ]

    detail = client.get(f"/okonomi/fakturaer/{credit.pk}/").content.decode()
    assert f"/okonomi/fakturaer/{invoice_a.pk}/" in detail
    assert "Krediter</a>" not in detail
    original = client.get(f"/okonomi/fakturaer/{invoice_a.pk}/").content.decode()
    assert f"kreditnota {credit.number}" in original
    assert f"/okonomi/fakturaer/{invoice_a.pk}/krediter/" not in original


def test_already_credited_invoice_says_so_and_creates_nothing(client, finance_a, invoice_a):
    _login(client, finance_a)
    url = f"/okonomi/fakturaer/{invoice_a.pk}/krediter/"
    client.post(url, {"invoice_date": "2026-03-10"})
    again = client.get(url)
    assert "er allerede kreditert" in again.content.decode()
    response = client.post(url, {"invoice_date": "2026-03-11"})
    assert response.status_code == 200
    assert "er allerede kreditert" in response.content.decode()
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).count() == 1


def test_a_credit_note_cannot_be_credited(client, finance_a, invoice_a):
    _login(client, finance_a)
    client.post(f"/okonomi/fakturaer/{invoice_a.pk}/krediter/", {"invoice_date": "2026-03-10"})
    credit = Invoice.objects.get(kind=InvoiceKind.CREDIT_NOTE)
    response = client.post(
        f"/okonomi/fakturaer/{credit.pk}/krediter/", {"invoice_date": "2026-03-10"}, follow=True
    )
    assert "En kreditnota kan ikke krediteres" in response.content.decode()
    assert Invoice.objects.count() == 2


def test_credit_note_date_is_required(client, finance_a, invoice_a):
    _login(client, finance_a)
    response = client.post(f"/okonomi/fakturaer/{invoice_a.pk}/krediter/", {"invoice_date": ""})
    assert response.status_code == 200
    assert "invoice_date" in response.context["form"].errors
    assert Invoice.objects.count() == 1


# Detail: export and payment panels


def test_detail_shows_export_panel_attempts_and_payment(client, finance_a, invoice_a):
    from poweroffice.models import AttemptOutcome, AttemptTrigger, ExportAttempt

    Invoice.objects.filter(pk=invoice_a.pk).update(
        export_status=ExportStatus.FAILED,
        export_error="Kunden finnes ikke i PowerOffice, og kunne ikke opprettes.",
        export_attempts=2,
    )
    ExportAttempt.objects.create(
        invoice=invoice_a,
        trigger=AttemptTrigger.AUTOMATIC,
        outcome=AttemptOutcome.FAILED,
        error="Tidsavbrudd mot PowerOffice",
        duration_ms=30012,
    )
    ExportAttempt.objects.create(
        invoice=invoice_a,
        trigger=AttemptTrigger.MANUAL,
        outcome=AttemptOutcome.FAILED,
        error="Kunden finnes ikke i PowerOffice, og kunne ikke opprettes.",
        duration_ms=420,
        user=finance_a,
    )
    _login(client, finance_a)
    html = client.get(f"/okonomi/fakturaer/{invoice_a.pk}/").content.decode()
    assert "Feilet" in html
    assert "Kunden finnes ikke i PowerOffice, og kunne ikke opprettes." in html
    assert "Tidsavbrudd mot PowerOffice" in html
    assert "Automatisk ved lagring" in html
    assert f"Startet av: {finance_a.get_full_name()}" in html
    assert "30,0 s" in html and "420 ms" in html
    assert f'action="/okonomi/ikke-eksporterte/{invoice_a.pk}/eksporter/"' in html
    assert "Eksporter til PowerOffice" in html
    assert f'href="/okonomi/fakturaer/{invoice_a.pk}/spesifikasjon.pdf"' in html
    assert "Fakturaspesifikasjon (PDF)" in html
    assert f'href="/okonomi/fakturaer/{invoice_a.pk}/krediter/"' in html
    assert "Ola Nordmann" in html and "Per Hansen" in html

    Invoice.objects.filter(pk=invoice_a.pk).update(
        export_status=ExportStatus.EXPORTED,
        export_error="",
        external_voucher_id="a1b2c3",
        voucher_no=40123,
        voucher_date=dt.date(2026, 3, 14),
        payment_status=PaymentStatus.PARTLY_PAID,
        balance=Decimal("1000.00"),
    )
    html = client.get(f"/okonomi/fakturaer/{invoice_a.pk}/").content.decode()
    assert "Eksporter til PowerOffice" not in html
    assert "a1b2c3" in html
    assert "Bilagsnr." in html and "40123" in html
    assert "Bilagsdato" in html and "14.03.2026" in html
    assert "Delvis betalt" in html
    assert "1\xa0000,00" in html


# The new-invoice form in real Chromium: its script fills defaults, filters customers by the
# office's subgroup, adds and removes lines, and previews the same totals the server computes.


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_new_invoice_form_in_chromium(browser_login, finance_a, office_a, customer_a, catalogue):
    other_subgroup = SubgroupFactory(agency=office_a.agency, name="Hansen Drammen")
    other_office = OfficeFactory(subgroup=other_subgroup, agency=office_a.agency, name="Bragernes")
    stranger = CustomerFactory(subgroup=other_subgroup, number=10001, name="Anne Annen")
    page = browser_login(finance_a)
    page.goto(page.base + "/okonomi/fakturaer/ny/")

    # Only the office's subgroup's customers can be chosen; the search narrows them.
    customer = page.locator("#id_customer")
    assert customer.locator(f"option[value='{stranger.pk}']").is_hidden()
    page.select_option("#id_office", str(other_office.pk))
    assert customer.locator(f"option[value='{customer_a.pk}']").is_disabled()
    page.select_option("#id_office", str(office_a.pk))
    page.fill("#customer-search", "kari nord")
    assert customer.input_value() == str(customer_a.pk)

    # Choosing an article fills its name and price; the price stays editable.
    page.select_option("select[name='lines-0-article']", str(catalogue["kiste"].pk))
    assert page.input_value("input[name='lines-0-description']") == "Kiste, hvit"
    assert page.input_value("input[name='lines-0-unit_price']") == "12990,00"
    page.fill("input[name='lines-0-unit_price']", "11990,50")
    page.click("#add-line")
    page.select_option("select[name='lines-1-article']", str(catalogue["transport"].pk))
    page.fill("input[name='lines-1-quantity']", "1,5")
    page.click("#add-line")
    page.select_option("select[name='lines-2-article']", str(catalogue["avgift"].pk))
    page.click("#add-line")
    page.select_option("select[name='lines-3-article']", str(catalogue["blomster"].pk))
    page.locator("tr.line-row").nth(3).locator("[data-remove-line]").click()

    preview = page.inner_text("#total-gross").replace("\xa0", " ")
    assert preview == "kr 24 188,13"  # 11 990,50 + 2 997,63 VAT + 5 100 + 4 100
    page.click("button:has-text('Opprett faktura')")
    page.wait_for_url("**/okonomi/fakturaer/*/")

    invoice = Invoice.objects.get()
    assert invoice.gross_total == Decimal("24188.13")
    assert invoice.lines.count() == 3
    assert invoice.customer == customer_a
    assert "Faktura 100001 er opprettet" in page.inner_text(".messages")
