"""Forms of Administrasjon > Kontoplan, Varer and MVA-koder.

Norwegian messages beside each field; choices (accounts, VAT codes) only from the user's
agency. The writes are done by accounting/chart/services.py.
"""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from accounting.chart.services import account_number_taken_message, vat_code_taken_message
from accounting.models import VAT_CODE_ORDER, Account, Article, VatCode
from bitnet.fields import NorwegianDecimalField
from bitnet.models import Agency

ACCOUNT_NUMBER_MESSAGE = "Kontonummer må være et firesifret tall mellom 1000 og 9999."
PRICE_INVALID = "Skriv inn en gyldig pris, for eksempel 1250,00."
PRICE_NEGATIVE = "Prisen kan ikke være negativ."
RATE_MESSAGE = "Satsen må være et tall mellom 0 og 100."


def _vat_codes_for(agency: Agency, current_id: int | None):
    """The agency's active VAT codes, plus the one already chosen even if inactive."""
    return (
        VatCode.objects.filter(agency=agency)
        .filter(Q(is_active=True) | Q(pk=current_id))
        .order_by(*VAT_CODE_ORDER)
    )


class _AgencyForm(forms.ModelForm):
    def __init__(self, *args, agency: Agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency

    def _taken(self, **lookup) -> bool:
        """Whether another row of the agency already has these values."""
        rows = self._meta.model.objects.filter(agency=self.agency, **lookup)
        if self.instance.pk:
            rows = rows.exclude(pk=self.instance.pk)
        return rows.exists()


class AccountForm(_AgencyForm):
    number = forms.IntegerField(
        label="Kontonummer",
        min_value=1000,
        max_value=9999,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "maxlength": 4}),
        help_text="Fire siffer, som i PowerOffice.",
        error_messages={
            "invalid": ACCOUNT_NUMBER_MESSAGE,
            "min_value": ACCOUNT_NUMBER_MESSAGE,
            "max_value": ACCOUNT_NUMBER_MESSAGE,
        },
    )

    class Meta:
        model = Account
        fields = ["number", "name", "vat_code", "is_active"]
        labels = {"name": "Navn", "vat_code": "MVA-kode", "is_active": "Aktiv"}
        help_texts = {
            "vat_code": "MVA-koden kontoen har i PowerOffice (tom for kontoer uten MVA).",
            "is_active": "Inaktive kontoer kan ikke velges på nye varer.",
        }
        error_messages = {"vat_code": {"invalid_choice": "Velg en MVA-kode fra listen."}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["vat_code"]
        field.queryset = _vat_codes_for(self.agency, self.instance.vat_code_id)
        field.empty_label = "— Ingen MVA-kode —"

    def clean_number(self) -> int:
        number = self.cleaned_data["number"]
        if self._taken(number=number):
            raise ValidationError(account_number_taken_message(number))
        return number


class ArticleForm(_AgencyForm):
    price = NorwegianDecimalField(
        label="Pris eks. mva",
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
        help_text="Prisen i Bitnet brukes alltid ved eksport, uansett pris i PowerOffice.",
        error_messages={
            "required": "Skriv inn en pris.",
            "invalid": PRICE_INVALID,
            "min_value": PRICE_NEGATIVE,
            "max_digits": "Prisen er for høy.",
            "max_whole_digits": "Prisen er for høy.",
            "max_decimal_places": "Prisen kan ha høyst to desimaler (øre).",
        },
    )

    class Meta:
        model = Article
        fields = ["name", "unit", "price", "account", "vat_code", "is_active"]
        labels = {
            "name": "Navn",
            "unit": "Enhet",
            "account": "Salgskonto",
            "vat_code": "MVA-kode",
            "is_active": "Aktiv",
        }
        help_texts = {
            "unit": "For eksempel stk, time, km.",
            "is_active": "Inaktive varer kan ikke velges på nye fakturaer.",
        }
        error_messages = {
            "account": {
                "required": "Velg en salgskonto.",
                "invalid_choice": "Velg en salgskonto fra kontoplanen.",
            },
            "vat_code": {
                "required": "Velg en MVA-kode.",
                "invalid_choice": "Velg en MVA-kode fra listen.",
            },
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current_account = self.instance.account_id if self.instance.pk else None
        current_vat = self.instance.vat_code_id if self.instance.pk else None
        account = self.fields["account"]
        account.queryset = (
            Account.objects.filter(agency=self.agency)
            .filter(Q(is_active=True) | Q(pk=current_account))
            .order_by("number")
        )
        account.empty_label = "— Velg salgskonto —"
        account.label_from_instance = lambda a: f"{a.number} {a.name}"
        vat = self.fields["vat_code"]
        vat.queryset = _vat_codes_for(self.agency, current_vat)
        vat.empty_label = "— Velg MVA-kode —"


class VatCodeForm(_AgencyForm):
    code = forms.CharField(
        label="Kode",
        max_length=10,
        help_text="SAF-T-koden, samme som i PowerOffice (f.eks. 3 = 25 %, 5 = fritatt).",
    )
    rate = NorwegianDecimalField(
        label="Sats (%)",
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        help_text="Må være lik satsen i PowerOffice.",
        error_messages={
            "required": "Skriv inn en sats.",
            "invalid": RATE_MESSAGE,
            "min_value": RATE_MESSAGE,
            "max_value": RATE_MESSAGE,
            "max_digits": RATE_MESSAGE,
            "max_whole_digits": RATE_MESSAGE,
            "max_decimal_places": "Satsen kan ha høyst to desimaler.",
        },
    )

    class Meta:
        model = VatCode
        fields = ["code", "rate", "name", "is_active"]
        labels = {"name": "Navn", "is_active": "Aktiv"}
        help_texts = {"is_active": "Inaktive koder kan ikke velges på nye kontoer og varer."}

    def clean_code(self) -> str:
        code = (self.cleaned_data.get("code") or "").strip()
        if not code:
            raise ValidationError("Skriv inn en kode.")
        if self._taken(code=code):
            raise ValidationError(vat_code_taken_message(code))
        return code
