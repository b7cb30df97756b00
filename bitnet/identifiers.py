"""Norwegian numbers, checked and written by python-stdnum: organisation numbers (MOD11,
stdnum.no.orgnr), MVA numbers (stdnum.no.mva) and bank account numbers (kontonummer, MOD11,
stdnum.no.kontonr).

Each ``*_clean`` takes what a person typed (spaces, dots, a "NO" prefix) and returns the
compact form we store, or raises ValidationError with a Norwegian message; each ``*_format``
returns the form people read (914 778 271, NO 914 778 271 MVA, 1234 56 78903) and leaves a
value it cannot read as it is.
"""

from django.core.exceptions import ValidationError
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.no import kontonr, mva, orgnr

ORG_NUMBER_INVALID = (
    "Ugyldig organisasjonsnummer: det har 9 siffer, og kontrollsifferet stemmer ikke. "
    "Sjekk nummeret i Enhetsregisteret."
)
VAT_NUMBER_INVALID = (
    "Ugyldig MVA-nummer: skriv organisasjonsnummeret etterfulgt av MVA, f.eks. NO 914 778 271 MVA."
)
BANK_ACCOUNT_INVALID = (
    "Ugyldig kontonummer: det har 11 siffer, og kontrollsifferet stemmer ikke. "
    "Sjekk om et siffer er byttet om eller mangler."
)


def org_number_clean(value: str) -> str:
    """An organisation number as stored: 9 digits, "" for nothing typed."""
    if not value.strip():
        return ""
    try:
        return str(orgnr.validate(value.replace(".", " ")))
    except StdnumError:
        raise ValidationError(ORG_NUMBER_INVALID, code="invalid") from None


def org_number_format(value: str) -> str:
    return str(orgnr.format(value)) if value and orgnr.is_valid(value) else value


def vat_number_clean(value: str) -> str:
    """An MVA number as stored: 9 digits and "MVA" (914778271MVA), "" for nothing typed."""
    if not value.strip():
        return ""
    try:
        return str(mva.validate(value))
    except StdnumError:
        raise ValidationError(VAT_NUMBER_INVALID, code="invalid") from None


def vat_number_format(value: str) -> str:
    return str(mva.format(value)) if value and mva.is_valid(value) else value


def bank_account_clean(value: str) -> str:
    """A bank account number as stored: 11 digits, "" for nothing typed."""
    if not value.strip():
        return ""
    try:
        number = str(kontonr.validate(value))
    except StdnumError:
        raise ValidationError(BANK_ACCOUNT_INVALID, code="invalid") from None
    if len(number) != 11:  # a bare 7-digit postgiro number is not an account we pay into
        raise ValidationError(BANK_ACCOUNT_INVALID, code="invalid")
    return number


def bank_account_format(value: str) -> str:
    """1234 56 78903, as Norwegian banks print it (stdnum writes dots: 1234.56.78903)."""
    if not value or not kontonr.is_valid(value):
        return value
    return str(kontonr.format(value)).replace(".", " ")
