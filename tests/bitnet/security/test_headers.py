"""Headers of every answer: Content-Security-Policy (django-csp, inline scripts only with the
request's nonce), Cache-Control: no-store on what a signed-in user gets (pages and files with
keys or personal data), and a session of a working day."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _nonce(response) -> str:
    policy = response["Content-Security-Policy"]
    match = re.search(r"script-src [^;]*'nonce-([^']+)'", policy)
    assert match, policy
    return match.group(1)


def test_content_security_policy(client, finance_a, catalogue):
    response = client.get(reverse("login"))
    policy = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'self'",
    ):
        assert directive in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]

    client.force_login(finance_a)
    response = client.get(reverse("accounting:invoice_new"))
    html = response.content.decode()
    scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", html)
    assert scripts  # the page's own inline script
    nonce = _nonce(response)
    for attributes in scripts:
        assert f'nonce="{nonce}"' in attributes


def test_datadeling_is_not_stored(client, admin_a, subgroup_a):
    client.force_login(admin_a)
    response = client.get(reverse("datadeling:index"))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_specification_pdf_is_not_stored(client, export_world, finance_a):
    from tests.fixtures.export import make_invoice

    invoice = make_invoice(export_world)
    client.force_login(finance_a)
    response = client.get(reverse("invoice_export:invoice_specification", args=[invoice.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]


def test_every_signed_in_page_is_not_stored(client, personas):
    for name in ("admin_a", "finance_a", "payroll_a", "user_a"):
        client.force_login(personas[name])
        response = client.get(reverse("home"))
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"], name


def test_session_cookie_lasts_a_working_day(client, finance_a, settings):
    client.post(reverse("login"), {"username": "finance_a", "password": "passord123"})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == 8 * 60 * 60

    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    client.logout()
    client.post(reverse("login"), {"username": "finance_a", "password": "passord123"})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert not cookie["max-age"] and not cookie["expires"]  # gone when the browser closes
