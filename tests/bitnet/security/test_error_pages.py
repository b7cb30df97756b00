"""The DEBUG error page (Django's technical 500) of every view a client key passes through never
shows the key, in frame locals, POST data or settings; nor does the error log."""

import base64
import logging

import pytest
from cryptography.fernet import Fernet
from django.test import Client

from poweroffice.crypto import encrypt_secret
from poweroffice.datadeling.connection import connection_for_subgroup
from poweroffice.models import Connection

pytestmark = pytest.mark.django_db

DATADELING = "/administrasjon/datadeling/"


def _activate_url(subgroup) -> str:
    return f"/administrasjon/integrasjoner/{subgroup.pk}/aktiver/"


def _break(settings, how: str) -> None:
    """Make the key-handling code fail after the key has passed through it."""
    if how == "encryption-key":
        # The key is verified with PowerOffice, then cannot be encrypted.
        settings.FIELD_ENCRYPTION_KEY = "not-a-fernet-key"
    else:
        # The client for the key cannot be built (a setting the start-up checks do not cover).
        settings.POWEROFFICE_TIMEOUT = "tretti"


def _stored(subgroup, key: str) -> None:
    connection = connection_for_subgroup(subgroup)
    connection.client_key_encrypted = encrypt_secret(key)
    connection.client_key_last4 = key[-4:]
    connection.save()
    Connection.objects.filter(pk=connection.pk).update(
        verified_at="2026-01-01T00:00:00Z", enabled=True
    )


def _error_page(admin, method: str, url: str, data: dict | None = None):
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    response = getattr(client, method)(url, data or {})
    assert response.status_code == 500
    html = response.content.decode()
    assert "Traceback" in html  # the technical page, with its frames and their locals
    return html


def _assert_absent(key: str, *texts: str) -> None:
    basic = base64.b64encode(f"bitnet-dev-application-key:{key}".encode()).decode()
    for text in texts:
        assert key not in text
        assert key[:-4] not in text
        assert basic not in text


@pytest.mark.parametrize("how", ["encryption-key", "client-setting"])
def test_datadeling_save(how, admin_a, subgroup_a, sandbox, sandbox_settings, settings, caplog):
    settings.DEBUG = True
    key = sandbox.create_client("Hansen Oslo AS")["client_key"]
    _break(settings, how)
    caplog.set_level(logging.DEBUG)
    prefix = f"sg{subgroup_a.pk}-"
    html = _error_page(
        admin_a,
        "post",
        DATADELING,
        {"subgroup": subgroup_a.pk, prefix + "enabled": "on", prefix + "client_key": key},
    )
    _assert_absent(key, html, caplog.text)


@pytest.mark.parametrize("how", ["encryption-key", "client-setting"])
def test_payroll_activation_with_a_new_key(
    how, admin_a, subgroup_a, sandbox, sandbox_settings, settings, caplog
):
    settings.DEBUG = True
    key = sandbox.create_client("Hansen Oslo AS")["client_key"]
    _break(settings, how)
    caplog.set_level(logging.DEBUG)
    prefix = f"s{subgroup_a.pk}-"
    html = _error_page(
        admin_a,
        "post",
        _activate_url(subgroup_a),
        {prefix + "source": "ny", prefix + "client_key": key},
    )
    _assert_absent(key, html, caplog.text)


def test_payroll_activation_with_the_datadeling_key(
    admin_a, subgroup_a, sandbox, sandbox_settings, settings, caplog
):
    settings.DEBUG = True
    key = sandbox.create_client("Hansen Oslo AS")["client_key"]
    _stored(subgroup_a, key)
    _break(settings, "client-setting")
    caplog.set_level(logging.DEBUG)
    html = _error_page(
        admin_a, "post", _activate_url(subgroup_a), {f"s{subgroup_a.pk}-source": "datadeling"}
    )
    _assert_absent(key, html, caplog.text)


@pytest.mark.parametrize(
    ("what", "path", "data"),
    [
        ("Synkroniser avdelinger", "/administrasjon/datadeling/{pk}/avdelinger/", {}),
        ("Sjekk på nytt", "/administrasjon/datadeling/{pk}/forutsetninger/", {}),
        ("Valider kontoplan", "/administrasjon/kontoplan/valider/", {"undergruppe": "{pk}"}),
    ],
)
def test_views_that_use_the_stored_key(
    what, path, data, admin_a, subgroup_a, sandbox, sandbox_settings, settings, caplog
):
    settings.DEBUG = True
    key = sandbox.create_client("Hansen Oslo AS")["client_key"]
    _stored(subgroup_a, key)
    _break(settings, "client-setting")
    caplog.set_level(logging.DEBUG)
    pk = str(subgroup_a.pk)
    html = _error_page(
        admin_a,
        "post",
        path.format(pk=pk),
        {k: v.format(pk=pk) for k, v in data.items()},
    )
    _assert_absent(key, html, caplog.text)


def test_the_encryption_key_is_not_on_the_page_either(admin_a, subgroup_a, settings):
    settings.DEBUG = True
    secret = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = secret
    settings.POWEROFFICE_TIMEOUT = "tretti"
    _stored(subgroup_a, "a-client-key-0123456789")
    html = _error_page(admin_a, "post", f"{DATADELING}{subgroup_a.pk}/avdelinger/")
    assert secret not in html
    assert "a-client-key-0123456789" not in html
