"""Writes of Administrasjon in accounting: chart of accounts, articles (varer) and VAT codes.

Every write runs in one transaction. Uniqueness inside the agency is checked again at the moment
of writing; a clash raises ``ValidationError`` keyed by field, so nothing is half-saved and the
form shows the message beside the field.
"""

from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounting.models import Account, Article, VatCode
from bitnet.models import Agency

_Unique = TypeVar("_Unique", Account, VatCode)  # a row with a number/code unique in the agency
_Row = TypeVar("_Row", Account, Article, VatCode)


def account_number_taken_message(number: int) -> str:
    return f"Kontonummer {number} finnes allerede i kontoplanen."


def vat_code_taken_message(code: str) -> str:
    return f"MVA-kode {code} finnes allerede."


def _check_agency(*, agency: Agency, field: str, row: Account | VatCode | None) -> None:
    if row is not None and row.agency_id != agency.pk:
        raise ValidationError({field: "Velg en verdi fra din etat."})


def _save(
    row: Account | Article | VatCode,
    *,
    unique_field: str,
    message: str,
    update_fields: list[str] | None = None,
) -> None:
    """Save in a savepoint; a unique clash from a parallel request becomes a field error."""
    try:
        with transaction.atomic():
            row.save(update_fields=update_fields)
    except IntegrityError:
        raise ValidationError({unique_field: message}) from None


def _create_unique(
    model: type[_Unique],
    *,
    agency: Agency,
    unique_field: str,
    message: str,
    values: dict[str, Any],
) -> _Unique:
    """Create a row whose ``unique_field`` must not be taken in the agency."""
    with transaction.atomic():
        if model.objects.filter(agency=agency, **{unique_field: values[unique_field]}).exists():
            raise ValidationError({unique_field: message})
        row = model(agency=agency, **values)
        _save(row, unique_field=unique_field, message=message)
    return row


def _update_locked(
    model: type[_Row],
    row: _Row,
    *,
    values: dict[str, Any],
    unique_field: str | None = None,
    message: str = "",
) -> _Row:
    """Lock ``row``, check ``unique_field`` (if any) against the agency's other rows under the
    lock, and save ``values``."""
    agency = row.agency
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=row.pk, agency=agency)
        if unique_field:
            taken = model.objects.filter(agency=agency, **{unique_field: values[unique_field]})
            if taken.exclude(pk=locked.pk).exists():
                raise ValidationError({unique_field: message})
        for field, value in values.items():
            setattr(locked, field, value)
        if unique_field:
            _save(locked, unique_field=unique_field, message=message, update_fields=list(values))
        else:
            locked.save(update_fields=list(values))
    return locked


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
    return _create_unique(
        Account,
        agency=agency,
        unique_field="number",
        message=account_number_taken_message(number),
        values={"number": number, "name": name, "vat_code": vat_code, "is_active": is_active},
    )


def account_update(
    *,
    account: Account,
    number: int,
    name: str,
    vat_code: VatCode | None = None,
    is_active: bool = True,
) -> Account:
    _check_agency(agency=account.agency, field="vat_code", row=vat_code)
    return _update_locked(
        Account,
        account,
        values={"number": number, "name": name, "vat_code": vat_code, "is_active": is_active},
        unique_field="number",
        message=account_number_taken_message(number),
    )


# Articles (varer)


def _check_article(*, agency: Agency, account: Account, vat_code: VatCode, price: Decimal) -> None:
    _check_agency(agency=agency, field="account", row=account)
    _check_agency(agency=agency, field="vat_code", row=vat_code)
    if price < 0:
        raise ValidationError({"price": "Prisen kan ikke være negativ."})


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
    _check_article(agency=agency, account=account, vat_code=vat_code, price=price)
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
    _check_article(agency=article.agency, account=account, vat_code=vat_code, price=price)
    values = {
        "name": name,
        "unit": unit,
        "price": price,
        "account": account,
        "vat_code": vat_code,
        "is_active": is_active,
    }
    return _update_locked(Article, article, values=values)


# VAT codes (MVA-koder)


def _check_rate(rate: Decimal) -> None:
    if not Decimal(0) <= rate <= Decimal(100):
        raise ValidationError({"rate": "Satsen må være et tall mellom 0 og 100."})


def vat_code_create(
    *, agency: Agency, code: str, rate: Decimal, name: str, is_active: bool = True
) -> VatCode:
    _check_rate(rate)
    return _create_unique(
        VatCode,
        agency=agency,
        unique_field="code",
        message=vat_code_taken_message(code),
        values={"code": code, "rate": rate, "name": name, "is_active": is_active},
    )


def vat_code_update(
    *, vat_code: VatCode, code: str, rate: Decimal, name: str, is_active: bool = True
) -> VatCode:
    """Update a VAT code. Invoice lines keep the rate they were made with (InvoiceLine.vat_rate)."""
    _check_rate(rate)
    return _update_locked(
        VatCode,
        vat_code,
        values={"code": code, "rate": rate, "name": name, "is_active": is_active},
        unique_field="code",
        message=vat_code_taken_message(code),
    )
