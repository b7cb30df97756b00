"""python manage.py reconcile: its summary, JSON and exit codes (0 reconciled, 1 differences,
2 bad input with a Norwegian message)."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from poweroffice.invoices.export import invoice_export
from poweroffice.models import AttemptTrigger, Reconciliation
from tests.fixtures.export import make_invoice

pytestmark = pytest.mark.django_db


def _call(*args):
    out = StringIO()
    try:
        call_command("reconcile", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    return 0, out.getvalue(), ""


def _month(world):
    return ("--subgroup", str(world.subgroup.pk), "--from", "2026-03-01", "--to", "2026-03-31")


def test_reconciled_month_exits_0(export_world):
    invoice = make_invoice(export_world)
    assert invoice_export(invoice_id=invoice.pk, trigger=AttemptTrigger.MANUAL).ok

    code, out, _ = _call(*_month(export_world))

    assert code == 0
    assert "Avstemt: ingen avvik." in out
    assert "Fakturaer: 1 i Bitnet, 1 i PowerOffice, 1 like" in out
    assert Reconciliation.objects.get().state == Reconciliation.State.RECONCILED


def test_differences_exit_1_with_json(export_world):
    invoice = make_invoice(export_world)  # never exported

    code, out, message = _call(*_month(export_world), "--json")

    assert code == 1
    assert message == "Ikke avstemt: 4 avvik."  # missing, and the totals of its 3 accounts
    data = json.loads(out)
    assert data["state"] == "differences"
    first = data["differences"][0]
    assert (first["kind"], first["invoice_no"]) == ("missing", invoice.number)


@pytest.mark.parametrize(
    "args, text",
    [
        (("--from", "2026-03-01", "--to", "2026-03-31"), "--subgroup mangler"),
        (("--subgroup", "x", "--from", "2026-03-01", "--to", "2026-03-31"), "Ugyldig undergruppe"),
        (("--subgroup", "999999", "--from", "2026-03-01", "--to", "2026-03-31"), "finnes ikke"),
        (("--subgroup", "SG", "--from", "2026-13-01", "--to", "2026-03-31"), "Ugyldig dato"),
        (("--subgroup", "SG", "--from", "2026-03-31", "--to", "2026-03-01"), "kan ikke være før"),
    ],
)
def test_bad_input_exits_2(subgroup_a, args, text):
    args = tuple(str(subgroup_a.pk) if a == "SG" else a for a in args)
    code, _, message = _call(*args)
    assert code == 2
    assert text in message
    assert not Reconciliation.objects.exists()
