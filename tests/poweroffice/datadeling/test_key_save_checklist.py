"""Saving a key re-runs the prerequisites at once: the whole checklist, as "Sjekk på nytt"."""

import pytest

from poweroffice.datadeling.connection import connection_for_subgroup, connection_store_client_key
from poweroffice.models import AccountValidation

pytestmark = pytest.mark.django_db


def test_saving_a_key_runs_the_whole_checklist(sandbox, sandbox_settings, subgroup_a):
    client = sandbox.create_client("Hansen Oslo AS")
    connection = connection_for_subgroup(subgroup_a)
    sandbox.clear_requests()
    assert connection_store_client_key(connection=connection, client_key=client["client_key"]).ok
    connection.refresh_from_db()
    keys = [c["key"] for c in connection.prerequisites]
    assert keys[0] == "client_key" and len(keys) > 1
    assert connection.prerequisites_checked_at is not None
    assert AccountValidation.objects.filter(subgroup=subgroup_a).exists()
    paths = {r["path"] for r in sandbox.requests_log(method="GET")}
    assert any("GeneralLedgerAccounts" in p for p in paths)
