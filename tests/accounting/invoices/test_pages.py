"""Økonomi pages: invoice list/detail/new/credit note and customers, end to end through Django's
test client against PostgreSQL."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounting.models import (
    Customer,
    CustomerKind,
    ExportStatus,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    PaymentStatus,
)
from accounting.money import is_valid_kid, is_valid_org_number, kid_for
from accounting.invoices.services import LineInput, invoice_create
from bitnet.models import Role
from tests.factories import (
    AccountFactory,
    ArticleFactory,
    CustomerFactory,
    OfficeFactory,
    SubgroupFactory,
    UserFactory,
    VatCodeFactory,
)

DAY = dt.date(2026, 3, 2)


@pytest.fixture
def catalogue(agency_a):
    """VAT codes 3 (25 %), 5 (0 %) and 6 (outside the act) and one article for each."""
    vat3 = VatCodeFactory(agency=agency_a, code="3", rate=Decimal("25.00"))
    vat5 = VatCodeFactory(agency=agency_a, code="5", rate=Decimal("0.00"), name="Fritatt")
    vat6 = VatCodeFactory(agency=agency_a, code="6", rate=Decimal("0.00"), name="Utenfor")
    acc3 = AccountFactory(agency=agency_a, number=3000, vat_code=vat3)
    acc5 = AccountFactory(agency=agency_a, number=3100, vat_code=vat5)
    acc6 = AccountFactory(agency=agency_a, number=3200, vat_code=vat6)
    return {
        "kiste": ArticleFactory(
            agency=agency_a,
            name="Kiste, hvit",
            price=Decimal("12990.00"),
            vat_code=vat3,
            account=acc3,
        ),
        "blomster": ArticleFactory(
            agency=agency_a,
            name="Blomsterdekorasjon",
            price=Decimal("1250.00"),
            vat_code=vat3,
            account=acc3,
        ),
        "transport": ArticleFactory(
            agency=agency_a,
            name="Transport av avdøde",
            price=Decimal("3400.00"),
            vat_code=vat5,
            account=acc5,
        ),
        "avgift": ArticleFactory(
            agency=agency_a,
            name="Kremasjonsavgift",
            price=Decimal("4100.00"),
            vat_code=vat6,
            account=acc6,
            unit="stk",
        ),
    }


@pytest.fixture
def customer_a(subgroup_a):
    return CustomerFactory(subgroup=subgroup_a, number=10500, name="Kari Nordmann")


@pytest.fixture
def invoice_a(finance_a, office_a, customer_a, catalogue):
    return invoice_create(
        created_by=finance_a,
        office=office_a,
        customer=customer_a,
        lines=[
            LineInput(article=catalogue["kiste"], quantity=Decimal("1")),
            LineInput(article=catalogue["transport"], quantity=Decimal("2")),
            LineInput(article=catalogue["avgift"], quantity=Decimal("1")),
        ],
        invoice_date=DAY,
        deceased_name="Ola Nordmann",
        our_reference="Per Hansen",
    )


@pytest.fixture
def world_b(admin_b):
    """Agency B with its own subgroup, office, customer, article and invoice."""
    agency = admin_b.agency
    subgroup = SubgroupFactory(agency=agency, name="Fjordheim Bergen")
    office = OfficeFactory(subgroup=subgroup, agency=agency, name="Sentrum")
    customer = CustomerFactory(subgroup=subgroup, number=10001, name="Berit Berge")
    article = ArticleFactory(agency=agency, name="Urne", price=Decimal("900.00"))
    invoice = invoice_create(
        created_by=admin_b,
        office=office,
        customer=customer,
        lines=[LineInput(article=article, quantity=Decimal("1"))],
        invoice_date=DAY,
    )
    return {"customer": customer, "invoice": invoice, "office": office}


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
    assert "Automatisk" in html and "Manuell" in html
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
        payment_status=PaymentStatus.PARTLY_PAID,
        balance=Decimal("1000.00"),
    )
    html = client.get(f"/okonomi/fakturaer/{invoice_a.pk}/").content.decode()
    assert "Eksporter til PowerOffice" not in html
    assert "a1b2c3" in html
    assert "Delvis betalt" in html
    assert "1\xa0000,00" in html


# List: filters, sums, paging, query count


@pytest.fixture
def many_invoices(finance_a, office_a, customer_a, catalogue):
    """30 invoices over 30 days, alternating between two customers."""
    other = CustomerFactory(subgroup=office_a.subgroup, number=10600, name="Per Persen")
    invoices = []
    for i in range(30):
        invoices.append(
            invoice_create(
                created_by=finance_a,
                office=office_a,
                customer=customer_a if i % 2 == 0 else other,
                lines=[LineInput(article=catalogue["blomster"], quantity=Decimal(1))],
                invoice_date=DAY + dt.timedelta(days=i),
            )
        )
    return invoices


def _listed(client, query=""):
    response = client.get(f"/okonomi/fakturaer/{query}")
    assert response.status_code == 200
    return response, [inv.number for inv in response.context["page_obj"]]


def test_list_pages_25_per_page_and_sums_all(client, finance_a, many_invoices):
    _login(client, finance_a)
    response, numbers = _listed(client)
    assert len(numbers) == 25
    assert numbers[0] == 100030  # newest first
    totals = response.context["totals"]
    assert totals["count"] == 30
    assert totals["gross"] == Decimal("1562.50") * 30
    assert "Side 1 av 2" in response.content.decode()
    _, numbers = _listed(client, "?page=2")
    assert numbers == [100005, 100004, 100003, 100002, 100001]


def test_list_query_count_does_not_grow_with_page_size(
    client, finance_a, office_a, customer_a, catalogue, django_assert_max_num_queries
):
    _login(client, finance_a)

    def make(n):
        for _ in range(n):
            invoice_create(
                created_by=finance_a,
                office=office_a,
                customer=customer_a,
                lines=[LineInput(article=catalogue["kiste"], quantity=Decimal(1))],
                invoice_date=DAY,
            )

    make(2)
    with CaptureQueriesContext(connection) as few:
        client.get("/okonomi/fakturaer/")
    make(28)
    with CaptureQueriesContext(connection) as full:
        response = client.get("/okonomi/fakturaer/")
    assert len(response.context["page_obj"]) == 25
    assert len(full) == len(few)
    with django_assert_max_num_queries(12):
        client.get("/okonomi/fakturaer/?q=Kari&export_status=not_exported&page=1")


def test_list_filters(client, finance_a, agency_a, office_a, many_invoices):
    first, second = many_invoices[0], many_invoices[1]
    Invoice.objects.filter(pk=first.pk).update(
        export_status=ExportStatus.EXPORTED, payment_status=PaymentStatus.PAID, balance=0
    )
    Invoice.objects.filter(pk=second.pk).update(export_status=ExportStatus.FAILED)
    office2 = OfficeFactory(subgroup=office_a.subgroup, agency=agency_a, name="Bryn")
    Invoice.objects.filter(pk=many_invoices[2].pk).update(office=office2)
    _login(client, finance_a)

    assert _listed(client, "?q=100007")[1] == [100007]
    assert _listed(client, f"?q={first.kid}")[1] == [100001]
    assert len(_listed(client, "?q=Per+Persen")[1]) == 15
    assert _listed(client, "?q=persen&page=1")[0].context["totals"]["count"] == 15
    assert _listed(client, "?export_status=exported")[1] == [100001]
    assert _listed(client, "?export_status=failed")[1] == [100002]
    assert _listed(client, "?payment_status=paid")[1] == [100001]
    assert _listed(client, "?payment_status=unknown")[0].context["totals"]["count"] == 29
    assert _listed(client, f"?office={office2.pk}")[1] == [100003]
    assert _listed(client, f"?subgroup={office_a.subgroup_id}")[0].context["totals"]["count"] == 30
    assert _listed(client, "?kind=credit_note")[1] == []
    assert _listed(client, "?date_from=2026-03-05&date_to=2026-03-07")[1] == [
        100006,
        100005,
        100004,
    ]


def test_from_date_after_to_date_gives_error_and_changes_nothing(client, finance_a, many_invoices):
    _login(client, finance_a)
    response, numbers = _listed(client, "?date_from=2026-03-20&date_to=2026-03-05")
    assert "Fra dato kan ikke være etter til dato" in response.content.decode()
    assert "date_from" in response.context["form"].errors
    _, unfiltered = _listed(client)
    assert numbers == unfiltered
    assert response.context["totals"]["count"] == 30


def test_list_with_a_foreign_subgroup_filter_shows_error_not_their_data(
    client, finance_a, many_invoices, world_b
):
    _login(client, finance_a)
    response, numbers = _listed(client, f"?office={world_b['office'].pk}")
    assert "office" in response.context["form"].errors
    assert len(numbers) == 25


# Customers


def test_customer_list_search_and_paging(client, finance_a, subgroup_a):
    for i in range(30):
        CustomerFactory(subgroup=subgroup_a, number=11000 + i, name=f"Kunde {i:02d}", city="Bergen")
    CustomerFactory(subgroup=subgroup_a, number=12000, name="Solveig Strand", city="Tromsø")
    _login(client, finance_a)
    response = client.get("/okonomi/kunder/")
    assert len(response.context["page_obj"]) == 25
    assert response.context["page_obj"].paginator.count == 31
    found = list(client.get("/okonomi/kunder/?q=troms").context["page_obj"])
    assert [c.name for c in found] == ["Solveig Strand"]
    found = list(client.get("/okonomi/kunder/?q=11005").context["page_obj"])
    assert [c.number for c in found] == [11005]


def _customer_post(subgroup, **values):
    data = {
        "kind": "person",
        "subgroup": subgroup.pk,
        "number": "",
        "name": "",
        "deceased_name": "",
        "org_number": "",
        "email": "",
        "phone": "",
        "address": "",
        "postal_code": "",
        "city": "",
    }
    data.update(values)
    return data


def test_customer_created_with_next_number_from_series(client, finance_a, subgroup_a):
    _login(client, finance_a)
    response = client.post(
        "/okonomi/kunder/ny/",
        _customer_post(
            subgroup_a,
            name="Astrid Lund",
            email="astrid@example.no",
            postal_code="0361",
            city="Oslo",
        ),
    )
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert customer.number == subgroup_a.customer_series_start
    assert (customer.name, customer.kind, customer.postal_code) == ("Astrid Lund", "person", "0361")
    assert customer.agency == subgroup_a.agency


def test_estate_customer_is_named_after_the_deceased(client, finance_a, subgroup_a):
    _login(client, finance_a)
    client.post(
        "/okonomi/kunder/ny/",
        _customer_post(
            subgroup_a, kind="estate", name="ignored", deceased_name="Ola Nordmann", number="10042"
        ),
    )
    customer = Customer.objects.get()
    assert customer.kind == CustomerKind.ESTATE
    assert customer.name == "Dødsbo etter Ola Nordmann"
    assert customer.deceased_name == "Ola Nordmann"
    assert customer.number == 10042


def test_company_customer_with_valid_org_number(client, finance_a, subgroup_a):
    assert is_valid_org_number("923609016")
    _login(client, finance_a)
    response = client.post(
        "/okonomi/kunder/ny/",
        _customer_post(subgroup_a, kind="company", name="Fjord AS", org_number="923 609 016"),
    )
    assert response.status_code == 302
    assert Customer.objects.get().org_number == "923609016"


BAD_CUSTOMER = [
    ("org number fails MOD11", {"kind": "company", "name": "X AS", "org_number": "923609017"},
     "org_number", "Ugyldig organisasjonsnummer"),
    ("org number missing for company", {"kind": "company", "name": "X AS"},
     "org_number", "påkrevd for en bedrift"),
    ("duplicate number", {"name": "Y", "number": "10500"},
     "number", "Kundenummer 10500 er allerede i bruk"),
    ("number outside series", {"name": "Y", "number": "20000"},
     "number", "Kundenummeret må ligge i serien 10000–19999"),
    ("postal code not 4 digits", {"name": "Y", "postal_code": "123"},
     "postal_code", "Postnummer må være fire siffer"),
    ("no name", {"name": ""}, "name", "Skriv kundens navn"),
    ("estate without deceased", {"kind": "estate"}, "deceased_name", "Skriv avdødes navn"),
    ("bad email", {"name": "Y", "email": "ikke-epost"}, "email", "e-post"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "values", "field", "message"), BAD_CUSTOMER, ids=[c[0] for c in BAD_CUSTOMER]
)
def test_bad_customer_input(client, finance_a, subgroup_a, case, values, field, message):
    CustomerFactory(subgroup=subgroup_a, number=10500, name="Kari Nordmann")
    _login(client, finance_a)
    response = client.post("/okonomi/kunder/ny/", _customer_post(subgroup_a, **values))
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(message.lower() in e.lower() for e in errors), errors
    assert Customer.objects.count() == 1
    subgroup_a.refresh_from_db()
    assert subgroup_a.next_customer_number == 10000


def test_customer_edit_keeps_number_and_subgroup(client, finance_a, customer_a, subgroup_a):
    other = SubgroupFactory(agency=subgroup_a.agency, name="Hansen Drammen")
    _login(client, finance_a)
    response = client.post(
        f"/okonomi/kunder/{customer_a.pk}/",
        _customer_post(
            other, name="Kari Nordmann-Lie", number="19999", city="Bærum", postal_code="1337"
        ),
    )
    assert response.status_code == 302
    customer_a.refresh_from_db()
    assert customer_a.name == "Kari Nordmann-Lie"
    assert customer_a.city == "Bærum"
    assert customer_a.number == 10500
    assert customer_a.subgroup == subgroup_a


def test_new_customer_from_invoice_form_returns_to_it(client, finance_a, subgroup_a, office_a):
    _login(client, finance_a)
    invoice_page = client.get("/okonomi/fakturaer/ny/").content.decode()
    assert "/okonomi/kunder/ny/?next=%2Fokonomi%2Ffakturaer%2Fny%2F" in invoice_page
    response = client.post(
        "/okonomi/kunder/ny/",
        _customer_post(subgroup_a, name="Nils Ny", next="/okonomi/fakturaer/ny/"),
    )
    customer = Customer.objects.get()
    assert response["Location"] == f"/okonomi/fakturaer/ny/?customer={customer.pk}"
    form = client.get(response["Location"]).context["form"]
    assert form.initial["customer"] == customer.pk
    # Only that page may be returned to.
    response = client.post(
        "/okonomi/kunder/ny/",
        _customer_post(subgroup_a, name="Nils To", next="https://example.com/"),
    )
    assert response["Location"].startswith("/okonomi/kunder/")


def test_finance_user_of_other_role_in_same_agency_cannot_see_customers(client, agency_a):
    driver = UserFactory(agency=agency_a, username="sjafor", role=Role.USER)
    _login(client, driver)
    assert client.get("/okonomi/kunder/").status_code == 403


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
