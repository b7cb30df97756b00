"""Form fields shared by every page."""

from collections.abc import Callable
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from bitnet import identifiers

_SPACES = (" ", "\xa0", "\u202f", "\u2009")


class NorwegianDecimalField(forms.DecimalField):
    """A decimal typed the Norwegian way ("1 250,50"), also "1250.50" or "1.250,50", whatever
    language the browser asks for: parsing must not depend on the active locale (read the
    English way, "1250,50" would be 125050)."""

    # Django's own Norwegian messages speak of a "desimalpunkt"; we write a decimal comma.
    default_error_messages = {
        "invalid": "Skriv et tall, f.eks. 1250,50.",
        "max_digits": "Tallet er for stort: høyst %(max)s sifre i alt.",
        "max_whole_digits": "Tallet er for stort: høyst %(max)s sifre før desimalkommaet.",
        "max_decimal_places": "Skriv høyst %(max)s sifre etter desimalkommaet.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        for space in _SPACES:
            text = text.replace(space, "")
        text = text.replace("\u2212", "-")  # a typographic minus pasted from elsewhere
        if "," in text and "." in text:  # "1.250,50": the dots group thousands
            text = text.replace(".", "")
        try:
            return super().to_python(text.replace(",", "."))
        except ValidationError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return format(value, "f").replace(".", ",")
        return value


# PositiveIntegerField's upper bound in PostgreSQL.
MAX_INT = 2_147_483_647


class PositiveNumberField(forms.IntegerField):
    """A whole number >= 1 typed as text, one Norwegian message for every kind of bad input,
    and its own (``too_large``) for a number above what the database holds."""

    def __init__(self, *, message: str, too_large: str | None = None, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_INT)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})
        )
        super().__init__(**kwargs)
        for code in ("invalid", "min_value", "max_value", "step_size"):
            self.error_messages[code] = message
        if too_large:
            self.error_messages["max_value"] = too_large


class _NorwegianNumberField(forms.CharField):
    """A Norwegian number typed with spaces or dots, checked and compacted by
    bitnet/identifiers.py (python-stdnum); the compact form is what is stored."""

    cleaner: Callable[[str], str]

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "numeric"}))
        super().__init__(**kwargs)

    def clean(self, value):
        return type(self).cleaner(super().clean(value) or "")

    def prepare_value(self, value):
        return type(self).display(value) if value else value

    @staticmethod
    def display(value: str) -> str:
        return value


class OrgNumberField(_NorwegianNumberField):
    """Organisasjonsnummer: 9 digits with a MOD11 check digit (stdnum.no.orgnr)."""

    cleaner = staticmethod(identifiers.org_number_clean)
    display = staticmethod(identifiers.org_number_format)


class VatNumberField(_NorwegianNumberField):
    """MVA-nummer: the organisation number and "MVA" (stdnum.no.mva)."""

    cleaner = staticmethod(identifiers.vat_number_clean)
    display = staticmethod(identifiers.vat_number_format)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widget.attrs["inputmode"] = "text"


class BankAccountField(_NorwegianNumberField):
    """Kontonummer: 11 digits with a MOD11 check digit (stdnum.no.kontonr)."""

    cleaner = staticmethod(identifiers.bank_account_clean)
    display = staticmethod(identifiers.bank_account_format)
