"""Several Fernet keys (the new one first), ``rotate_client_keys`` re-encrypting every stored
client key, and Datadeling naming the subgroups whose key none of the keys can read."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from poweroffice.crypto import decrypt_secret, encrypt_secret
from poweroffice.datadeling.connection import connection_for_subgroup
from poweroffice.models import Connection
from tests.factories import SubgroupFactory

pytestmark = pytest.mark.django_db

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def _store(subgroup, key: str) -> Connection:
    connection = connection_for_subgroup(subgroup)
    connection.client_key_encrypted = encrypt_secret(key)
    connection.client_key_last4 = key[-4:]
    connection.enabled = True
    connection.save()
    return connection


def test_rotation_to_a_new_key(settings, subgroup_a, capsys):
    other = SubgroupFactory(agency=subgroup_a.agency, name="Hansen Bærum")
    settings.FIELD_ENCRYPTION_KEY = OLD
    first = _store(subgroup_a, "first-client-key-0001")
    second = _store(other, "second-client-key-0002")

    # The new key in front: what is stored still reads, new data is written with the new key.
    settings.FIELD_ENCRYPTION_KEY = f"{NEW},{OLD}"
    assert decrypt_secret(first.client_key_encrypted) == "first-client-key-0001"
    assert Fernet(NEW).decrypt(encrypt_secret("x").encode()) == b"x"

    call_command("rotate_client_keys")
    assert "2 klientnøkler kryptert på nytt" in capsys.readouterr().out

    # The old key dropped: everything reads with the new one alone.
    settings.FIELD_ENCRYPTION_KEY = NEW
    for connection, key in ((first, "first-client-key-0001"), (second, "second-client-key-0002")):
        connection.refresh_from_db()
        assert decrypt_secret(connection.client_key_encrypted) == key


def test_unreadable_keys_are_named(settings, subgroup_a, client, admin_a):
    settings.FIELD_ENCRYPTION_KEY = OLD
    _store(subgroup_a, "first-client-key-0001")
    settings.FIELD_ENCRYPTION_KEY = NEW  # the old key dropped too early

    with pytest.raises(CommandError, match="Hansen Oslo"):
        call_command("rotate_client_keys")

    client.force_login(admin_a)
    html = client.get("/administrasjon/datadeling/").content.decode()
    assert 'data-testid="unreadable-keys"' in html
    assert "Klientnøkkelen kan ikke leses for Hansen Oslo." in html
    assert "rotate_client_keys" in html


def test_no_warning_when_every_key_reads(settings, subgroup_a, client, admin_a):
    settings.FIELD_ENCRYPTION_KEY = f"{NEW},{OLD}"
    _store(subgroup_a, "first-client-key-0001")
    client.force_login(admin_a)
    html = client.get("/administrasjon/datadeling/").content.decode()
    assert "unreadable-keys" not in html
