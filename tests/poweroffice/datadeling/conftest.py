import pytest

from poweroffice.datadeling.connection import connection_for_subgroup, connection_store_client_key


@pytest.fixture
def oslo(sandbox, sandbox_settings, subgroup_a):
    """Subgroup A connected (invoices on) to its own sandbox client: (connection, client key)."""
    key = sandbox.create_client("Hansen Oslo AS")["client_key"]
    connection = connection_for_subgroup(subgroup_a)
    connection.enabled = True
    connection.save()
    assert connection_store_client_key(connection=connection, client_key=key).ok
    return connection, key
