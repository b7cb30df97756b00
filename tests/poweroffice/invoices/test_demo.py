"""The demo works out of the box: seed_demo connects every demo subgroup to its own sandbox client
with all four options, departments synced and offices assigned; twice changes nothing; and every
demo invoice exports."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounting.models import ExportStatus, Invoice
from bitnet.models import Agency, Office, User
from poweroffice.crypto import decrypt_secret
from poweroffice.invoices.batch import invoices_export
from poweroffice.models import AttemptTrigger, Connection, Department

pytestmark = pytest.mark.django_db


def _state():
    connections = {
        c.subgroup.name: (
            c.enabled,
            c.include_employee_number,
            c.auto_export,
            c.include_specification,
            c.include_department,
            decrypt_secret(c.client_key_encrypted),
        )
        for c in Connection.objects.select_related("subgroup")
    }
    offices = dict(Office.objects.values_list("name", "external_department_code"))
    departments = sorted(Department.objects.values_list("subgroup__name", "code", "is_active"))
    return connections, offices, departments


def test_seed_demo_connects_to_the_sandbox_idempotently(sandbox, sandbox_settings):
    out = StringIO()
    call_command("seed_demo", "--invoices", "12", stdout=out)

    assert "PowerOffice (sandkassen):" in out.getvalue()
    connections, offices, departments = _state()
    agency = Agency.objects.get()
    assert set(connections) == set(agency.subgroups.values_list("name", flat=True))
    for enabled, *options, key in connections.values():
        assert enabled and all(options)
        assert sandbox.client(key)["name"]
    assert all(offices.values())  # every office has its "Ekstern avdeling"
    # ... the department of its city, not the first one that happens to be active.
    assert offices == {"Majorstuen": "1", "Grünerløkka": "1", "Drammen": "4"}
    assert len(departments) == 4 * len(connections)
    # Every demo user's Ansettelsesnr. names the same person in the sandbox.
    for key in (c[-1] for c in connections.values()):
        employees = {e["Number"]: e for e in sandbox.hook("GET", f"clients/{key}/data/employees")}
        for user in User.objects.filter(agency=agency, employee_number__isnull=False):
            employee = employees[user.employee_number]
            names = (employee["FirstName"], employee["LastName"])
            assert names == (user.first_name, user.last_name)
    clients = len(sandbox.hook("GET", "clients"))

    call_command("seed_demo", "--invoices", "12", stdout=StringIO())

    assert _state() == (connections, offices, departments)
    assert len(sandbox.hook("GET", "clients")) == clients  # keys reused, no new clients

    ids = list(Invoice.objects.values_list("pk", flat=True))
    summary = invoices_export(invoice_ids=ids, trigger=AttemptTrigger.COMMAND)
    assert [r.message for r in summary.failed] == []
    assert set(Invoice.objects.values_list("export_status", flat=True)) == {ExportStatus.EXPORTED}
