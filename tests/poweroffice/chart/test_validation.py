"""Valider kontoplan and the PowerOffice prerequisites (SPEC Part A items 2 and 7), against the
sandbox over real HTTP. Mismatches are seeded through the sandbox's data hooks and our own data."""

from __future__ import annotations

import datetime as dt
import socket
from decimal import Decimal

from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from accounting.models import Account, Article, VatCode
from poweroffice.crypto import encrypt_secret
from poweroffice.models import AccountValidation
from poweroffice.datadeling.connection import (
    connection_client,
    connection_for_subgroup,
    connection_store_client_key,
)
from poweroffice.chart.services import (
    account_chart_validate,
    prerequisites_check,
    prerequisites_hold_reason,
)
from tests.factories import CustomerFactory, SubgroupFactory
from tests.fixtures.payments import exported_invoice


def findings(validation: AccountValidation, group: str | None = None) -> list[dict]:
    return [
        f
        for g in validation.result["groups"]
        if group is None or g["key"] == group
        for f in g["findings"]
    ]


def kinds(validation: AccountValidation) -> list[tuple[str, str, str]]:
    return sorted((f["kind"], f["subject"], f["severity"]) for f in findings(validation))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Valider kontoplan ----------------------------------------------------------------------------


def test_matching_chart_is_all_good_and_kept_with_its_time(world, admin_a):
    validation = world.validate(user=admin_a)

    validation.refresh_from_db()
    assert validation.ok is True
    assert validation.error == ""
    assert validation.run_by == admin_a
    assert validation.run_at is not None
    assert findings(validation) == []
    summary = validation.result["summary"]
    assert summary == {
        "errors": 0,
        "warnings": 0,
        "accounts_checked": 7,
        "accounts_skipped": 0,
        "poweroffice_accounts": 28,
        "vat_codes_checked": 5,
    }
    # What PowerOffice was asked: two paged lists, expired VAT codes included.
    calls = world.sandbox.requests_log(path="GeneralLedgerAccounts|VatCodes")
    assert [(c["method"], c["route"]) for c in calls] == [
        ("GET", "/GeneralLedgerAccounts"),
        ("GET", "/VatCodes"),
    ]
    assert calls[1]["query"]["includeExpired"] == "true"


def test_missing_account_used_by_articles_is_an_error_naming_the_articles(world):
    # 3020 disappears from PowerOffice; Urne uses it.
    world.sandbox.remove(world.key, "accounts", world.po_account(3020)["Id"])
    # 3050 exists only in Bitnet and nothing uses it.
    Account.objects.create(
        agency=world.subgroup.agency, number=3050, name="Blomster", vat_code=world.vat["3"]
    )

    validation = world.validate()

    assert validation.ok is False
    assert kinds(validation) == [
        ("account_missing", "Konto 3050", "warning"),
        ("article_account_missing", "Konto 3020", "error"),
    ]
    missing = next(f for f in findings(validation) if f["subject"] == "Konto 3020")
    assert missing["message"] == (
        "Konto 3020 finnes ikke i PowerOffice. Kontoen er salgskonto på varene «Urne»."
    )
    assert missing["action"] == (
        "Opprett konto 3020 under Innstillinger > Kontoplan i PowerOffice, eller endre "
        "salgskonto på varene «Urne» i Bitnet."
    )
    assert missing["poweroffice"] == "Finnes ikke"
    assert missing["bitnet"] == "3020 Salgsinntekt, avgiftspliktig, kister og urner (MVA-kode 3)"
    assert missing["link"] == f"/administrasjon/kontoplan/{world.accounts[3020].id}/"
    assert validation.result["summary"]["errors"] == 1
    assert validation.result["summary"]["warnings"] == 1


