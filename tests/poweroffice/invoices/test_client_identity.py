"""Every export run checks the PowerOffice client behind the key first: a key that opens another
subgroup's client holds the exports (nothing sent, nothing failed), in every order of swapping."""

import pytest

from accounting.models import ExportStatus, Invoice
from poweroffice.crypto import encrypt_secret
from poweroffice.datadeling.connection import connection_store_client_key
from poweroffice.invoices.batch import invoices_export
from poweroffice.invoices.export import invoice_export
from poweroffice.invoices.voucher import voucher_reference
from poweroffice.models import AttemptOutcome, AttemptTrigger, Connection, ExportAttempt
from tests.fixtures.export import make_invoice, second_world

pytestmark = pytest.mark.django_db


def _use_key(connection: Connection, key: str) -> None:
    """The stored key changes behind the service's back (a restore, a bad copy)."""
    Connection.objects.filter(pk=connection.pk).update(client_key_encrypted=encrypt_secret(key))


@pytest.fixture
def viken(export_world):
    """A second subgroup, Viken, with its office, a customer and its own client."""
    return second_world(export_world, name="Viken", client_name="Hansen Viken AS")


def _numbers(world, key) -> set[int]:
    """The invoice numbers of the vouchers in the sandbox client behind ``key``."""
    return {int(v["InvoiceNo"]) for v in world.sandbox.data(key, "vouchers")}


def _references(world, key) -> set[str]:
    return {v["ExternalImportReference"] for v in world.sandbox.data(key, "vouchers")}


def test_a_key_swapped_in_every_order_never_sends_to_the_other_client(export_world, viken):
    oslo, sandbox = export_world, export_world.sandbox
    oslo_key, viken_key = oslo.client_key, viken.client_key
    first, second, third = (make_invoice(oslo) for _ in range(3))
    own = make_invoice(viken)

    # Oslo holds Viken's key: a single export is held, not sent, not failed.
    _use_key(oslo.connection, viken_key)
    result = invoice_export(invoice_id=first.pk, trigger=AttemptTrigger.MANUAL)
    assert result.outcome == "held"
    first.refresh_from_db()
    assert first.export_status == ExportStatus.HELD
    assert "holdt tilbake" in first.export_error and "«Hansen Viken AS»" in first.export_error
    assert "Viken" in first.export_error and "«Hansen Oslo AS»" in first.export_error
    assert ExportAttempt.objects.get(invoice=first).outcome == AttemptOutcome.HELD
    oslo.connection.refresh_from_db()
    assert oslo.connection.prerequisites_ok is False
    # Viken, with its own key, exports its own invoice to its own client meanwhile.
    assert invoice_export(invoice_id=own.pk, trigger=AttemptTrigger.MANUAL).ok
    assert _numbers(oslo, viken_key) == {own.number} and _numbers(oslo, oslo_key) == set()

    # Both swapped: a batch of two is held with one identity request, not one per invoice.
    _use_key(viken.connection, oslo_key)
    sandbox.clear_requests()
    summary = invoices_export(invoice_ids=[second.pk, third.pk], trigger=AttemptTrigger.BATCH)
    assert not summary.exported and len(summary.failed) == 2
    assert len(sandbox.requests_log(path="ClientIntegrationInformation")) == 1
    assert all("Token" in r["path"] for r in sandbox.requests_log(method="POST"))
    statuses = set(
        Invoice.objects.filter(subgroup=oslo.subgroup).values_list("export_status", flat=True)
    )
    assert statuses == {ExportStatus.HELD}

    # Viken exports its own invoices while holding Oslo's key: held, nothing in Oslo's client.
    more = [make_invoice(viken) for _ in range(2)]
    sandbox.clear_requests()
    summary = invoices_export(invoice_ids=[i.pk for i in more], trigger=AttemptTrigger.BATCH)
    assert not summary.exported and len(summary.failed) == 2
    assert all("Token" in r["path"] for r in sandbox.requests_log(method="POST"))
    for invoice in more:
        invoice.refresh_from_db()
        assert invoice.export_status == ExportStatus.HELD
        assert "«Hansen Oslo AS»" in invoice.export_error
        assert "Oslo" in invoice.export_error and "«Hansen Viken AS»" in invoice.export_error
    viken.connection.refresh_from_db()
    assert viken.connection.prerequisites_ok is False
    assert _numbers(oslo, oslo_key) == set() and _numbers(oslo, viken_key) == {own.number}

    # Restored through the key-save service, each its own key (while the other still holds the
    # swapped one, the second save clears the first's "shared" hold): no "Sjekk på nytt".
    for world in (viken, oslo):
        key = world.client_key
        stored = connection_store_client_key(connection=world.connection, client_key=key)
        assert stored.ok, stored.message
    for world in (oslo, viken):
        world.connection.refresh_from_db()
        assert world.connection.prerequisites_ok is not False
        assert not Invoice.objects.filter(subgroup=world.subgroup, export_status=ExportStatus.HELD)

    summary = invoices_export(
        invoice_ids=[first.pk, second.pk, third.pk], trigger=AttemptTrigger.BATCH
    )
    assert len(summary.exported) == 3, [r.message for r in summary.failed]
    summary = invoices_export(invoice_ids=[i.pk for i in more], trigger=AttemptTrigger.BATCH)
    assert len(summary.exported) == 2, [r.message for r in summary.failed]

    # Exactly each subgroup's own vouchers in each client, none in the other.
    oslo_invoices, viken_invoices = [first, second, third], [own, *more]
    assert _references(oslo, oslo_key) == {voucher_reference(i) for i in oslo_invoices}
    assert _references(oslo, viken_key) == {voucher_reference(i) for i in viken_invoices}
    assert len(sandbox.data(oslo_key, "vouchers")) == 3
    assert len(sandbox.data(viken_key, "vouchers")) == 3


def test_held_invoices_show_on_ikke_eksporterte_with_the_reason(
    export_world, viken, finance_a, client
):
    world = export_world
    viken_key = viken.client_key
    invoice = make_invoice(world)
    _use_key(world.connection, viken_key)
    assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).outcome == "held"

    client.force_login(finance_a)
    page = client.get("/okonomi/ikke-eksporterte/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-count="held">1<' in html
    row = html[html.index(f">{invoice.number}<") :]
    reason = row[row.index('data-testid="reason">') :].split("</span>", 1)[0]
    assert "holdt tilbake" in reason
    assert "«Hansen Viken AS»" in reason and "«Hansen Oslo AS»" in reason
    assert "Ingenting er sendt" in reason
    assert viken_key not in html and world.client_key not in html
