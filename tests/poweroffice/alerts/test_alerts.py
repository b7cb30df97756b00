"""E-mail alerts: events recorded where they happen, one digest a day per kind and user to those
of the agency whose role opens the page it links to, opt-out on Min profil, absolute working
links and no secrets in the mail."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from accounting.models import Account, Article
from payroll.models import PayrollExport, PayrollExportStatus
from poweroffice.alerts import tasks
from poweroffice.alerts.hooks import (
    export_failure_alert,
    payment_check_alert,
    payroll_rollback_alert,
    reconciliation_alert,
)
from poweroffice.alerts.services import alerts_send_digests
from poweroffice.invoices.export import invoice_export
from poweroffice.models import AlertEvent, AlertKind, AttemptTrigger, PaymentSyncRun, Reconciliation
from poweroffice.payments.services import payments_sync
from tests.fixtures.export import make_invoice

pytestmark = pytest.mark.django_db

SITE = "https://bitnet.example.no"


@pytest.fixture
def people(export_world, admin_a, finance_a, payroll_a, user_a, settings):
    settings.SITE_URL = SITE
    for person in (admin_a, finance_a, payroll_a, user_a):
        person.email = f"{person.username}@example.no"
        person.save()
    return {"admin": admin_a, "finance": finance_a}


def _fail_with_unknown_account(world):
    vat = world.articles["kiste"].vat_code
    account, _ = Account.objects.get_or_create(
        agency=world.subgroup.agency, number=3999, name="Ukjent salg", vat_code=vat
    )
    world.articles["ukjent"], _ = Article.objects.get_or_create(
        agency=world.subgroup.agency,
        name="Ukjent vare",
        unit="stk",
        price=Decimal("100"),
        account=account,
        vat_code=vat,
    )
    invoice = make_invoice(world, [("ukjent", "1")])
    assert not invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).ok
    return invoice


def _recipients() -> set[str]:
    return {address for message in mail.outbox for address in message.to}


def test_export_that_a_person_must_fix_sends_one_digest_a_day(export_world, people):
    _fail_with_unknown_account(export_world)
    assert alerts_send_digests() == 2
    assert _recipients() == {"admin_a@example.no", "finance_a@example.no"}
    body = mail.outbox[0].body
    assert mail.outbox[0].subject == "Bitnet: Fakturaer som må rettes før eksport"
    assert "Konto 3999 finnes ikke i PowerOffice." in body
    assert f"{SITE}/okonomi/ikke-eksporterte/" in body

    # A second failure the same day: no second mail; it goes out the next day.
    _fail_with_unknown_account(export_world)
    assert alerts_send_digests() == 0
    assert len(mail.outbox) == 2
    tomorrow = timezone.now() + dt.timedelta(days=1)
    assert alerts_send_digests(now=tomorrow) == 2
    assert len(mail.outbox) == 4
    assert alerts_send_digests(now=tomorrow) == 0


def test_transient_failure_sends_nothing(export_world, people):
    export_world.sandbox.faults(
        method="POST", path=r"^/Vouchers/OutgoingInvoiceJournals$", status=503, count=20
    )
    invoice = make_invoice(export_world)
    assert not invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).ok
    assert not AlertEvent.objects.exists()
    assert alerts_send_digests() == 0


def test_broken_connection_and_failed_payment_check_alert_without_secrets(
    export_world, people, client
):
    world = export_world
    exported = make_invoice(world, [("kiste", "1")])
    assert invoice_export(invoice_id=exported.pk, trigger=AttemptTrigger.MANUAL).ok
    invoice = make_invoice(world)
    world.sandbox.delete_client(world.client_key)  # the client key is gone in PowerOffice
    assert not invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).ok
    assert payments_sync(subgroup=world.subgroup).success is False

    # Two kinds, each for the administrator only: Datadeling and Betalingssjekk are theirs.
    assert tasks.send_digests.apply().get() == 2
    assert _recipients() == {"admin_a@example.no"}
    subjects = {m.subject for m in mail.outbox}
    assert subjects == {
        "Bitnet: Tilkoblingen til PowerOffice er brutt",
        "Bitnet: Betalingssjekken feilet",
    }
    for message in mail.outbox:
        assert world.client_key not in message.body
        assert settings.POWEROFFICE_APPLICATION_KEY not in message.body
        assert settings.POWEROFFICE_SUBSCRIPTION_KEY not in message.body
        assert "Hansen Oslo" in message.body
    # The links are absolute and open the page that fixes it.
    client.force_login(people["admin"])
    links = {u for m in mail.outbox for u in re.findall(r"https://\S+", m.body)}
    assert f"{SITE}/administrasjon/datadeling/" in links
    assert f"{SITE}/administrasjon/betalingssjekk/" in links
    for link in links:
        assert client.get(link.removeprefix(SITE)).status_code == 200, link


def test_opt_out_on_min_profil(export_world, people, client):
    client.force_login(people["finance"])
    page = client.get("/profil/").content.decode()
    assert "Send meg varsler på e-post" in page
    assert client.post("/profil/", {}).status_code == 302  # the box unticked
    people["finance"].refresh_from_db()
    assert people["finance"].alerts_enabled is False

    _fail_with_unknown_account(export_world)
    assert alerts_send_digests() == 1
    assert _recipients() == {"admin_a@example.no"}


def test_beat_schedule_names_the_task():
    entry = settings.CELERY_BEAT_SCHEDULE["alerts-digest"]
    assert entry["task"] == tasks.send_digests.name
    assert "poweroffice.alerts.tasks" in settings.CELERY_IMPORTS


EXPECTED = {
    "Bitnet: Tilkoblingen til PowerOffice er brutt": {"admin_a@example.no"},
    "Bitnet: Betalingssjekken feilet": {"admin_a@example.no"},
    "Bitnet: Fakturaer som må rettes før eksport": {"admin_a@example.no", "finance_a@example.no"},
    "Bitnet: Avvik i månedlig avstemming": {"admin_a@example.no", "finance_a@example.no"},
    "Bitnet: Tilbakerulling av lønnseksport ufullstendig": {
        "admin_a@example.no",
        "payroll_a@example.no",
    },
}


def test_each_kind_goes_only_to_those_whose_role_opens_its_link(
    export_world, people, payroll_a, user_a, client
):
    world = export_world
    subgroup = world.subgroup
    invoice = make_invoice(world)
    export_failure_alert(invoice, kind="auth", message="Klientnøkkelen er trukket tilbake.")
    export_failure_alert(invoice, kind="validation", message="Konto 3999 finnes ikke.")
    run = PaymentSyncRun.objects.create(
        subgroup=subgroup, mode="incremental", error="PowerOffice svarte ikke."
    )
    payment_check_alert(run)
    payroll = PayrollExport.objects.create(
        agency_id=subgroup.agency_id,
        subgroup=subgroup,
        date_from=dt.date(2026, 5, 1),
        date_to=dt.date(2026, 5, 31),
        status=PayrollExportStatus.ROLLBACK_INCOMPLETE,
    )
    payroll_rollback_alert(payroll)
    reconciliation = Reconciliation.objects.create(
        subgroup=subgroup,
        period_from=dt.date(2026, 5, 1),
        period_to=dt.date(2026, 5, 31),
        state=Reconciliation.State.DIFFERENCES,
        differences=[
            {
                "kind": "amount",
                "kind_label": "Ulikt beløp",
                "invoice_no": 1,
                "what": "Faktura 1",
                "bitnet": "100,00",
                "poweroffice": "90,00",
                "difference": "10.00",
                "invoices": [1],
                "action": "Kontroller fakturaen.",
            }
        ],
    )
    reconciliation_alert(reconciliation)
    assert set(AlertEvent.objects.values_list("kind", flat=True)) == set(AlertKind.values)

    assert alerts_send_digests() == sum(len(to) for to in EXPECTED.values())
    received: dict[str, set[str]] = {}
    for message in mail.outbox:
        received.setdefault(message.subject, set()).update(message.to)
    assert received == EXPECTED
    assert "user_a@example.no" not in _recipients()

    # Every link in a mail opens for everyone who received it.
    users = {f"{u.username}@example.no": u for u in (people["admin"], people["finance"], payroll_a)}
    for message in mail.outbox:
        (address,) = message.to
        client.force_login(users[address])
        for link in re.findall(r"https://\S+", message.body):
            if link.endswith("/profil/"):
                continue
            path = link.removeprefix(SITE)
            assert client.get(path).status_code == 200, (address, path)
