"""E-mail alerts: events recorded where they happen, one digest a day per kind and user to the
agency's administrators and finance users, opt-out on Min profil, absolute working links and
no secrets in the mail."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from accounting.models import Account, Article
from poweroffice.alerts import tasks
from poweroffice.alerts.services import alerts_send_digests
from poweroffice.invoices.export import invoice_export
from poweroffice.models import AlertEvent, AttemptTrigger
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

    assert tasks.send_digests.apply().get() == 4  # two kinds, two people
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
