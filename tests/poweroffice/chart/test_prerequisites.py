"""The PowerOffice prerequisites on Datadeling (SPEC Part A item 7, the manual's "Viktig!" list),
against the sandbox over real HTTP: own client key, number series, and the chart and VAT lines
that "Valider kontoplan" refreshes."""

from __future__ import annotations

from decimal import Decimal

from accounting.models import Account
from poweroffice.chart.selectors import prerequisites_hold_reason
from poweroffice.chart.services import prerequisites_check
from poweroffice.crypto import encrypt_secret
from poweroffice.datadeling.connection import connection_for_subgroup, connection_store_client_key
from poweroffice.models import AccountValidation
from tests.factories import CustomerFactory, SubgroupFactory
from tests.fixtures.payments import exported_invoice
from tests.fixtures.validation import closed_port


def test_prerequisites_all_ok(world):
    checks = world.check()

    assert [c for c in checks] == [
        "client_key",
        "vat_codes",
        "chart",
        "invoice_series",
        "customer_series",
    ]
    assert {k: c["status"] for k, c in checks.items()} == dict.fromkeys(checks, "ok")
    world.connection.refresh_from_db()
    assert world.connection.prerequisites_ok is True
    assert world.connection.prerequisites_checked_at is not None
    assert [c["key"] for c in world.connection.prerequisites] == list(checks)
    assert prerequisites_hold_reason(world.connection) is None
    # The chart part was kept as a Valider kontoplan run too.
    assert AccountValidation.objects.filter(subgroup=world.subgroup, ok=True).count() == 1


def test_invoice_number_collision_lists_foreign_numbers_but_not_our_exported_invoices(world):
    sg = world.subgroup
    sg.next_invoice_number = 100004
    sg.save()
    # Ours, exported: PowerOffice holds it under our voucher id.
    ours = exported_invoice(sg, number=100001)
    world.sandbox.seed(
        world.key,
        "outgoinginvoices",
        Id=ours.external_voucher_id,
        InvoiceNo=100001,
        TotalAmount="1250.00",
    )
    # A Bitnet invoice not exported yet, whose number someone already used in PowerOffice.
    exported_invoice(sg, number=100002, exported=False)
    world.sandbox.seed(world.key, "outgoinginvoices", InvoiceNo=100002, TotalAmount="500.00")
    # Numbers ahead of us, already taken, and one outside our series, and a reversed one.
    world.sandbox.seed(world.key, "outgoinginvoices", InvoiceNo=100007, TotalAmount="10.00")
    world.sandbox.seed(world.key, "outgoinginvoices", InvoiceNo=100009, TotalAmount="10.00")
    world.sandbox.seed(
        world.key, "outgoinginvoices", InvoiceNo=100010, TotalAmount="10.00", IsReversed=True
    )
    world.sandbox.seed(world.key, "outgoinginvoices", InvoiceNo=200500, TotalAmount="10.00")

    check = world.check()["invoice_series"]

    assert check["status"] == "error"
    assert check["message"] == (
        "PowerOffice har allerede 3 fakturaer med nummer i Bitnets serie 100001–199999 som ikke "
        "kommer fra Bitnet: 100002, 100007, 100009. Flytt Bitnets serie slik at neste nummer er "
        "100010 eller høyere, eller kontroller fakturaene under Fakturaer i PowerOffice."
    )
    assert check["details"] == [
        "Bitnets fakturaer 100002 kan ikke eksporteres: numrene er allerede brukt i PowerOffice.",
        "Neste fakturaer fra Bitnet vil kollidere ved nummer 100007, 100009.",
    ]
    assert check["link"] == f"/administrasjon/byra/undergrupper/{sg.pk}/"
    calls = world.sandbox.requests_log(path="OutgoingInvoices")
    assert calls[-1]["query"]["invoiceNos"] == "100001-199999"
    world.connection.refresh_from_db()
    assert world.connection.prerequisites_ok is False
    reason = prerequisites_hold_reason(world.connection)
    assert reason == (
        "Automatisk eksport er holdt tilbake fordi forutsetningene for PowerOffice ikke er "
        "oppfylt for Hansen Oslo (Fakturanummerserie). Rett feilene og klikk «Sjekk på nytt» "
        "under Administrasjon > Datadeling."
    )


