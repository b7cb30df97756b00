"""Administrasjon > Betalingssjekk: who may see it, what it shows, "Kjør nå"."""

import datetime as dt

import pytest
from django.utils import timezone

from poweroffice.crypto import encrypt_secret
from poweroffice.models import Connection, PaymentSyncRun
from poweroffice.payments.services import payments_claim
from tests.factories import SubgroupFactory

URL = "/administrasjon/betalingssjekk/"
pytestmark = pytest.mark.django_db


def connect(subgroup, key="11111111-2222-3333-4444-555555555555"):
    return Connection.objects.update_or_create(
        subgroup=subgroup,
        defaults={
            "enabled": True,
            "client_key_encrypted": encrypt_secret(key),
            "client_key_last4": key[-4:],
        },
    )[0]


def test_page_is_for_administrators_only(client, personas):
    for name in ("finance_a", "payroll_a", "user_a"):
        client.force_login(personas[name])
        assert client.get(URL).status_code == 403, name
        assert client.post(f"{URL}1/kjor/").status_code == 403, name
    client.logout()
    response = client.get(URL)
    assert response.status_code == 302 and "/logg-inn/" in response["Location"]


def test_page_lists_runs_per_subgroup_with_the_failure_reason(client, admin_a, subgroup_a):
    connect(subgroup_a)
    other = SubgroupFactory(agency=subgroup_a.agency, name="Hansen Bærum")
    now = timezone.now()
    PaymentSyncRun.objects.create(
        subgroup=subgroup_a,
        mode=PaymentSyncRun.Mode.INCREMENTAL,
        finished_at=now,
        success=True,
        checked=120,
        changed=7,
        requests=2,
        watermark_before=now - dt.timedelta(days=1),
        watermark_after=now - dt.timedelta(minutes=10),
    )
    PaymentSyncRun.objects.create(
        subgroup=subgroup_a,
        mode=PaymentSyncRun.Mode.INCREMENTAL,
        finished_at=now,
        success=False,
        requests=1,
        error="Klientnøkkelen er ugyldig – legg inn en ny under Datadeling.",
    )
    client.force_login(admin_a)
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Betalingssjekk" in html
    assert "Hansen Oslo" in html and "Hansen Bærum" in html
    assert "Siste kjøring feilet" in html
    assert "Klientnøkkelen er ugyldig – legg inn en ny under Datadeling." in html
    assert ">120<" in html and ">7<" in html
    # What each run looked at, in words.
    before = timezone.localtime(now - dt.timedelta(days=1))
    after = timezone.localtime(now - dt.timedelta(minutes=10))
    assert f"Endringer i PowerOffice siden {before:%d.%m.%Y %H:%M}" in html
    assert f"Neste kjøring henter endringer fra {after:%d.%m.%Y %H:%M}" in html
    assert "Endringer etter" not in html and "ny: " not in html
    assert "Kjør nå" in html
    assert f'action="/administrasjon/betalingssjekk/{subgroup_a.pk}/kjor/"' in html
    # The unconnected subgroup points to Datadeling instead of offering a run.
    assert f'action="/administrasjon/betalingssjekk/{other.pk}/kjor/"' not in html
    assert "Koble til under Datadeling" in html
    # Never the key, not even masked, on this page.
    assert "11111111-2222" not in html


def test_page_shows_a_running_check_and_refreshes(client, admin_a, subgroup_a):
    connect(subgroup_a)
    payments_claim(subgroup=subgroup_a)
    client.force_login(admin_a)
    html = client.get(URL).content.decode()
    assert 'data-state="running"' in html
    assert 'http-equiv="refresh"' in html
    assert "Inkrementell pågår" in html


def test_another_agency_sees_nothing_of_ours_and_gets_404(client, admin_b, subgroup_a):
    connect(subgroup_a)
    client.force_login(admin_b)
    response = client.get(URL)
    assert response.status_code == 200
    assert "Hansen Oslo" not in response.content.decode()
    assert client.post(f"{URL}{subgroup_a.pk}/kjor/").status_code == 404
    assert not PaymentSyncRun.objects.exists()


def test_run_now_needs_a_connection(client, admin_a, subgroup_a):
    client.force_login(admin_a)
    response = client.post(f"{URL}{subgroup_a.pk}/kjor/", follow=True)
    assert "er ikke koblet til PowerOffice" in response.content.decode()
    assert not PaymentSyncRun.objects.exists()


def test_run_now_while_running_starts_nothing(client, admin_a, subgroup_a):
    connect(subgroup_a)
    running = payments_claim(subgroup=subgroup_a)
    client.force_login(admin_a)
    response = client.post(f"{URL}{subgroup_a.pk}/kjor/", follow=True)
    assert "En betalingssjekk for Hansen Oslo pågår allerede." in response.content.decode()
    assert list(PaymentSyncRun.objects.values_list("pk", flat=True)) == [running.pk]


def test_run_now_only_by_post(client, admin_a, subgroup_a):
    client.force_login(admin_a)
    assert client.get(f"{URL}{subgroup_a.pk}/kjor/").status_code == 405
