"""Invoices and credit notes: numbering under concurrency, VAT, KID, validation, the hook."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from accounting.customers.services import customer_create
from accounting.hooks import invoice_committed
from accounting.invoices.services import LineInput, credit_note_create, invoice_create
from accounting.models import Customer, Invoice, InvoiceKind
from accounting.money import is_valid_kid
from bitnet.agencies.services import NumberSeriesExhausted
from tests.factories import (
    AccountFactory,
    ArticleFactory,
    CustomerFactory,
    OfficeFactory,
    SubgroupFactory,
    UserFactory,
    VatCodeFactory,
)

D = Decimal
TODAY = dt.date(2026, 11, 2)


@pytest.fixture
def setup(db):
    subgroup = SubgroupFactory(
        invoice_series_start=500, invoice_series_end=100000, next_invoice_number=500
    )
    agency = subgroup.agency
    office = OfficeFactory(subgroup=subgroup, agency=agency)
    user = UserFactory(agency=agency, role="okonomi")
    vat3 = VatCodeFactory(agency=agency, code="3", rate=D("25"))
    vat5 = VatCodeFactory(agency=agency, code="5", rate=D("0"), name="Fritatt")
    vat6 = VatCodeFactory(agency=agency, code="6", rate=D("0"), name="Utenfor")
    kiste = ArticleFactory(
        agency=agency,
        name="Kiste",
        price=D("9200.00"),
        vat_code=vat3,
        account=AccountFactory(agency=agency, number=3000, vat_code=vat3),
    )
    bok = ArticleFactory(
        agency=agency,
        name="Minnebok",
        price=D("390.00"),
        vat_code=vat5,
        account=AccountFactory(agency=agency, number=3100, vat_code=vat5),
    )
    honorar = ArticleFactory(
        agency=agency,
        name="Honorar",
        price=D("6500.00"),
        vat_code=vat6,
        account=AccountFactory(agency=agency, number=3200, vat_code=vat6),
    )
    customer = CustomerFactory(subgroup=subgroup, agency=agency, number=10001)
    return {
        "subgroup": subgroup,
        "office": office,
        "user": user,
        "customer": customer,
        "kiste": kiste,
        "bok": bok,
        "honorar": honorar,
    }


def _create(setup, lines=None, **kwargs):
    return invoice_create(
        created_by=setup["user"],
        office=setup["office"],
        customer=setup["customer"],
        lines=lines or [LineInput(article=setup["kiste"], quantity=D(1))],
        invoice_date=TODAY,
        **kwargs,
    )


def test_invoice_mixing_vat_codes_3_5_6(setup):
    invoice = _create(
        setup,
        lines=[
            LineInput(article=setup["kiste"], quantity=D(1)),
            LineInput(article=setup["bok"], quantity=D(2)),
            LineInput(article=setup["honorar"], quantity=D(1), unit_price=D("6000.00")),
        ],
    )
    invoice.refresh_from_db()
    assert invoice.number == 500
    assert invoice.due_date == TODAY + dt.timedelta(days=14)
    assert [(ln.vat_code.code, ln.net_amount, ln.vat_amount) for ln in invoice.lines.all()] == [
        ("3", D("9200.00"), D("2300.00")),
        ("5", D("780.00"), D("0.00")),
        ("6", D("6000.00"), D("0.00")),
    ]
    assert invoice.net_total == D("15980.00")
    assert invoice.vat_total == D("2300.00")
    assert invoice.gross_total == D("18280.00")
    assert is_valid_kid(invoice.kid)
    assert invoice.kid.startswith("010001")


def test_numbers_are_consecutive(setup):
    numbers = [_create(setup).number for _ in range(3)]
    assert numbers == [500, 501, 502]


@pytest.mark.parametrize("quantity", [D(0), D(-1)])
def test_invoice_refuses_non_positive_quantity_and_saves_nothing(setup, quantity):
    with pytest.raises(ValidationError, match="Antall må være større enn null"):
        _create(setup, lines=[LineInput(article=setup["kiste"], quantity=quantity)])
    assert not Invoice.objects.exists()
    setup["subgroup"].refresh_from_db()
    assert setup["subgroup"].next_invoice_number == 500


def test_invoice_refuses_due_date_before_invoice_date(setup):
    with pytest.raises(ValidationError):
        _create(setup, due_date=TODAY - dt.timedelta(days=1))
    assert not Invoice.objects.exists()


def test_invoice_refuses_customer_of_another_subgroup(setup):
    other = CustomerFactory(subgroup=SubgroupFactory(agency=setup["subgroup"].agency))
    with pytest.raises(ValidationError, match="annen undergruppe"):
        invoice_create(
            created_by=setup["user"],
            office=setup["office"],
            customer=other,
            lines=[LineInput(article=setup["kiste"], quantity=D(1))],
            invoice_date=TODAY,
        )


def test_series_exhausted(setup):
    subgroup = setup["subgroup"]
    subgroup.next_invoice_number = subgroup.invoice_series_end + 1
    subgroup.save()
    with pytest.raises(NumberSeriesExhausted, match="brukt opp"):
        _create(setup)


def test_credit_note_negates_the_invoice_once(setup):
    invoice = _create(
        setup,
        lines=[
            LineInput(article=setup["kiste"], quantity=D(1)),
            LineInput(article=setup["honorar"], quantity=D(1)),
        ],
    )
    # The article's price changes later; the credit note keeps the invoice's amounts.
    setup["kiste"].price = D("1.00")
    setup["kiste"].save()
    credit = credit_note_create(created_by=setup["user"], invoice=invoice, invoice_date=TODAY)
    assert credit.kind == InvoiceKind.CREDIT_NOTE
    assert credit.credited_invoice == invoice
    assert credit.number == invoice.number + 1
    assert credit.gross_total == -invoice.gross_total == D("-18000.00")
    assert credit.vat_total == D("-2300.00")
    assert [ln.quantity for ln in credit.lines.all()] == [D("-1.000"), D("-1.000")]
    with pytest.raises(ValidationError, match="allerede kreditert"):
        credit_note_create(created_by=setup["user"], invoice=invoice, invoice_date=TODAY)
    with pytest.raises(ValidationError, match="kan ikke krediteres"):
        credit_note_create(created_by=setup["user"], invoice=credit, invoice_date=TODAY)


def test_invoice_committed_is_sent_after_commit_only(setup, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, invoice_id, **kwargs):
        received.append(invoice_id)

    invoice_committed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            invoice = _create(setup)
        assert received == []
        for callback in callbacks:
            callback()
        assert received == [invoice.pk]
    finally:
        invoice_committed.disconnect(receiver)


def test_customer_numbers_from_series_and_checked(setup):
    subgroup = setup["subgroup"]
    first = customer_create(subgroup=subgroup, kind="person", name="Per Hansen")
    assert first.number == subgroup.customer_series_start
    estate = customer_create(subgroup=subgroup, kind="estate", name="", deceased_name="Ola Dahl")
    assert estate.name == "Dødsbo etter Ola Dahl"
    # 10001 is the fixture's customer: allocation skipped it.
    assert estate.number == 10002
    subgroup.refresh_from_db()
    subgroup.next_customer_number = 10001
    subgroup.save()
    assert customer_create(subgroup=subgroup, kind="person", name="X").number == 10003
    with pytest.raises(ValidationError, match="allerede i bruk"):
        customer_create(subgroup=subgroup, kind="person", name="Y", number=10001)
    with pytest.raises(ValidationError, match="serien 10000–19999"):
        customer_create(subgroup=subgroup, kind="person", name="Z", number=25000)


@pytest.mark.django_db(transaction=True)
def test_invoice_numbers_under_concurrency_have_no_gaps_or_duplicates():
    if connection.vendor != "postgresql":
        pytest.skip("row locks under real concurrency need PostgreSQL (set DATABASE_URL)")
    subgroup = SubgroupFactory(
        invoice_series_start=1000, invoice_series_end=9999, next_invoice_number=1000
    )
    agency = subgroup.agency
    office = OfficeFactory(subgroup=subgroup, agency=agency)
    user = UserFactory(agency=agency, role="okonomi")
    article = ArticleFactory(agency=agency)
    customer = CustomerFactory(subgroup=subgroup, agency=agency)
    threads, per_thread = 8, 10
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work():
        try:
            barrier.wait()
            for _ in range(per_thread):
                invoice_create(
                    created_by=user,
                    office=office,
                    customer=customer,
                    lines=[LineInput(article=article, quantity=D(1))],
                    invoice_date=TODAY,
                )
                # and customers from the same subgroup row, interleaved
                customer_create(subgroup=subgroup, kind="person", name="Parallell")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    numbers = sorted(Invoice.objects.filter(subgroup=subgroup).values_list("number", flat=True))
    assert numbers == list(range(1000, 1000 + threads * per_thread))
    customer_numbers = list(
        Customer.objects.filter(subgroup=subgroup, name="Parallell")
        .order_by("number")
        .values_list("number", flat=True)
    )
    assert len(customer_numbers) == len(set(customer_numbers)) == threads * per_thread
    subgroup.refresh_from_db()
    assert subgroup.next_invoice_number == 1000 + threads * per_thread
