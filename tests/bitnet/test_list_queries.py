"""Every list takes the same number of SQL queries however many rows it shows: each list is
measured with a few rows, then again with more, and must not take one query more."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounting.invoices.services import LineInput, invoice_create
from accounting.models import ExportStatus, Invoice
from payroll.models import PayrollExport, PayrollExportLog, PayrollExportStatus
from poweroffice.models import AttemptOutcome, AttemptTrigger, Connection, ExportAttempt
from tests.factories import (
    AccountFactory,
    ArticleFactory,
    CustomerFactory,
    DrivingLogFactory,
    OfficeFactory,
    SubgroupFactory,
    TripFactory,
    UserFactory,
    VatCodeFactory,
)

LISTS = [
    "/",
    "/okonomi/fakturaer/",
    "/okonomi/fakturaer/?q=a&sort=-belop",
    "/okonomi/fakturaer/?last_ned=csv",
    "/okonomi/fakturaer/?last_ned=xlsx",
    "/okonomi/ikke-eksporterte/",
    "/okonomi/ikke-eksporterte/?reason=feilet&sort=kunde",
    "/okonomi/ikke-eksporterte/?skjulte=1",
    "/okonomi/ikke-eksporterte/?last_ned=csv",
    "/okonomi/ikke-eksporterte/?last_ned=xlsx",
    "/okonomi/kunder/",
    "/administrasjon/brukere/",
    "/administrasjon/byra/",
    "/administrasjon/kontoplan/",
    "/administrasjon/varer/",
    "/administrasjon/mva-koder/",
    "/lonn/kjoreboker/",
    "/lonn/lonnseksport/",
]

_seq = itertools.count(1)


@pytest.fixture
def grow(admin_a, subgroup_a, office_a):
    """``grow(k)`` adds k rows to every list."""
    agency = subgroup_a.agency
    Connection.objects.create(subgroup=subgroup_a, enabled=True)
    vat = VatCodeFactory(agency=agency, code="3", rate=Decimal("25"))
    account = AccountFactory(agency=agency, number=3000, vat_code=vat)
    article = ArticleFactory(agency=agency, vat_code=vat, account=account)

    def add(k: int) -> None:
        for _ in range(k):
            n = next(_seq)
            subgroup = SubgroupFactory(agency=agency, name=f"Undergruppe {n}")
            office = OfficeFactory(subgroup=subgroup, agency=agency, name=f"Kontor {n}")
            OfficeFactory(subgroup=subgroup_a, agency=agency, name=f"Filial {n}")
            user = UserFactory(
                agency=agency, office=office, username=f"bruker{n}", employee_number=n
            )
            code = VatCodeFactory(agency=agency, code=str(30 + n), rate=Decimal("15"))
            AccountFactory(agency=agency, number=3000 + n, vat_code=code)
            ArticleFactory(agency=agency, vat_code=vat, account=account, name=f"Vare {n}")
            customer = CustomerFactory(subgroup=subgroup_a, number=20000 + n, name=f"Kunde a{n}")
            for hidden in (False, True):
                invoice = invoice_create(
                    created_by=admin_a,
                    office=office_a,
                    customer=customer,
                    lines=[LineInput(article=article, quantity=Decimal(1))],
                    invoice_date=dt.date(2026, 3, 1) + dt.timedelta(days=n),
                    deceased_name=f"Avdød {n}",
                )
                Invoice.objects.filter(pk=invoice.pk).update(
                    export_status=ExportStatus.FAILED, export_hidden=hidden
                )
                ExportAttempt.objects.create(
                    invoice=invoice,
                    trigger=AttemptTrigger.MANUAL,
                    outcome=AttemptOutcome.FAILED,
                    error="Feil",
                    finished_at=timezone.now(),
                    user=admin_a,
                )
            log = DrivingLogFactory(driver=user, agency=agency)
            TripFactory(log=log)
            export = PayrollExport.objects.create(
                agency=agency,
                subgroup=subgroup_a,
                created_by=admin_a,
                date_from=dt.date(2026, 5, 1),
                date_to=dt.date(2026, 5, 31),
                status=PayrollExportStatus.EXPORTED,
            )
            PayrollExportLog.objects.create(export=export, log=log)

    return add


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        assert response.status_code == 200, url
        if response.streaming:
            b"".join(response.streaming_content)
    return len(captured.captured_queries)


@pytest.mark.parametrize("url", LISTS)
def test_queries_do_not_grow_with_rows(client, admin_a, grow, url, django_assert_num_queries):
    client.force_login(admin_a)
    grow(2)
    _queries(client, url)  # warm what is read once per process (content types, sessions)
    few = _queries(client, url)
    grow(5)
    with django_assert_num_queries(few):
        response = client.get(url)
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)