def test_inactive_account(world):
    world.sandbox.update(world.key, "accounts", world.po_account(3100)["Id"], IsActive=False)
    # PowerOffice's seeded 3010 is inactive; ours is active but unused: a warning only.
    Account.objects.create(
        agency=world.subgroup.agency,
        number=3010,
        name="Salgsinntekt, avgiftspliktig (utgått)",
        vat_code=world.vat["3"],
    )

    validation = world.validate()

    assert kinds(validation) == [
        ("account_inactive", "Konto 3010", "warning"),
        ("account_inactive", "Konto 3100", "error"),
    ]
    f = next(f for f in findings(validation) if f["subject"] == "Konto 3100")
    assert (
        f["message"]
        == "Konto 3100 er inaktiv i PowerOffice. Kontoen er salgskonto på varene «Minnebok»."
    )
    assert f["action"].startswith(
        "Aktiver konto 3100 under Innstillinger > Kontoplan i PowerOffice"
    )
    assert f["poweroffice"].endswith(", inaktiv")


def test_other_name_is_a_warning_but_case_and_spaces_are_not(world):
    world.accounts[3000].name = "Salg, avgiftspliktig"
    world.accounts[3000].save()
    world.accounts[3100].name = "salgsinntekt,   AVGIFTSFRI"
    world.accounts[3100].save()

    validation = world.validate()

    assert kinds(validation) == [("account_name", "Konto 3000", "warning")]
    f = findings(validation)[0]
    assert (f["bitnet"], f["poweroffice"]) == (
        "Salg, avgiftspliktig",
        "Salgsinntekt, avgiftspliktig",
    )
    assert "«Salgsinntekt, avgiftspliktig»" in f["action"]
    assert validation.ok is False


def test_other_vat_code_on_an_unlocked_account_is_a_warning(world):
    # 3020 is not VAT-locked in PowerOffice (code 3); ours says 31.
    world.accounts[3020].vat_code = world.vat["31"]
    world.accounts[3020].save()

    validation = world.validate()

    assert kinds(validation) == [("account_vat_code", "Konto 3020", "warning")]
    f = findings(validation)[0]
    assert (f["bitnet"], f["poweroffice"]) == ("MVA-kode 31", "MVA-kode 3")


def test_vat_locked_account_refuses_our_vat_code_on_the_account_and_on_articles(world):
    # 3000 is locked to code 3 in PowerOffice.
    assert world.po_account(3000)["IsVatCodeLocked"] is True
    world.accounts[3000].vat_code = world.vat["5"]
    world.accounts[3000].save()
    Article.objects.create(
        agency=world.subgroup.agency,
        name="Gravstein",
        price=Decimal("9000.00"),
        account=world.accounts[3000],
        vat_code=world.vat["5"],
    )
    Article.objects.create(
        agency=world.subgroup.agency,
        name="Navnetavle",
        price=Decimal("900.00"),
        account=world.accounts[3000],
        vat_code=world.vat["5"],
    )

    validation = world.validate()

    assert kinds(validation) == [
        ("account_vat_locked", "Konto 3000", "error"),
        ("article_vat_locked", "Varer på konto 3000", "error"),
    ]
    account = findings(validation, "accounts")[0]
    assert account["message"] == (
        "Konto 3000 er låst til MVA-kode 3 i PowerOffice og avviser MVA-kode 5, som kontoen har "
        "i Bitnet."
    )
    assert account["poweroffice"] == "MVA-kode 3, låst"
    article = findings(validation, "articles")[0]
    assert article["message"] == (
        "Varene «Gravstein» og «Navnetavle» har MVA-kode 5, men konto 3000 er låst til MVA-kode 3 "
        "i PowerOffice. Fakturalinjene vil bli avvist."
    )
    assert article["link"].startswith("/administrasjon/varer/")


def test_account_without_vat_code_is_a_message_not_a_crash(world):
    world.accounts[3200].vat_code = None
    world.accounts[3200].save()

    validation = world.validate()

    assert kinds(validation) == [("account_vat_missing", "Konto 3200", "warning")]
    assert findings(validation)[0]["action"] == "Sett MVA-kode 6 på kontoen i Bitnet."


