"""Økonomi > Ikke eksporterte fakturaer (list, reasons, red eye, export one, Eksporter alle with
its progress JSON) and the specification PDF."""

import uuid

import pytest
from django.utils import timezone

from accounting.models import ExportStatus, Invoice
from poweroffice.client.ratelimit import Lane, default_rate_limiter
from poweroffice.invoices.export import invoice_export
from poweroffice.models import AttemptTrigger, ExportBatch
from tests.factories import CustomerFactory, OfficeFactory, SubgroupFactory
from tests.fixtures.export import make_invoice

URL = "/okonomi/ikke-eksporterte/"

pytestmark = pytest.mark.django_db


def test_finance_only_and_scoped_to_the_agency(client, export_world, personas):
    world = export_world
    invoice = make_invoice(world)
    for name in ("payroll_a", "user_a"):
        client.force_login(personas[name])
        assert client.get(URL).status_code == 403
        assert client.post(f"{URL}{invoice.pk}/skjul/").status_code == 403
    client.force_login(personas["admin_b"])
    assert str(invoice.number) not in client.get(URL).content.decode()
    assert client.post(f"{URL}{invoice.pk}/skjul/").status_code == 404
    assert client.post(f"{URL}{invoice.pk}/eksporter/").status_code == 404
    assert client.get(f"/okonomi/fakturaer/{invoice.pk}/spesifikasjon.pdf").status_code == 404
    invoice.refresh_from_db()
    assert not invoice.export_hidden and invoice.export_status == ExportStatus.NOT_EXPORTED


def test_list_shows_each_invoice_with_its_reason(client, export_world, finance_a):
    world = export_world
    never = make_invoice(world)
    world.sandbox.remove(world.client_key, "accounts", world.account_id(3020))
    failed = make_invoice(world, [("krans", "1")])
    invoice_export(invoice_id=failed.pk, trigger=AttemptTrigger.AUTOMATIC)
    held = make_invoice(world)
    Invoice.objects.filter(pk=held.pk).update(
        export_status=ExportStatus.HELD, export_error="Automatisk eksport er holdt tilbake fordi …"
    )
    exported = make_invoice(world)
    invoice_export(invoice_id=exported.pk, trigger=AttemptTrigger.MANUAL)
    other = SubgroupFactory(agency=world.subgroup.agency, name="Uten PowerOffice")
    world.customers["other"] = CustomerFactory(subgroup=other, number=10009)
    elsewhere = make_invoice(
        world, customer="other", office=OfficeFactory(subgroup=other, agency=other.agency)
    )

    client.force_login(finance_a)
    html = client.get(URL).content.decode()

    assert f'id="faktura-{never.pk}"' in html and "Automatisk eksport er slått av" in html
    assert f'id="faktura-{failed.pk}"' in html and "Konto 3020 finnes ikke i PowerOffice." in html
    assert f'id="faktura-{held.pk}"' in html and "Automatisk eksport er holdt tilbake fordi" in html
    assert f'id="faktura-{exported.pk}"' not in html
    assert f'id="faktura-{elsewhere.pk}"' not in html  # its subgroup does not use PowerOffice
    assert "1 forsøk" in html  # the failed one's attempts, expandable
    assert 'class="btn-icon eye-red"' in html
    assert '>Eksporter alle <span data-count="exportable" data-format="({})">(3)</span>' in html


def test_red_eye_hides_and_shows_again(client, export_world, finance_a):
    world = export_world
    invoice = make_invoice(world)
    client.force_login(finance_a)

    response = client.post(f"{URL}{invoice.pk}/skjul/", follow=True)

    assert f"Faktura {invoice.number} er skjult fra listen" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.export_hidden and invoice.export_hidden_by == finance_a
    assert invoice.export_hidden_at is not None
    assert f'id="faktura-{invoice.pk}"' not in client.get(URL).content.decode()
    hidden_page = client.get(URL + "?skjulte=1").content.decode()
    assert f'id="faktura-{invoice.pk}"' in hidden_page and "Skjult " in hidden_page

    client.post(f"{URL}{invoice.pk}/skjul/", {"skjulte": "1"})
    invoice.refresh_from_db()
    assert not invoice.export_hidden and invoice.export_hidden_by is None
    assert f'id="faktura-{invoice.pk}"' in client.get(URL).content.decode()