def test_customer_numbers_outside_the_poweroffice_series(world):
    sg = world.subgroup
    sg.customer_series_end = 29999
    sg.save()
    CustomerFactory(subgroup=sg, number=10001)
    CustomerFactory(subgroup=sg, number=25000)
    CustomerFactory(subgroup=sg, number=25001)

    check = world.check()["customer_series"]

    assert check["status"] == "error"
    assert check["message"] == (
        "Kundenummerserien i Bitnet (10000–29999) går utenfor PowerOffice' kundenummerserie "
        "10000–19999 («Kunder»). 2 kunder har kundenummer utenfor PowerOffice' serie: "
        "25000, 25001. Endre kundenummerserien i Bitnet slik at den ligger innenfor "
        "10000–19999, eller utvid kundenummerserien i PowerOffice."
    )
    assert check["details"] == []


def test_customer_series_inside_a_second_poweroffice_series_is_ok(world):
    world.sandbox.seed(
        world.key,
        "numberseries",
        SubLedgerNumberSeriesType="Customer",
        Name="Kunder 2",
        FromInclusive=50000,
        ToInclusive=59999,
    )
    sg = world.subgroup
    sg.customer_series_start, sg.customer_series_end, sg.next_customer_number = 50000, 59999, 50000
    sg.save()
    CustomerFactory(subgroup=sg, number=10500)  # an older customer in the first series

    assert world.check()["customer_series"]["status"] == "ok"


def test_no_customer_series_in_poweroffice(world):
    series = world.sandbox.find(world.key, "numberseries", SubLedgerNumberSeriesType="Customer")
    world.sandbox.remove(world.key, "numberseries", series["Id"])

    check = world.check()["customer_series"]

    assert check["status"] == "error"
    assert check["message"].startswith("PowerOffice har ingen kundenummerserie")


def test_same_client_on_two_subgroups_is_an_error_on_both(world, agency_a):
    other = SubgroupFactory(agency=agency_a, name="Hansen Bærum")
    other_connection = connection_for_subgroup(other)
    # Saving the key is refused now; a pair connected before that rule is still named.
    other_connection.client_key_encrypted = encrypt_secret(world.key)
    other_connection.client_id = world.client_id
    other_connection.client_name = "Hansen Oslo AS"
    other_connection.save()

    mine = world.check()["client_key"]
    theirs = {c["key"]: c for c in prerequisites_check(connection=other_connection)}["client_key"]

    assert mine["status"] == theirs["status"] == "error"
    assert mine["message"] == (
        "Hansen Oslo deler PowerOffice-klient («Hansen Oslo AS») med «Hansen Bærum». Hver "
        "undergruppe må ha sin egen klientnøkkel fra sin egen klient i PowerOffice."
    )
    assert mine["link"] == "/administrasjon/datadeling/"
    assert world.key[-4:] not in mine["message"]
    world.connection.refresh_from_db()
    assert world.connection.prerequisites_ok is False
    assert "(Egen klientnøkkel)" in prerequisites_hold_reason(world.connection)


def test_same_client_through_another_key_of_the_same_client(world, agency_a):
    # Two keys (two integrations) of one PowerOffice client: same ClientId.
    other = SubgroupFactory(agency=agency_a, name="Hansen Bærum")
    other_connection = connection_for_subgroup(other)
    other_connection.client_key_encrypted = encrypt_secret("another-key-of-the-same-client")
    other_connection.client_id = world.client_id
    other_connection.save()

    assert world.check()["client_key"]["status"] == "error"


def test_own_client_per_subgroup_is_ok(world, agency_a, sandbox):
    other = SubgroupFactory(agency=agency_a, name="Hansen Bærum")
    second = sandbox.create_client("Hansen Bærum AS")
    assert connection_store_client_key(
        connection=connection_for_subgroup(other), client_key=second["client_key"]
    ).ok

    assert world.check()["client_key"]["status"] == "ok"


def test_prerequisites_with_invalid_key(world):
    world.connection.client_key_encrypted = encrypt_secret("ffffffff-0000-4000-8000-00000000beef")
    world.connection.save()

    checks = world.check()

    assert checks["client_key"]["status"] == "error"
    assert checks["client_key"]["message"].startswith(
        "PowerOffice kjenner ikke igjen klientnøkkelen"
    )
    assert {checks[k]["status"] for k in checks if k != "client_key"} == {"warning"}
    assert all(checks[k]["unchecked"] for k in checks if k != "client_key")
    world.connection.refresh_from_db()
    assert world.connection.prerequisites_ok is False
    assert prerequisites_hold_reason(world.connection) is not None


