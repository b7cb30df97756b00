"""Koble til PowerOffice through the pages: start, PowerOffice's redirect back, confirm."""

from urllib.parse import urlsplit

import pytest

from poweroffice.models import Connection
from tests.factories import SubgroupFactory

pytestmark = pytest.mark.django_db


def _approved_return(client, sandbox, client_ids):
    start = client.post("/poweroffice/onboarding/start/")
    assert start.status_code == 200
    url = start.context["url"]
    back = sandbox.http.post(
        url, data={"action": "approve", "client": client_ids}, allow_redirects=False
    )
    parts = urlsplit(back.headers["Location"])
    return f"{parts.path}?{parts.query}"


def test_connect_through_the_pages(client, admin_a, subgroup_a, sandbox, sandbox_settings):
    po = sandbox.create_client("Hansen Oslo", organization_no="916800002")
    client.force_login(admin_a)
    assert "Koble til PowerOffice" in client.get("/administrasjon/datadeling/").content.decode()
    back = client.get(_approved_return(client, sandbox, [po["client_id"]]))
    assert back.status_code == 302 and back["Location"].endswith("/bekreft/")
    page = client.get("/poweroffice/onboarding/bekreft/").content.decode()
    assert "Hansen Oslo" in page and po["client_key"] not in page
    done = client.post("/poweroffice/onboarding/bekreft/", {"klient-0": subgroup_a.pk})
    assert done.status_code == 302 and done["Location"].endswith("/ferdig/")
    assert Connection.objects.get(subgroup=subgroup_a).client_key_last4
    page = client.get(done["Location"]).content.decode()
    assert subgroup_a.name in page and "Test tilkoblingen" in page
    assert "Klientnøkkelen virker og åpner «Hansen Oslo»" in page
    assert "org.nr. 916 800 002)" in page
    assert "Forutsetninger" in page and "Egen klientnøkkel" in page
    assert po["client_key"] not in page
    assert Connection.objects.get(subgroup=subgroup_a).prerequisites
    again = client.get(done["Location"])  # shown once
    assert again.status_code == 302
    datadeling = client.get("/administrasjon/datadeling/").content.decode()
    assert 'klient «Hansen Oslo», <span class="nowrap">org.nr. 916 800 002</span>' in datadeling


def test_other_agencys_admin_cannot_finish(
    client, admin_a, admin_b, subgroup_a, sandbox, sandbox_settings
):
    po = sandbox.create_client("Hansen Oslo")
    client.force_login(admin_a)
    back_url = _approved_return(client, sandbox, [po["client_id"]])
    client.force_login(admin_b)
    back = client.get(back_url)
    assert back.status_code == 302 and "bekreft" not in back["Location"]
    assert not Connection.objects.exists()


def test_not_for_other_roles(client, personas):
    client.force_login(personas["finance_a"])
    assert client.post("/poweroffice/onboarding/start/").status_code == 403


def test_refused_or_replayed_token_saves_nothing(
    client, admin_a, subgroup_a, sandbox, sandbox_settings
):
    po = sandbox.create_client("Ukjent AS")
    client.force_login(admin_a)
    back_url = _approved_return(client, sandbox, [po["client_id"]])
    forged = back_url.split("&token=")[0] + "&token=forfalsket"
    refused = client.get(forged, follow=True).content.decode()
    assert "PowerOffice godtok ikke tilkoblingen" in refused
    replay = client.get(back_url, follow=True).content.decode()
    assert "ble ikke startet av deg" in replay
    assert not Connection.objects.exists()


def test_no_matching_subgroup_is_said(client, admin_a, subgroup_a, sandbox, sandbox_settings):
    po = sandbox.create_client("Ukjent AS", organization_no="999999999")
    client.force_login(admin_a)
    client.get(_approved_return(client, sandbox, [po["client_id"]]))
    page = client.get("/poweroffice/onboarding/bekreft/").content.decode()
    assert "Fant ingen undergruppe med samme organisasjonsnummer eller navn." in page
    missing = client.post("/poweroffice/onboarding/bekreft/", {"klient-0": ""}, follow=True)
    assert "Velg en undergruppe for Ukjent AS." in missing.content.decode()
    skip = {"klient-0": "hopp-over"}
    skipped = client.post("/poweroffice/onboarding/bekreft/", skip, follow=True)
    assert "Du hoppet over alle klientene" in skipped.content.decode()
    assert not Connection.objects.exists()


def test_expired_state_is_refused(client, admin_a, sandbox, sandbox_settings, monkeypatch):
    po = sandbox.create_client("Hansen Oslo")
    client.force_login(admin_a)
    back_url = _approved_return(client, sandbox, [po["client_id"]])
    monkeypatch.setattr("poweroffice.onboarding.services.STATE_MAX_AGE", -1)
    assert "tok for lang tid" in client.get(back_url, follow=True).content.decode()


def test_a_skipped_client_is_left_out(client, admin_a, subgroup_a, sandbox, sandbox_settings):
    SubgroupFactory(agency=subgroup_a.agency, name="Vest")
    oslo = sandbox.create_client("Hansen Oslo")
    other = sandbox.create_client("Ukjent AS", organization_no="974760673")
    client.force_login(admin_a)
    client.get(_approved_return(client, sandbox, [oslo["client_id"], other["client_id"]]))
    form = {"klient-0": subgroup_a.pk, "klient-1": "hopp-over"}
    done = client.post("/poweroffice/onboarding/bekreft/", form, follow=True).content.decode()
    assert "Klientnøkkelen virker og åpner «Hansen Oslo»" in done and "Ukjent AS" not in done
    assert list(Connection.objects.exclude(client_key_encrypted="")) == [
        Connection.objects.get(subgroup=subgroup_a)
    ]


def test_a_client_of_another_subgroup_is_refused_in_norwegian(
    client, admin_a, subgroup_a, sandbox, sandbox_settings
):
    from poweroffice.datadeling.connection import connection_store_client_key

    north = SubgroupFactory(agency=subgroup_a.agency, name="Nord")
    po = sandbox.create_client("Hansen Oslo")
    taken = Connection.objects.create(subgroup=north)
    assert connection_store_client_key(connection=taken, client_key=po["client_key"]).ok
    client.force_login(admin_a)
    client.get(_approved_return(client, sandbox, [po["client_id"]]))
    page = client.post("/poweroffice/onboarding/bekreft/", {"klient-0": subgroup_a.pk}, follow=True)
    assert "som allerede er koblet til Nord" in page.content.decode()
    assert not Connection.objects.filter(subgroup=subgroup_a).exclude(client_key_encrypted="")