def test_only_the_latest_runs_are_kept(world, monkeypatch):
    from poweroffice.chart import services as module

    monkeypatch.setattr(module, "KEEP_VALIDATIONS", 2)
    runs = [world.validate() for _ in range(3)]

    kept = list(AccountValidation.objects.filter(subgroup=world.subgroup).order_by("id"))
    assert kept == runs[1:]


def test_inactive_accounts_of_ours_that_nothing_uses_are_not_checked(world):
    Account.objects.create(
        agency=world.subgroup.agency, number=3999, name="Gammel", is_active=False
    )

    validation = world.validate()

    assert validation.ok is True
    assert validation.result["summary"]["accounts_skipped"] == 1


def test_bad_data_from_poweroffice_gives_messages(world):
    # A duplicate account number, an account without a name and a VAT code without a rate.
    world.sandbox.seed(
        world.key,
        "accounts",
        AccountNo=3000,
        Name="Salgsinntekt (kopi)",
        IsActive=False,
        GeneralLedgerAccountType="Income",
    )
    world.sandbox.update(world.key, "accounts", world.po_account(3100)["Id"], Name=None)
    world.sandbox.update(world.key, "vatcodes", world.po_vat("31")["Id"], Rate=None)

    validation = world.validate()

    assert validation.error == ""
    assert kinds(validation) == [
        ("account_duplicate", "Konto 3000", "warning"),
        ("account_name", "Konto 3100", "warning"),
        ("vat_rate_unknown", "MVA-kode 31", "warning"),
    ]


# --- VAT codes ------------------------------------------------------------------------------------


def test_vat_codes_missing_inactive_expired_and_other_rate(world):
    agency = world.subgroup.agency
    VatCode.objects.create(agency=agency, code="C9", rate=Decimal("25"), name="Egen kode")
    VatCode.objects.create(agency=agency, code="81", rate=Decimal("25"), name="Innførsel")
    # A code that only exists expired in PowerOffice.
    world.sandbox.seed(
        world.key,
        "vatcodes",
        Code="34",
        Name="Utgående mva, midlertidig",
        Rate="0.06",
        ValidFrom="2020-04-01",
        ValidTo="2021-09-30",
    )
    VatCode.objects.create(agency=agency, code="34", rate=Decimal("6"), name="Midlertidig")
    # Ours says 12 % for the middle rate; PowerOffice says 0.15.
    world.vat["31"].rate = Decimal("12.00")
    world.vat["31"].save()
    # Our inactive codes are not checked.
    VatCode.objects.create(
        agency=agency, code="C8", rate=Decimal("0"), name="Gammel", is_active=False
    )

    validation = world.validate()

    assert kinds(validation) == [
        ("vat_expired", "MVA-kode 34", "error"),
        ("vat_inactive", "MVA-kode 81", "error"),
        ("vat_missing", "MVA-kode C9", "error"),
        ("vat_rate", "MVA-kode 31", "error"),
    ]
    by_kind = {f["kind"]: f for f in findings(validation, "vat_codes")}
    assert by_kind["vat_rate"]["message"] == (
        "MVA-kode 31 har sats 12 % i Bitnet, men 15 % i PowerOffice."
    )
    assert (by_kind["vat_rate"]["bitnet"], by_kind["vat_rate"]["poweroffice"]) == ("12 %", "15 %")
    assert (
        by_kind["vat_expired"]["message"]
        == "MVA-kode 34 er utløpt i PowerOffice (gyldig til 30.09.2021)."
    )
    assert by_kind["vat_missing"]["message"] == "MVA-kode C9 finnes ikke i PowerOffice."
    assert (
        by_kind["vat_missing"]["link"]
        == f"/administrasjon/mva-koder/{VatCode.objects.get(code='C9').id}/"
    )