def test_prerequisites_with_poweroffice_unreachable_do_not_hold_export(world, settings):
    settings.POWEROFFICE_API_URL = f"http://127.0.0.1:{closed_port()}/v2"
    settings.POWEROFFICE_TOKEN_URL = f"http://127.0.0.1:{closed_port()}/OAuth/Token"
    settings.POWEROFFICE_MAX_ATTEMPTS = 2
    settings.POWEROFFICE_BACKOFF_BASE = 0.01

    checks = world.check()

    assert {c["status"] for c in checks.values()} == {"warning"}
    assert checks["vat_codes"]["message"] == (
        "Ikke sjekket: PowerOffice svarer ikke akkurat nå. Prøv igjen om litt."
    )
    world.connection.refresh_from_db()
    assert world.connection.prerequisites_ok is None
    assert prerequisites_hold_reason(world.connection) is None


def test_prerequisites_without_a_key(agency_a, subgroup_a):
    connection = connection_for_subgroup(subgroup_a)

    checks = {c["key"]: c for c in prerequisites_check(connection=connection)}

    assert checks["client_key"]["status"] == "error"
    assert checks["client_key"]["message"] == (
        "Hansen Oslo har ingen klientnøkkel. Legg den inn under Administrasjon > Datadeling."
    )
    assert connection.prerequisites_ok is False


def test_a_failing_part_does_not_hide_the_others(world, settings):
    settings.POWEROFFICE_MAX_ATTEMPTS = 1
    world.sandbox.faults(status=500, path="OutgoingInvoices")

    checks = world.check()

    assert checks["invoice_series"]["status"] == "warning"
    assert checks["invoice_series"]["unchecked"] is True
    assert checks["customer_series"]["status"] == "ok"
    assert checks["chart"]["status"] == "ok"
    world.connection.refresh_from_db()
    assert world.connection.prerequisites_ok is None


def test_chart_errors_in_prerequisites_and_refreshed_by_valider_kontoplan(world):
    world.vat["31"].rate = Decimal("12")
    world.vat["31"].save()
    world.sandbox.remove(world.key, "accounts", world.po_account(3020)["Id"])

    checks = world.check()

    assert checks["vat_codes"]["status"] == "error"
    assert checks["vat_codes"]["message"] == (
        "1 feil: MVA-kode 31 har sats 12 % i Bitnet, men 15 % i PowerOffice."
    )
    assert checks["chart"]["status"] == "error"
    assert (
        checks["chart"]["link"]
        == f"/administrasjon/kontoplan/valider/?undergruppe={world.subgroup.pk}"
    )

    # Fixed on our side; a new "Valider kontoplan" refreshes those two lines of the checklist.
    world.vat["31"].rate = Decimal("15")
    world.vat["31"].save()
    world.articles["Urne"].account = world.accounts[3000]
    world.articles["Urne"].save()
    Account.objects.filter(number=3020).update(is_active=False)
    world.validate()

    world.connection.refresh_from_db()
    statuses = {c["key"]: c["status"] for c in world.connection.prerequisites}
    assert statuses == dict.fromkeys(statuses, "ok")
    assert world.connection.prerequisites_ok is True


def test_hold_reason_only_when_checked_and_failed(subgroup_a):
    connection = connection_for_subgroup(subgroup_a)
    assert prerequisites_hold_reason(connection) is None  # never checked
    connection.prerequisites_ok = True
    assert prerequisites_hold_reason(connection) is None
    connection.prerequisites_ok = False
    connection.prerequisites = [
        {"key": "vat_codes", "title": "MVA-koder og satser", "status": "error"},
        {"key": "chart", "title": "Kontoplan", "status": "warning"},
    ]
    assert prerequisites_hold_reason(connection) == (
        "Automatisk eksport er holdt tilbake fordi forutsetningene for PowerOffice ikke er "
        "oppfylt for Hansen Oslo (MVA-koder og satser). Rett feilene og klikk «Sjekk på nytt» "
        "under Administrasjon > Datadeling."
    )
