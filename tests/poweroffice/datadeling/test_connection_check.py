"""«Test tilkoblingen» and ``manage.py poweroffice_check``: the key, the client behind it, the
modules and every privilege the chosen options need, each problem in Norwegian."""

import pytest
from django.core.management import CommandError, call_command

from poweroffice.datadeling.connection import connection_for_subgroup, connection_store_client_key
from poweroffice.models import Connection
from tests.factories import SubgroupFactory

pytestmark = pytest.mark.django_db

MISSING_INVOICE = (
    "Integrasjonen mangler rettigheten til å bokføre utgående fakturaer (eksport av fakturaer) "
    "(OutgoingInvoiceVoucher_Full) hos «Hansen Oslo AS»."
)


def test_button_names_a_missing_invoice_privilege_and_what_to_do(client, admin_a, oslo, sandbox):
    connection, key = oslo
    sandbox.patch_client(key, remove_privileges=["OutgoingInvoiceVoucher_Full"])
    client.force_login(admin_a)

    response = client.post(f"/administrasjon/datadeling/{connection.subgroup_id}/test/")

    page = client.get(response["Location"]).content.decode()
    assert MISSING_INVOICE in page
    assert "Innstillinger &gt; Utvidelser i PowerOffice Go" in page
    assert key not in page


def test_button_says_all_is_well(client, admin_a, oslo):
    connection, _ = oslo
    client.force_login(admin_a)
    response = client.post(f"/administrasjon/datadeling/{connection.subgroup_id}/test/")
    page = client.get(response["Location"]).content.decode()
    assert "Hansen Oslo: tilkoblingen til PowerOffice er i orden." in page


def test_command_checks_payroll_module_and_salary_privilege(oslo, sandbox, capsys):
    connection, key = oslo
    call_command("poweroffice_check", "--subgroup", str(connection.subgroup_id))
    assert "er i orden" in capsys.readouterr().out

    Connection.objects.filter(pk=connection.pk).update(payroll_enabled=True)
    sandbox.patch_client(key, remove_subscriptions=["Payroll"])
    with pytest.raises(CommandError):
        call_command("poweroffice_check", "--subgroup", str(connection.subgroup_id))
    out = capsys.readouterr().out
    assert "«Hansen Oslo AS» har ikke modulen Lønn i PowerOffice Go." in out
    assert "SalaryLine_Full" in out


def test_command_names_a_key_that_opens_another_subgroups_client(oslo, sandbox, agency_a):
    from poweroffice.crypto import encrypt_secret

    connection, _ = oslo
    viken = connection_for_subgroup(SubgroupFactory(agency=agency_a, name="Viken"))
    viken_key = sandbox.create_client("Hansen Viken AS")["client_key"]
    assert connection_store_client_key(connection=viken, client_key=viken_key).ok
    Connection.objects.filter(pk=connection.pk).update(
        client_key_encrypted=encrypt_secret(viken_key)
    )
    with pytest.raises(CommandError):
        call_command("poweroffice_check", "--subgroup", str(connection.subgroup_id))


def test_key_save_says_a_missing_privilege_at_once(sandbox, sandbox_settings, subgroup_a):
    key = sandbox.create_client("Hansen Oslo AS")["client_key"]
    sandbox.patch_client(key, remove_privileges=["OutgoingInvoiceVoucher_Full"])
    connection = connection_for_subgroup(subgroup_a)
    connection.enabled = True
    connection.save()
    result = connection_store_client_key(connection=connection, client_key=key)
    assert MISSING_INVOICE in result.message


def test_org_number_is_kept_for_the_same_client_and_forgotten_for_another(oslo, sandbox):
    connection, key = oslo
    Connection.objects.filter(pk=connection.pk).update(client_org_number="916800002")
    connection.refresh_from_db()

    assert connection_store_client_key(connection=connection, client_key=key).ok
    connection.refresh_from_db()
    assert connection.client_org_number == "916800002"

    other = sandbox.create_client("Hansen Drammen AS")["client_key"]
    assert connection_store_client_key(connection=connection, client_key=other).ok
    connection.refresh_from_db()
    assert connection.client_name == "Hansen Drammen AS"
    assert connection.client_org_number == ""
