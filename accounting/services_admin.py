"""Writes of Administrasjon in accounting: chart of accounts, articles (varer) and VAT codes.

Every write runs in one transaction. Uniqueness inside the agency is checked again at the moment
of writing; a clash raises ``ValidationError`` keyed by field, so nothing is half-saved and the
form shows the message beside the field.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounting.models import Account, Article, VatCode
from bitnet.models import Agency


def account_number_taken_message(number: int) -> str:
    return f"Kontonummer {number} finnes allerede i kontoplanen."


def vat_code_taken_message(code: str) -> str:
    return f"MVA-kode {code} finnes allerede."


def _check_agency(*, agency: Agency, field: str, row: Account | VatCode | None) -> None:
    if row is not None and row.agency_id != agency.pk:
        raise ValidationError({field: "Velg en verdi fra din etat."})


def _save(row, *, unique_field: str, message: str, update_fields: list[str] | None = None) -> None:
    """Save in a savepoint; a unique clash from a parallel request becomes a field error."""
    try:
        with transaction.atomic():
            row.save(update_fields=update_fields)
    except IntegrityError:
        raise ValidationError({unique_field: message}) from None


# Chart of accounts (kontoplan)


def account_create(
    *,
    agency: Agency,
    number: int,
    name: str,
    vat_code: VatCode | None = None,
    is_active: bool = True,
) -> Account:
    _check_agency(agency=agency, field="vat_code", row=vat_code)
    with transaction.atomic():
        if Account.objects.filter(agency=agency, number=number).exists():
            raise ValidationError({"number": account_number_taken_message(number)})
        account = Account(
            agency=agency, number=number, name=name, vat_code=vat_code, is_active=is_active
        )
        _save(account, unique_field="number", message=account_number_taken_message(number))
    return account


def account_update(
    *,
    account: Account,
    number: int,
    name: str,
    vat_code: VatCode | None = None,
    is_active: bool = True,
) -> Account:
    agency = account.agency
    _check_agency(agency=agency, field="vat_code", row=vat_code)
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk, agency=agency)
        if Account.objects.filter(agency=agency, number=number).exclude(pk=locked.pk).exists():
            raise ValidationError({"number": account_number_taken_message(number)})
        locked.number = number
        locked.name = name
        locked.vat_code = vat_code
        locked.is_active = is_active
        _save(
            locked,
            unique_field="number",
            message=account_number_taken_message(number),
            update_fields=["number", "name", "vat_code", "is_active"],
        )
    return locked


# Articles (varer)


def article_create(
    *,
    agency: Agency,
    name: str,
    unit: str,
    price: Decimal,
    account: Account,
    vat_code: VatCode,
    is_active: bool = True,
) -> Article:
    """Create an article; in PowerOffice it becomes the product "B-<id>" on first export."""
    _check_agency(agency=agency, field="account", row=account)
    _check_agency(agency=agency, field="vat_code", row=vat_code)
    if price < 0:
        raise ValidationError({"price": "Prisen kan ikke være negativ."})
    with transaction.atomic():
        return Article.objects.create(
            agency=agency,
            name=name,
            unit=unit,
            price=price,
            account=account,
            vat_code=vat_code,
            is_active=is_active,
        )


def article_update(
    *,
    article: Article,
    name: str,
    unit: str,
    price: Decimal,
    account: Account,
    vat_code: VatCode,
    is_active: bool = True,
) -> Article:
    agency = article.agency
    _check_agency(agency=agency, field="account", row=account)
    _check_agency(agency=agency, field="vat_code", row=vat_code)
    if price < 0:
        raise ValidationError({"price": "Prisen kan ikke være negativ."})
    values = {
        "name": name,
        "unit": unit,
        "price": price,
        "account": account,
        "vat_code": vat_code,
        "is_active": is_active,
    }
    with transaction.atomic():
        locked = Article.objects.select_for_update().get(pk=article.pk, agency=agency)
        for field, value in values.items():
            setattr(locked, field, value)
        locked.save(update_fields=list(values))
    return locked


# VAT codes (MVA-koder)


def _check_rate(rate: Decimal) -> None:
    if not Decimal(0) <= rate <= Decimal(100):
        raise ValidationError({"rate": "Satsen må være et tall mellom 0 og 100."})


def vat_code_create(
    *, agency: Agency, code: str, rate: Decimal, name: str, is_active: bool = True
) -> VatCode:
    _check_rate(rate)
    with transaction.atomic():
        if VatCode.objects.filter(agency=agency, code=code).exists():
            raise ValidationError({"code": vat_code_taken_message(code)})
        vat_code = VatCode(agency=agency, code=code, rate=rate, name=name, is_active=is_active)
        _save(vat_code, unique_field="code", message=vat_code_taken_message(code))
    return vat_code


def vat_code_update(
    *, vat_code: VatCode, code: str, rate: Decimal, name: str, is_active: bool = True
) -> VatCode:
    """Update a VAT code. Invoice lines keep the rate they were made with (InvoiceLine.vat_rate)."""
    _check_rate(rate)
    agency = vat_code.agency
    with transaction.atomic():
        locked = VatCode.objects.select_for_update().get(pk=vat_code.pk, agency=agency)
        if VatCode.objects.filter(agency=agency, code=code).exclude(pk=locked.pk).exists():
            raise ValidationError({"code": vat_code_taken_message(code)})
        locked.code = code
        locked.rate = rate
        locked.name = name
        locked.is_active = is_active
        _save(
            locked,
            unique_field="code",
            message=vat_code_taken_message(code),
            update_fields=["code", "rate", "name", "is_active"],
        )
    return locked