def test_export_one_invoice_with_a_clear_message(client, export_world, finance_a):
    world = export_world
    invoice = make_invoice(world)
    client.force_login(finance_a)

    response = client.post(f"{URL}{invoice.pk}/eksporter/", follow=True)

    assert f"Faktura {invoice.number} er eksportert til PowerOffice." in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.EXPORTED
    assert invoice.export_attempts_log.get().user == finance_a

    # A double click: the second POST books nothing.
    again = client.post(f"{URL}{invoice.pk}/eksporter/", follow=True)
    assert "allerede eksportert" in again.content.decode()
    assert len(world.vouchers()) == 1


def test_export_one_failure_message_and_back_to_the_invoice(client, export_world, finance_a):
    world = export_world
    world.sandbox.remove(world.client_key, "accounts", world.account_id(3020))
    invoice = make_invoice(world, [("krans", "1")])
    client.force_login(finance_a)
    page = f"/okonomi/fakturaer/{invoice.pk}/"

    response = client.post(f"{URL}{invoice.pk}/eksporter/", {"next": page})

    assert response.status_code == 302 and response["Location"] == page
    response = client.post(f"{URL}{invoice.pk}/eksporter/", {"next": "https://evil.example/"})
    assert response["Location"] == URL


def test_export_all_runs_in_the_background_with_progress(
    client, export_world, finance_a, celery_eager, django_capture_on_commit_callbacks
):
    world = export_world
    invoices = [make_invoice(world) for _ in range(3)]
    hidden = make_invoice(world)
    Invoice.objects.filter(pk=hidden.pk).update(export_hidden=True)
    client.force_login(finance_a)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{URL}eksporter-alle/")

    batch = ExportBatch.objects.get()
    assert response["Location"] == f"{URL}?eksport={batch.pk}"
    assert sorted(batch.invoice_ids) == sorted(i.pk for i in invoices)
    progress = client.get(f"{URL}eksport/{batch.pk}/").json()
    assert progress == {
        "id": batch.pk,
        "status": "done",
        "finished": True,
        "total": 3,
        "done": 3,
        "exported": 3,
        "failed": 0,
        "skipped": 0,
        "percent": 100,
        "text": "Ferdig: 3 av 3 eksportert",
        "queue": None,
        "counts": {
            "total": 0,
            "failed": 0,
            "held": 0,
            "waiting": 0,
            "never": 0,
            "waiting_or_never": 0,
            "hidden": 1,
            "exportable": 0,
        },
        "rows": [],
    }
    assert len(world.vouchers()) == 3
    hidden.refresh_from_db()
    assert hidden.export_status == ExportStatus.NOT_EXPORTED
    page = client.get(response["Location"]).content.decode()
    assert "Ferdig: 3 av 3 eksportert" in page


def test_progress_json_while_running(client, export_world, finance_a):
    world = export_world
    batch = ExportBatch.objects.create(
        agency=world.subgroup.agency,
        created_by=finance_a,
        invoice_ids=[1, 2, 3, 4],
        total=4,
        exported=1,
        failed=1,
        status=ExportBatch.Status.RUNNING,
        heartbeat_at=timezone.now(),
    )
    client.force_login(finance_a)
    data = client.get(f"{URL}eksport/{batch.pk}/").json()
    assert (data["percent"], data["finished"], data["text"]) == (
        50,
        False,
        "Eksporterer … 2 av 4 ferdig",
    )
    # A second "Eksporter alle" while one runs starts nothing new.
    response = client.post(f"{URL}eksporter-alle/")
    assert response["Location"] == f"{URL}?eksport={batch.pk}"
    assert ExportBatch.objects.count() == 1


