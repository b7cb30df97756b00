"""Onboarding against the sandbox: start, approve two clients, finish, propose, confirm."""

from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from poweroffice.crypto import decrypt_secret
from poweroffice.datadeling.connection import connection_store_client_key
from poweroffice.models import Connection
from poweroffice.onboarding import services
from tests.factories import AgencyFactory, SubgroupFactory

pytestmark = pytest.mark.django_db


def _request():
    request = RequestFactory().get("/")
    request.session = SessionStore()
    return request


def _approve(sandbox, url, ids, action="approve"):
    response = sandbox.http.post(url, data={"action": action, "client": ids}, allow_redirects=False)
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    return query["state"][0], query.get("token", [""])[0], query.get("error", [""])[0]


def test_two_clients_mapped_by_org_number_then_name(sandbox, sandbox_settings):
    agency = AgencyFactory()
    east = SubgroupFactory(agency=agency, name="Øst", org_number="911111111")
    west = SubgroupFactory(agency=agency, name="Byrå Vest AS", org_number="")
    one = sandbox.create_client("Byrå Øst AS", organization_no="911111111")
    two = sandbox.create_client("Byrå Vest AS", organization_no="922222222")
    request = _request()
    url = services.onboarding_start(request=request, agency=agency)
    state, token, error = _approve(sandbox, url, [one["client_id"], two["client_id"]])
    services.onboarding_finish(
        request=request, agency=agency, state=state, token=token, error=error
    )
    assert one["client_key"] not in str(dict(request.session))
    proposed = {
        c.name: c.proposed for c in services.approved_clients(request=request, agency=agency)
    }
    assert proposed == {"Byrå Øst AS": east, "Byrå Vest AS": west}
    connections = services.onboarding_confirm(
        request=request, agency=agency, mapping={0: east.pk, 1: west.pk}, actor=None
    )
    assert sorted(c.client_name for c in connections) == ["Byrå Vest AS", "Byrå Øst AS"]
    # The connection remembers the client it was verified against, organisation number too.
    remembered = {c.client_name: (c.client_id, c.client_org_number) for c in connections}
    assert remembered == {
        "Byrå Øst AS": (str(one["client_id"]), "911111111"),
        "Byrå Vest AS": (str(two["client_id"]), "922222222"),
    }
    stored = decrypt_secret(Connection.objects.get(subgroup=east).client_key_encrypted)
    assert stored == one["client_key"]
    with pytest.raises(services.OnboardingError):  # replay: the state is single-use
        services.onboarding_finish(
            request=request, agency=agency, state=state, token=token, error=error
        )


def test_cancel_and_foreign_agency_save_nothing(sandbox, sandbox_settings):
    agency, other = AgencyFactory(), AgencyFactory()
    one = sandbox.create_client("Byrå Øst AS", organization_no="911111111")
    request = _request()
    url = services.onboarding_start(request=request, agency=agency)
    state, token, error = _approve(sandbox, url, [one["client_id"]])
    with pytest.raises(services.OnboardingError, match="ikke startet av deg"):
        services.onboarding_finish(
            request=request, agency=other, state=state, token=token, error=""
        )
    url = services.onboarding_start(request=request, agency=agency)
    state, token, error = _approve(sandbox, url, [one["client_id"]], action="cancel")
    with pytest.raises(services.OnboardingError, match="avbrutt"):
        services.onboarding_finish(
            request=request, agency=agency, state=state, token=token, error=error
        )
    assert not Connection.objects.exists()


def _finished(sandbox, agency, client_ids):
    request = _request()
    url = services.onboarding_start(request=request, agency=agency)
    state, token, error = _approve(sandbox, url, client_ids)
    services.onboarding_finish(
        request=request, agency=agency, state=state, token=token, error=error
    )
    return request


def test_client_of_another_subgroup_is_refused_and_nothing_saved(sandbox, sandbox_settings):
    agency = AgencyFactory()
    east = SubgroupFactory(agency=agency, name="Øst", org_number="911111111")
    west = SubgroupFactory(agency=agency, name="Vest", org_number="922222222")
    north = SubgroupFactory(agency=agency, name="Nord")
    one = sandbox.create_client("Byrå Øst AS", organization_no="911111111")
    two = sandbox.create_client("Byrå Vest AS", organization_no="922222222")
    taken = Connection.objects.create(subgroup=north)
    assert connection_store_client_key(connection=taken, client_key=two["client_key"]).ok
    request = _finished(sandbox, agency, [one["client_id"], two["client_id"]])
    with pytest.raises(services.OnboardingError, match="allerede er koblet til Nord"):
        services.onboarding_confirm(
            request=request, agency=agency, mapping={0: east.pk, 1: west.pk}, actor=None
        )
    assert (
        not Connection.objects.filter(subgroup__in=[east, west])
        .exclude(client_key_encrypted="")
        .exists()
    )
    assert services.approved_clients(request=request, agency=agency)  # the admin may retry


def test_no_matching_organisation_number_proposes_nothing(sandbox, sandbox_settings):
    agency = AgencyFactory()
    SubgroupFactory(agency=agency, name="Øst", org_number="916800002")
    SubgroupFactory(agency=agency, name="Vest", org_number="916800010")
    one = sandbox.create_client("Helt Annet AS", organization_no="974760673")
    request = _finished(sandbox, agency, [one["client_id"]])
    [client] = services.approved_clients(request=request, agency=agency)
    assert client.org_number == "974760673" and client.proposed is None


def test_an_abandoned_onboarding_is_dropped_from_the_session(
    sandbox, sandbox_settings, monkeypatch
):
    agency = AgencyFactory()
    east = SubgroupFactory(agency=agency, name="Øst", org_number="911111111")
    one = sandbox.create_client("Byrå Øst AS", organization_no="911111111")
    request = _finished(sandbox, agency, [one["client_id"]])
    late = services.time.time() + services.STATE_MAX_AGE + 1
    monkeypatch.setattr(services, "time", SimpleNamespace(time=lambda: late))
    assert services.approved_clients(request=request, agency=agency) == []
    assert services.SESSION_KEY not in request.session
    with pytest.raises(services.OnboardingError, match="Start på nytt"):
        services.onboarding_confirm(
            request=request, agency=agency, mapping={0: east.pk}, actor=None
        )
    assert not Connection.objects.exists()


def test_an_agency_of_several_subgroups_is_shown_every_client(sandbox, sandbox_settings):
    agency = AgencyFactory(org_number="914778271")
    SubgroupFactory(agency=agency, name="Øst", org_number="916800002")
    SubgroupFactory(agency=agency, name="Vest", org_number="916800010")
    sandbox.create_client("Byrå Øst AS", organization_no="916800002")
    sandbox.create_client("Byrå Vest AS", organization_no="916800010")
    page = sandbox.http.get(services.onboarding_start(request=_request(), agency=agency)).text
    assert "Byrå Øst AS" in page and "Byrå Vest AS" in page


def test_an_agency_of_one_subgroup_is_shown_its_own_client(sandbox, sandbox_settings):
    agency = AgencyFactory(org_number="914778271")
    SubgroupFactory(agency=agency, name="Øst", org_number="916800002")
    sandbox.create_client("Byrå Øst AS", organization_no="916800002")
    sandbox.create_client("Noen Andre AS", organization_no="916800010")
    page = sandbox.http.get(services.onboarding_start(request=_request(), agency=agency)).text
    assert "Byrå Øst AS" in page and "Noen Andre AS" not in page
