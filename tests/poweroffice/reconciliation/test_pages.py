"""Økonomi > Avstemming: who may use it, another agency's data never shown (404), the page's
run inline and in the background, and the CSV and PDF of a result."""

import csv
import io

import pytest
from django.urls import reverse

from poweroffice.invoices.export import invoice_export
from poweroffice.models import AttemptTrigger, Reconciliation
from poweroffice.reconciliation.report import reconciliation_csv
from tests.factories import SubgroupFactory
from tests.fixtures.export import make_invoice

pytestmark = pytest.mark.django_db

PERIOD = {"period_from": "2026-03-01", "period_to": "2026-03-31"}


def _start(client, subgroup):
    return client.post(reverse("reconciliation:start"), {"subgroup": subgroup.pk, **PERIOD})


def test_menu_and_page_for_finance_and_administrators(client, finance_a, admin_a, user_a):
    for user in (finance_a, admin_a):
        client.force_login(user)
        page = client.get(reverse("reconciliation:index"))
        assert page.status_code == 200
        assert reverse("reconciliation:index") in page.content.decode()  # in the Økonomi menu
        assert "Avstem" in page.content.decode()
    client.force_login(user_a)
    assert client.get(reverse("reconciliation:index")).status_code == 403


def test_run_from_the_page_shows_the_result(client, export_world):
    world = export_world
    invoice = make_invoice(world)
    assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).ok
    client.force_login(world.user)

    response = _start(client, world.subgroup)

    run = Reconciliation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reconciliation:detail", args=[run.pk])
    assert run.run_by == world.user and run.state == Reconciliation.State.RECONCILED
    page = client.get(response["Location"]).content.decode()
    assert "Avstemt." in page
    pdf = client.get(reverse("reconciliation:pdf", args=[run.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_large_period_runs_in_the_background(
    client, export_world, settings, celery_eager, django_capture_on_commit_callbacks
):
    world = export_world
    settings.RECONCILIATION_INLINE_MAX = 0
    make_invoice(world)  # never exported
    client.force_login(world.user)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _start(client, world.subgroup)
    run = Reconciliation.objects.get()
    assert run.finished_at is None
    running = client.get(response["Location"]).content.decode()
    assert "Avstemmingen pågår" in running and 'http-equiv="refresh"' in running

    for callback in callbacks:
        callback()  # the worker (eager) runs it

    run.refresh_from_db()
    assert run.state == Reconciliation.State.DIFFERENCES
    assert run.summary["by_kind"]["missing"] == 1


def test_another_agencys_ids_are_404(client, export_world, admin_b):
    world = export_world
    make_invoice(world)
    client.force_login(world.user)
    _start(client, world.subgroup)
    run = Reconciliation.objects.get()
    foreign = SubgroupFactory(agency=admin_b.agency)

    client.force_login(admin_b)
    for name in ("detail", "csv", "pdf"):
        assert client.get(reverse(f"reconciliation:{name}", args=[run.pk])).status_code == 404
    index = client.get(reverse("reconciliation:index")).content.decode()
    assert reverse("reconciliation:detail", args=[run.pk]) not in index
    assert world.subgroup.name not in index
    client.force_login(world.user)
    assert _start(client, foreign).status_code == 404
    assert Reconciliation.objects.count() == 1


def test_csv_of_differences(client, export_world):
    world = export_world
    invoice = make_invoice(world)
    client.force_login(world.user)
    _start(client, world.subgroup)
    run = Reconciliation.objects.get()
    run.differences[0]["action"] = '=HYPERLINK("x")'
    run.differences[0]["what"] = "-2+3"
    run.differences[1]["difference"] = "-140.62"

    body = reconciliation_csv(run=run)

    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Type", "Fakturanummer", "Gjelder"]
    first = rows[1]
    assert first[1] == str(invoice.number)
    assert first[5] == "30 280,00"  # 23 000 + 780 + 6 500, with a decimal comma
    assert first[7] == '\'=HYPERLINK("x")'
    assert first[2] == "'-2+3"
    assert rows[2][5] == "-140,62"  # a negative amount stays a number
    served = client.get(reverse("reconciliation:csv", args=[run.pk]))
    assert served["Content-Type"].startswith("text/csv")
    assert (
        len(list(csv.reader(io.StringIO(served.content.decode("utf-8-sig")), delimiter=";"))) == 5
    )