def test_progress_json_carries_counts_and_changed_rows(
    client, export_world, finance_a, django_assert_max_num_queries
):
    """While "Eksporter alle" runs, each poll says which rows the page shows and with which
    status; the answer has the list's counts and those rows that changed, rendered."""
    world = export_world
    done, failing, waiting = (make_invoice(world) for _ in range(3))
    invoice_export(invoice_id=done.pk, trigger=AttemptTrigger.MANUAL)
    Invoice.objects.filter(pk=failing.pk).update(
        export_status=ExportStatus.FAILED, export_error="Konto 3020 finnes ikke i PowerOffice."
    )
    Invoice.objects.filter(pk=waiting.pk).update(export_status=ExportStatus.PENDING)
    batch = ExportBatch.objects.create(
        agency=world.subgroup.agency,
        created_by=finance_a,
        invoice_ids=[done.pk, failing.pk, waiting.pk],
        total=3,
        exported=1,
        failed=1,
        status=ExportBatch.Status.RUNNING,
        heartbeat_at=timezone.now(),
    )
    client.force_login(finance_a)
    shown = f"{done.pk}:pending,{failing.pk}:pending,{waiting.pk}:pending,999999:pending"
    data = client.get(f"{URL}eksport/{batch.pk}/", {"rader": shown}).json()

    assert data["counts"] == {
        "total": 2,
        "failed": 1,
        "held": 0,
        "waiting": 1,
        "never": 0,
        "waiting_or_never": 1,
        "hidden": 0,
        "exportable": 2,
    }
    rows = {row["id"]: row for row in data["rows"]}
    assert set(rows) == {done.pk, failing.pk}  # the pending one did not change
    assert rows[done.pk]["status"] == "exported"
    assert (
        "Eksportert" in rows[done.pk]["html"] and "Eksporter</button>" not in rows[done.pk]["html"]
    )
    assert f'id="faktura-{failing.pk}"' in rows[failing.pk]["html"]
    assert "Konto 3020 finnes ikke i PowerOffice." in rows[failing.pk]["html"]
    assert 'data-status="failed"' in rows[failing.pk]["html"]

    # The number of queries does not grow with the rows asked about.
    more = [make_invoice(world) for _ in range(5)]
    Invoice.objects.filter(pk__in=[i.pk for i in more]).update(export_status=ExportStatus.FAILED)
    shown_more = shown + "".join(f",{i.pk}:pending" for i in more)
    with django_assert_max_num_queries(12) as few:
        client.get(f"{URL}eksport/{batch.pk}/", {"rader": shown})
    with django_assert_max_num_queries(len(few.captured_queries)):
        data = client.get(f"{URL}eksport/{batch.pk}/", {"rader": shown_more}).json()
    assert len(data["rows"]) == 7


def test_specification_pdf(client, export_world, finance_a, user_a):
    world = export_world
    invoice = make_invoice(world)
    client.force_login(finance_a)
    response = client.get(f"/okonomi/fakturaer/{invoice.pk}/spesifikasjon.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert f"fakturaspesifikasjon-{invoice.number}.pdf" in response["Content-Disposition"]
    client.force_login(user_a)
    assert client.get(f"/okonomi/fakturaer/{invoice.pk}/spesifikasjon.pdf").status_code == 403


def test_progress_shows_the_queue_ahead_at_poweroffice(client, export_world, finance_a, settings):
    # A subscription key of its own: no other test's requests stand in this queue.
    settings.POWEROFFICE_SUBSCRIPTION_KEY = f"queue-{uuid.uuid4()}"
    limiter = default_rate_limiter()
    batch = ExportBatch.objects.create(
        agency=export_world.subgroup.agency,
        created_by=finance_a,
        invoice_ids=[1, 2],
        total=2,
        status=ExportBatch.Status.RUNNING,
        heartbeat_at=timezone.now(),
    )
    client.force_login(finance_a)
    try:
        idle = client.get(f"{URL}eksport/{batch.pk}/").json()["queue"]
        assert (idle["ahead"], idle["text"]) == (
            0,
            "Kø hos PowerOffice: ingen forespørsler venter foran.",
        )
        # Another client's bulk work fills the window, and two more of its requests wait.
        for n in range(limiter.limit):
            assert limiter.try_acquire(ticket=f"sent-{n}", lane=Lane.BULK, client="other") is None
        for ticket in ("waiting-1", "waiting-2"):
            assert limiter.try_acquire(ticket=ticket, lane=Lane.BULK, client="other") is not None
        busy = client.get(f"{URL}eksport/{batch.pk}/").json()["queue"]
        page = client.get(URL).content.decode()
    finally:
        limiter.reset()
    assert busy["ahead"] == 2
    assert busy["text"].startswith("Kø hos PowerOffice: 2 forespørsler foran, ca. ")
    assert 'id="export-progress-queue"' in page and "2 forespørsler foran" in page
