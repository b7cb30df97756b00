"""Failed logins behind the TLS proxy: locked per username AND real client address, so that
wrong passwords typed elsewhere never lock an administrator out where they are, and a client
cannot pick its own address by writing X-Forwarded-For."""

import pytest
from django.test import Client
from django.urls import reverse

PROXY = "10.0.0.2"  # every request reaches gunicorn from the proxy's address
ATTACKER = "203.0.113.9"
ADMIN = "198.51.100.7"


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 3
    return settings


def _login(password: str, *, forwarded: str, username: str = "admin_a", remote: str = PROXY):
    client = Client(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    response = client.post(reverse("login"), {"username": username, "password": password})
    return response, client


def test_wrong_passwords_elsewhere_do_not_lock_out_the_administrator(behind_proxy, admin_a):
    for _ in range(3):
        _login("feil", forwarded=ATTACKER)
    response, _ = _login("passord123", forwarded=ATTACKER)
    assert response.status_code == 429  # the attacker is locked out

    response, client = _login("passord123", forwarded=ADMIN)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(admin_a.pk)


def test_a_forged_forwarded_for_does_not_help_the_attacker(behind_proxy, admin_a):
    # The proxy appends the address it saw; what the client wrote in front proves nothing.
    for n in range(3):
        _login("feil", forwarded=f"192.0.2.{n}, {ATTACKER}")
    response, _ = _login("passord123", forwarded=f"{ADMIN}, {ATTACKER}")
    assert response.status_code == 429
    response, _ = _login("passord123", forwarded=ADMIN)
    assert response.status_code == 302


def test_without_trusted_proxies_the_header_is_ignored(settings, admin_a):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        _login("feil", forwarded=f"192.0.2.{n}", remote=ATTACKER)
    # Writing another X-Forwarded-For does not get a locked-out client a fresh start.
    response, _ = _login("passord123", forwarded="192.0.2.77", remote=ATTACKER)
    assert response.status_code == 429
    response, _ = _login("passord123", forwarded=ATTACKER, remote=ADMIN)
    assert response.status_code == 302
