"""Valider kontoplan (SPEC Part A item 2) against the sandbox over real HTTP: accounts, articles'
accounts and VAT codes. Mismatches are seeded through the sandbox's data hooks and our own data.
The prerequisites checklist is in test_prerequisites.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from accounting.models import Account, Article, VatCode
from poweroffice.chart.services import account_chart_validate
from poweroffice.crypto import encrypt_secret
from poweroffice.datadeling.connection import (
    connection_client,
)
from poweroffice.models import AccountValidation
from tests.factories import SubgroupFactory
from tests.fixtures.validation import closed_port


def findings(validation: AccountValidation, group: str | None = None) -> list[dict]:
    return [
        f
        for g in validation.result["groups"]
        if group is None or g["key"] == group
        for f in g["findings"]
    ]


def kinds(validation: AccountValidation) -> list[tuple[str, str, str]]:
    return sorted((f["kind"], f["subject"], f["severity"]) for f in findings(validation))


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
    settings.POWEROFFICE_API_URL = f"http://127.0.0.1:{closed_port()}/v2"
    settings.POWEROFFICE_TOKEN_URL = f"http://127.0.0.1:{closed_port()}/OAuth/Token"
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
