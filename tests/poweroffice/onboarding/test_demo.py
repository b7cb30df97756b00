"""The demo connects with the button: demo subgroups and their sandbox clients share valid
organisation numbers, so a demo admin approves them all and each is proposed its own subgroup."""

import re
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from stdnum.no import orgnr

from bitnet.models import Agency, Role, User
from poweroffice.crypto import decrypt_secret
from poweroffice.models import Connection

pytestmark = pytest.mark.django_db


def _keys() -> dict[int, str]:
    return {c.subgroup_id: decrypt_secret(c.client_key_encrypted) for c in Connection.objects.all()}


def test_a_demo_admin_connects_every_subgroup_by_organisation_number(
    client, sandbox, sandbox_settings
):
    call_command("seed_demo", "--invoices", "2", stdout=StringIO())
    agency = Agency.objects.get()
    subgroups = list(agency.subgroups.order_by("name"))
    assert len(subgroups) == 2
    assert all(orgnr.is_valid(s.org_number) for s in subgroups)
    assert len({s.org_number for s in subgroups}) == 2
    keys = _keys()
    for s in subgroups:
        assert sandbox.client(keys[s.pk])["organization_no"] == s.org_number

    client.force_login(User.objects.filter(agency=agency, role=Role.ADMINISTRATOR).first())
    url = client.post("/poweroffice/onboarding/start/").context["url"]
    consent = sandbox.http.get(url).text
    ids = re.findall(r'name="client" value="([^"]+)"', consent)
    assert len(ids) == 2 and all(s.org_number in consent for s in subgroups)
    back = sandbox.http.post(url, data={"action": "approve", "client": ids}, allow_redirects=False)
    parts = urlsplit(back.headers["Location"])
    client.get(f"{parts.path}?{parts.query}")
    page = client.get("/poweroffice/onboarding/bekreft/")
    proposed = {c.org_number: c.proposed for c in page.context["clients"]}
    assert proposed == {s.org_number: s for s in subgroups}
    form = {f"klient-{c.index}": c.proposed.pk for c in page.context["clients"]}
    done = client.post("/poweroffice/onboarding/bekreft/", form)
    assert done["Location"].endswith("/ferdig/")
    assert _keys() == keys  # each subgroup kept its own client

    # Seeding again keeps the clients and their organisation numbers.
    call_command("seed_demo", "--invoices", "0", stdout=StringIO())
    for s in subgroups:
        assert sandbox.client(keys[s.pk])["organization_no"] == s.org_number
