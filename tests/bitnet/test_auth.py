"""Logging in and out, throttled failed logins, the home page per role, settings errors
(the production settings: tests/bitnet/security/test_settings.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


def test_login_page_renders_in_norwegian(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "Logg inn i Bitnet" in response.content.decode()


def test_login_and_logout(client, finance_a):
    response = client.post(
        reverse("login"), {"username": "finance_a", "password": "passord123"}, follow=True
    )
    assert response.status_code == 200
    assert response.context["user"] == finance_a
    assert "God dag" in response.content.decode()
    response = client.post(reverse("logout"), follow=True)
    assert not response.context["user"].is_authenticated


def test_wrong_password_says_so(client, finance_a):
    response = client.post(reverse("login"), {"username": "finance_a", "password": "feil"})
    assert response.status_code == 200
    assert "riktig brukernavn og passord" in response.content.decode().replace("\xa0", " ")


def test_repeated_failed_logins_are_throttled(client, finance_a, admin_a, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post(reverse("login"), {"username": "finance_a", "password": "feil"})
    # Locked out now, even with the right password.
    response = client.post(reverse("login"), {"username": "finance_a", "password": "passord123"})
    assert response.status_code == 429
    assert "For mange mislykkede innlogginger" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Another user from the same address is not locked out.
    response = client.post(reverse("login"), {"username": "admin_a", "password": "passord123"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(admin_a.pk)


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("persona", "sees_admin_menu", "sees_finance_menu"),
    [
        ("admin_a", True, True),
        ("finance_a", False, True),
        ("payroll_a", False, False),
        ("user_a", False, False),
    ],
)
def test_menu_matches_role(client, personas, persona, sees_admin_menu, sees_finance_menu):
    client.force_login(personas[persona])
    html = client.get("/").content.decode()
    assert ("/administrasjon/datadeling/" in html) is sees_admin_menu
    assert ("/okonomi/fakturaer/" in html) is sees_finance_menu
    assert "/lonn/kjoreboker/" in html


def test_malformed_variable_is_named_at_startup():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "POWEROFFICE_"))}
    env.pop("DATABASE_URL", None)
    env.update(DJANGO_DEBUG="true", POWEROFFICE_RATE_LIMIT="ti")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "POWEROFFICE_RATE_LIMIT" in result.stderr
