"""Every export run checks the PowerOffice client behind the key first: a key that opens another
subgroup's client holds the exports (nothing sent, nothing failed), in every order of swapping."""

import pytest

from accounting.models import ExportStatus, Invoice
from poweroffice.crypto import encrypt_secret
from poweroffice.datadeling.connection import connection_store_client_key
from poweroffice.invoices.batch import invoices_export
from poweroffice.invoices.export import invoice_export
from poweroffice.models import AttemptOutcome, AttemptTrigger, Connection, ExportAttempt
from tests.factories import SubgroupFactory
from tests.fixtures.export import connect, make_invoice

pytestmark = pytest.mark.django_db


def _use_key(connection: Connection, key: str) -> None:
    """The stored key changes behind the service's back (a restore, a bad copy)."""
    Connection.objects.filter(pk=connection.pk).update(client_key_encrypted=encrypt_secret(key))


@pytest.fixture
def viken(export_world):
    subgroup = SubgroupFactory(agency=export_world.subgroup.agency, name="Viken")
    connection, key = connect(export_world.sandbox, subgroup, name="Hansen Viken AS")
    return connection, key


def _vouchers(world, key):
    return world.sandbox.data(key, "vouchers")


def test_a_key_swapped_in_every_order_never_sends_to_the_other_client(export_world, viken):
    world, sandbox = export_world, export_world.sandbox
    viken_connection, viken_key = viken
    first, second, third = (make_invoice(world) for _ in range(3))

    # Oslo holds Viken's key: a single export is held, not sent, not failed.
    _use_key(world.connection, viken_key)
    result = invoice_export(invoice_id=first.pk, trigger=AttemptTrigger.MANUAL)
    assert result.outcome == "held"
    first.refresh_from_db()
    assert first.export_status == ExportStatus.HELD
    assert "holdt tilbake" in first.export_error and "«Hansen Viken AS»" in first.export_error
    assert "Viken" in first.export_error and "«Hansen Oslo AS»" in first.export_error
    assert ExportAttempt.objects.get(invoice=first).outcome == AttemptOutcome.HELD
    world.connection.refresh_from_db()
    assert world.connection.prerequisites_ok is False

    # Both swapped: a batch of two is held with one identity request, not one per invoice.
    _use_key(viken_connection, world.client_key)
    sandbox.clear_requests()
    summary = invoices_export(invoice_ids=[second.pk, third.pk], trigger=AttemptTrigger.BATCH)
    assert not summary.exported and len(summary.failed) == 2
    assert len(sandbox.requests_log(path="ClientIntegrationInformation")) == 1
    assert sandbox.requests_log(method="POST") == [] or all(
        "Token" in r["path"] for r in sandbox.requests_log(method="POST")
    )
    statuses = set(
        Invoice.objects.filter(subgroup=world.subgroup).values_list("export_status", flat=True)
    )
    assert statuses == {ExportStatus.HELD}
    assert _vouchers(world, viken_key) == [] and _vouchers(world, world.client_key) == []

    # Viken now holds Oslo's key; Viken's own run is held too.
    viken_connection.refresh_from_db()
    viken_connection.enabled = True
    viken_connection.save()

    # Restored through the key-save service: the hold is cleared at once, no "Sjekk på nytt".
    _use_key(viken_connection, viken_key)
    assert connection_store_client_key(connection=world.connection, client_key=world.client_key).ok
    world.connection.refresh_from_db()
    assert world.connection.prerequisites_ok is not False
    assert not Invoice.objects.filter(subgroup=world.subgroup, export_status=ExportStatus.HELD)

    summary = invoices_export(
        invoice_ids=[first.pk, second.pk, third.pk], trigger=AttemptTrigger.BATCH
    )
    assert len(summary.exported) == 3, [r.message for r in summary.failed]
    assert len(_vouchers(world, world.client_key)) == 3
    assert _vouchers(world, viken_key) == []
