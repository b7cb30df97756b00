"""The prerequisites together with the invoice export: our own exported invoices are not number
collisions, and a subgroup whose prerequisites fail has its automatic exports held with the
reason. Real services on both sides, the sandbox over real HTTP."""

from __future__ import annotations

from accounting.models import ExportStatus
from poweroffice.chart.services import prerequisites_check
from poweroffice.invoices.export import invoice_export
from poweroffice.models import AttemptTrigger
from tests.fixtures.export import make_invoice


def _checks(world) -> dict[str, dict]:
    return {c["key"]: c for c in prerequisites_check(connection=world.connection)}


def test_exported_invoices_are_ours_and_a_foreign_number_is_a_collision(export_world):
    world = export_world
    invoice = make_invoice(world)
    invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL)
    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.EXPORTED

    assert _checks(world)["invoice_series"]["status"] == "ok"

    # Someone books the next number directly in PowerOffice.
    taken = invoice.number + 1
    world.sandbox.seed(world.client_key, "outgoinginvoices", InvoiceNo=taken, TotalAmount="100")
    check = _checks(world)["invoice_series"]
    assert check["status"] == "error"
    assert f"som ikke kommer fra Bitnet: {taken}." in check["message"]
    assert check["details"] == [f"Neste fakturaer fra Bitnet vil kollidere ved nummer {taken}."]

    # Reversed in PowerOffice: the number is free again.
    world.sandbox.reverse(world.client_key, taken)
    assert _checks(world)["invoice_series"]["status"] == "ok"


def test_failing_prerequisites_hold_automatic_export_with_the_reason(
    export_world, django_capture_on_commit_callbacks
):
    world = export_world
    world.set_options(auto_export=True)
    world.subgroup.customer_series_end = 29999
    world.subgroup.save()
    assert _checks(world)["customer_series"]["status"] == "error"
    world.connection.refresh_from_db()
    assert world.connection.prerequisites_ok is False

    with django_capture_on_commit_callbacks(execute=True):
        invoice = make_invoice(world)

    invoice.refresh_from_db()
    assert invoice.export_status == ExportStatus.HELD
    assert invoice.export_error == (
        "Automatisk eksport er holdt tilbake fordi forutsetningene for PowerOffice ikke er "
        "oppfylt for Hansen Oslo (Kundenummerserie). Rett feilene og klikk «Sjekk på nytt» "
        "under Administrasjon > Datadeling."
    )
    assert world.posted() == []
