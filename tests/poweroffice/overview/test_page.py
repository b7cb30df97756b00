"""Økonomi > Integrasjonsstatus: what it shows per subgroup, who may see it, and that its
number of queries does not grow with subgroups and invoices."""

from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import Account, Article, ExportStatus, Invoice
from bitnet.models import Subgroup
from payroll.models import PayrollExport, PayrollExportStatus
from poweroffice.invoices.export import invoice_export
from poweroffice.models import AccountValidation, AttemptTrigger, Connection, PaymentSyncRun
from tests.fixtures.export import make_invoice

URL = "/okonomi/integrasjonsstatus/"

pytestmark = pytest.mark.django_db


def _unknown_account_article(world) -> str:
    vat = world.articles["kiste"].vat_code
    account = Account.objects.create(
        agency=world.subgroup.agency, number=3999, name="Ukjent salg", vat_code=vat
    )
    world.articles["ukjent"] = Article.objects.create(
        agency=world.subgroup.agency,
        name="Ukjent vare",
        unit="stk",
        price=Decimal("100"),
        account=account,
        vat_code=vat,
    )
    return "ukjent"


def test_page_shows_subgroup_state_and_failures_with_fix(client, export_world, finance_a):
    world = export_world
    good = make_invoice(world, [("kiste", "1")])
    assert invoice_export(invoice_id=good.pk, trigger=AttemptTrigger.MANUAL).ok
    key = _unknown_account_article(world)
    bad = [make_invoice(world, [(key, "1")]) for _ in range(2)]
    for invoice in bad:
        assert not invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).ok
    held = make_invoice(world)
    Invoice.objects.filter(pk=held.pk).update(
        export_status=ExportStatus.HELD, export_error="Forutsetningene er ikke oppfylt."
    )
    PaymentSyncRun.objects.create(
        subgroup=world.subgroup,
        mode=PaymentSyncRun.Mode.INCREMENTAL,
        success=False,
        error="Klientnøkkelen er ugyldig – legg inn en ny under Datadeling.",
    )
    AccountValidation.objects.create(subgroup=world.subgroup, ok=True)
    PayrollExport.objects.create(
        agency=world.subgroup.agency,
        subgroup=world.subgroup,
        date_from=timezone.localdate(),
        date_to=timezone.localdate(),
        status=PayrollExportStatus.ROLLBACK_INCOMPLETE,
    )

    client.force_login(finance_a)
    page = client.get(URL).content.decode()

    assert "Hansen Oslo AS" in page and "Tilkoblet" in page
    assert "2 fakturaer:</strong> Konto 3999 finnes ikke i PowerOffice." in page
    assert "Administrasjon &gt; Kontoplan, og kjør Valider kontoplan" in page
    assert "1 faktura:</strong> Forutsetningene er ikke oppfylt." in page
    assert "Klientnøkkelen er ugyldig" in page  # the payment check's result
    assert "Tilbakerulling ufullstendig: 1" in page
    assert "Aldri" not in page.split("Siste vellykkede eksport")[1].split("</dd>")[0]
    assert "1 eksportert · 2 feilet" in page  # the chart's totals
    assert page.count('class="bar-exported"') == 30
    assert world.client_key not in page


def test_menu_link_and_roles(client, export_world, admin_a, finance_a, payroll_a):
    client.force_login(finance_a)
    assert 'href="/okonomi/integrasjonsstatus/"' in client.get("/").content.decode()
    client.force_login(admin_a)
    assert client.get(URL).status_code == 200
    client.force_login(payroll_a)
    assert client.get(URL).status_code == 403


def _grow(world, *, subgroups: int, invoices: int) -> None:
    """More connected subgroups, each with failed invoices, payment runs, validations and
    payroll exports."""
    start = Subgroup.objects.count()
    for n in range(start, start + subgroups):
        subgroup = Subgroup.objects.create(agency=world.subgroup.agency, name=f"Ekstra {n}")
        Connection.objects.create(subgroup=subgroup, enabled=True, client_name=f"Klient {n}")
        moved = [make_invoice(world) for _ in range(invoices)]
        Invoice.objects.filter(pk__in=[i.pk for i in moved]).update(
            subgroup=subgroup, export_status=ExportStatus.FAILED, export_error=f"Feil {n}"
        )
        PaymentSyncRun.objects.create(
            subgroup=subgroup, mode=PaymentSyncRun.Mode.FULL, success=True
        )
        AccountValidation.objects.create(subgroup=subgroup, ok=False, error="Avvik")
        PayrollExport.objects.create(
            agency=subgroup.agency,
            subgroup=subgroup,
            date_from=timezone.localdate(),
            date_to=timezone.localdate(),
        )


def test_queries_do_not_grow_with_subgroups_and_invoices(
    client, export_world, finance_a, django_assert_max_num_queries
):
    client.force_login(finance_a)
    _grow(export_world, subgroups=1, invoices=1)
    with django_assert_max_num_queries(15) as small:
        assert client.get(URL).status_code == 200
    _grow(export_world, subgroups=4, invoices=3)
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = client.get(URL).content.decode()
    assert "3 fakturaer:</strong> Feil 5" in page
