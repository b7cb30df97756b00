"""Datadeling says which PowerOffice Go the app talks to: production, PowerOffice's demo
environment (/Demo/v2) or a local sandbox, with a visible warning for the last two."""

import pytest

pytestmark = pytest.mark.django_db

URL = "/administrasjon/datadeling/"


def _banner(client, admin) -> str:
    """The part of the page from the target's element to the application key's card."""
    client.force_login(admin)
    html = client.get(URL).content.decode()
    marker = html.index('data-testid="poweroffice-target"')
    return html[html.rindex("<", 0, marker) : html.index('class="card dd-appkey"', marker)]


def test_production(client, admin_a, settings):
    settings.POWEROFFICE_API_URL = "https://goapi.poweroffice.net/v2"
    banner = _banner(client, admin_a)
    assert "PowerOffice Go (produksjon)" in banner
    assert "goapi.poweroffice.net" in banner
    assert "alert-warning" not in banner


def test_poweroffices_demo_environment(client, admin_a, settings):
    settings.POWEROFFICE_API_URL = "https://goapi.poweroffice.net/Demo/v2"
    banner = _banner(client, admin_a)
    assert "alert-warning" in banner
    assert "demomiljø" in banner
    assert "havner ikke i noe ekte regnskap" in banner


def test_local_sandbox(client, admin_a, settings):
    settings.POWEROFFICE_API_URL = "http://127.0.0.1:8765/v2"
    banner = _banner(client, admin_a)
    assert "alert-warning" in banner
    assert "Lokal sandkasse (ikke PowerOffice)" in banner
    assert "127.0.0.1:8765" in banner
    assert "Lim aldri inn en ekte klientnøkkel" in banner