def test_vat_code_with_an_expired_and_a_current_period_uses_the_current_one(world):
    # The sandbox lists 33 twice: 6 % (expired 2021) and 12 % (current). Ours 6 % is wrong.
    world.vat["33"].rate = Decimal("6")
    world.vat["33"].save()

    validation = world.validate()

    assert kinds(validation) == [("vat_rate", "MVA-kode 33", "error")]
    assert findings(validation)[0]["poweroffice"] == "12 %"


def test_vat_code_not_valid_yet(world):
    future = (dt.date.today() + dt.timedelta(days=40)).isoformat()
    world.sandbox.update(world.key, "vatcodes", world.po_vat("5")["Id"], ValidFrom=future)

    validation = world.validate()

    assert kinds(validation) == [("vat_not_yet_valid", "MVA-kode 5", "error")]


# --- failures: message, never a crash -------------------------------------------------------------


def test_poweroffice_unreachable_is_a_saved_message(world, settings):
    settings.POWEROFFICE_API_URL = f"http://127.0.0.1:{_closed_port()}/v2"
    settings.POWEROFFICE_TOKEN_URL = f"http://127.0.0.1:{_closed_port()}/OAuth/Token"
    settings.POWEROFFICE_MAX_ATTEMPTS = 2
    settings.POWEROFFICE_BACKOFF_BASE = 0.01
    world.validate()  # a completed run first: it stays visible

    validation = world.validate()

    validation.refresh_from_db()
    assert validation.ok is False
    assert validation.error == "PowerOffice svarer ikke akkurat nå. Prøv igjen om litt."
    assert validation.result == {}
    assert AccountValidation.objects.filter(subgroup=world.subgroup).count() == 2


def test_poweroffice_5xx_is_a_message(world, settings):
    settings.POWEROFFICE_MAX_ATTEMPTS = 1
    world.sandbox.faults(status=503, path="GeneralLedgerAccounts")

    validation = world.validate()

    assert validation.error == "PowerOffice svarte med en feil (HTTP 503). Prøv igjen om litt."


def test_invalid_key_is_a_message_without_the_key(world):
    bogus = "ffffffff-0000-4000-8000-00000000beef"
    world.connection.client_key_encrypted = encrypt_secret(bogus)
    world.connection.save()

    validation = world.validate()

    assert validation.ok is False
    assert validation.error.startswith("PowerOffice kjenner ikke igjen klientnøkkelen")
    assert "beef" not in validation.error


def test_subgroup_without_connection_is_a_message(world, agency_a):
    other = SubgroupFactory(agency=agency_a, name="Hansen Bærum")

    validation = account_chart_validate(subgroup=other)

    assert validation.error.startswith("Hansen Bærum er ikke koblet til PowerOffice")


# --- cost: bounded requests and queries -----------------------------------------------------------


def test_cost_does_not_grow_with_the_chart(world):
    agency = world.subgroup.agency
    client = connection_client(world.connection)

    def run() -> tuple[int, int]:
        client.stats.reset()
        with CaptureQueriesContext(db_connection) as queries:
            account_chart_validate(subgroup=world.subgroup, client=client)
        return client.stats.requests, len(queries)

    small = run()
    for n in range(200):
        account = Account.objects.create(
            agency=agency, number=4000 + n, name=f"Konto {n}", vat_code=world.vat["3"]
        )
        Article.objects.create(
            agency=agency, name=f"Vare {n}", price=1, account=account, vat_code=world.vat["3"]
        )
    large = run()

    assert large == small
    assert small[0] <= 2  # two list calls (the token is cached)
    assert small[1] <= 10  # connection, chart (3), save, checklist, pruning, savepoints


# --- prerequisites ---------------------------------------------------------------------------


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
    assert connection_store_client_key(connection=other_connection, client_key=world.key).ok

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
    settings.POWEROFFICE_API_URL = f"http://127.0.0.1:{_closed_port()}/v2"
    settings.POWEROFFICE_TOKEN_URL = f"http://127.0.0.1:{_closed_port()}/OAuth/Token"
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
