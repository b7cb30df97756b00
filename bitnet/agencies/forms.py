"""Forms of Administrasjon > Byrå: offices and the subgroups' number series.

Forms validate input and show Norwegian messages beside each field; the writes are done by
bitnet/agencies/services.py. The subgroup choices come from the user's agency only.
"""

from typing import cast

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from bitnet import hooks
from bitnet.agencies.services import subgroup_number_series_errors
from bitnet.fields import BankAccountField, OrgNumberField, PositiveNumberField, VatNumberField
from bitnet.models import Agency, Office, Subgroup

DEPARTMENTS_MISSING_HELP = "Synkroniser avdelinger under Administrasjon > Datadeling først"
VAT_NUMBER_NOT_ORG_NUMBER = "MVA-nummeret må være organisasjonsnummeret over etterfulgt av MVA."


def _series_field(label: str, help_text: str = "") -> PositiveNumberField:
    return PositiveNumberField(
        label=label, message="Skriv inn et positivt heltall.", help_text=help_text
    )


class SubgroupSeriesForm(forms.ModelForm):
    """One subgroup's company details (printed on the invoice specification) and its invoice
    and customer number series."""

    org_number = OrgNumberField(
        label="Organisasjonsnummer",
        required=False,
        help_text="Tom: etatens organisasjonsnummer brukes på fakturaspesifikasjonen.",
    )
    vat_number = VatNumberField(
        label="MVA-nummer",
        required=False,
        help_text="For en MVA-registrert undergruppe: organisasjonsnummeret og MVA.",
    )
    bank_account = BankAccountField(
        label="Kontonummer",
        required=False,
        help_text="Kontoen kunden betaler til, skrevet på fakturaspesifikasjonen.",
    )

    invoice_series_start = _series_field("Fakturanummer fra")
    invoice_series_end = _series_field("Fakturanummer til")
    next_invoice_number = _series_field(
        "Neste fakturanummer", "Nummeret neste faktura eller kreditnota får."
    )
    customer_series_start = _series_field("Kundenummer fra")
    customer_series_end = _series_field(
        "Kundenummer til", "Skal ikke være høyere enn det PowerOffice tillater."
    )
    next_customer_number = _series_field(
        "Neste kundenummer", "Nummeret neste nye kunde får (brukte numre hoppes over)."
    )

    DETAIL_FIELDS = ("org_number", "vat_number", "bank_account")

    class Meta:
        model = Subgroup
        fields = [
            "org_number",
            "vat_number",
            "bank_account",
            "invoice_series_start",
            "invoice_series_end",
            "next_invoice_number",
            "customer_series_start",
            "customer_series_end",
            "next_customer_number",
        ]

    def clean(self):
        cleaned = super().clean()
        series = [name for name in self.Meta.fields if name not in self.DETAIL_FIELDS]
        if all(cleaned.get(name) is not None for name in series):
            values = {name: cleaned[name] for name in series}
            for field, message in subgroup_number_series_errors(
                subgroup=self.instance, **values
            ).items():
                self.add_error(field, message)
        vat, org = cleaned.get("vat_number"), cleaned.get("org_number")
        if vat and org and not vat.startswith(org):
            self.add_error("vat_number", VAT_NUMBER_NOT_ORG_NUMBER)
        return cleaned


class OfficeForm(forms.ModelForm):
    """An office (byrå/kontor). "Ekstern avdeling" offers the departments synced from
    PowerOffice for the office's subgroup (bitnet.hooks.department_choices)."""

    external_department_code = forms.ChoiceField(
        label="Ekstern avdeling",
        required=False,
        error_messages={
            "invalid_choice": "Velg en avdeling som er synkronisert for undergruppen.",
        },
    )

    class Meta:
        model = Office
        fields = [
            "name",
            "subgroup",
            "address",
            "postal_code",
            "city",
            "phone",
            "external_department_code",
        ]
        labels = {
            "name": "Navn",
            "subgroup": "Undergruppe",
            "address": "Adresse",
            "postal_code": "Postnummer",
            "city": "Poststed",
            "phone": "Telefon",
        }
        help_texts = {
            "subgroup": "Undergruppen er en egen klient i PowerOffice.",
        }
        error_messages = {
            "subgroup": {"invalid_choice": "Velg en undergruppe fra listen."},
        }
        widgets = {
            "postal_code": forms.TextInput(attrs={"inputmode": "numeric", "maxlength": 4}),
            "phone": forms.TextInput(attrs={"inputmode": "tel"}),
        }

    def __init__(self, *args, agency: Agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency
        self.subgroups = subgroups = Subgroup.objects.filter(agency=agency).order_by("name")
        subgroup = cast(forms.ModelChoiceField, self.fields["subgroup"])
        subgroup.queryset = subgroups
        subgroup.empty_label = None if subgroups.count() == 1 else "— Velg —"
        self.subgroup_id = self._selected_subgroup_id(subgroups)
        self.department_choices = (
            list(hooks.department_choices(self.subgroup_id)) if self.subgroup_id else []
        )
        field = cast(forms.ChoiceField, self.fields["external_department_code"])
        choices = list(self.department_choices)
        current = self.instance.external_department_code if self.instance.pk else ""
        if (
            current
            and self.subgroup_id == self.instance.subgroup_id
            and current not in {code for code, _ in choices}
        ):
            # Keep a code that is no longer among the synced departments visible, not wiped.
            choices.append((current, f"{current} (finnes ikke blant synkroniserte avdelinger)"))
        field.choices = [("", "— Ingen avdeling —"), *choices]
        if not self.department_choices:
            field.help_text = format_html(
                '{}. <a href="{}">Gå til Datadeling</a>',
                DEPARTMENTS_MISSING_HELP,
                reverse("datadeling:index"),
            )
        else:
            field.help_text = "Avdelingen i PowerOffice som fakturaer fra dette kontoret får."

    def _selected_subgroup_id(self, subgroups) -> int | None:
        """The subgroup whose departments are offered: the posted one if it is ours."""
        if self.is_bound:
            raw = str(self.data.get(self.add_prefix("subgroup")) or "")
            if raw.isdigit() and subgroups.filter(pk=int(raw)).exists():
                return int(raw)
        if self.instance.pk:
            return self.instance.subgroup_id
        initial = self.initial.get("subgroup")
        if initial is not None:
            pk = getattr(initial, "pk", initial)
            if str(pk).isdigit() and subgroups.filter(pk=int(pk)).exists():
                return int(pk)
        only = list(subgroups.values_list("pk", flat=True)[:2])
        return only[0] if len(only) == 1 else None

    def clean_postal_code(self) -> str:
        value = (self.cleaned_data.get("postal_code") or "").strip()
        if value and not (len(value) == 4 and value.isdigit()):
            raise ValidationError("Postnummer må være fire siffer.")
        return value

    def clean_external_department_code(self) -> str:
        # ChoiceField already limits the value to the subgroup's departments (or the current one).
        return self.cleaned_data.get("external_department_code") or ""

    def departments_by_subgroup(self) -> dict[str, list[tuple[str, str]]]:
        """Every subgroup's departments, so the select can follow a change of subgroup."""
        ids = list(self.subgroups.values_list("pk", flat=True))
        choices = hooks.department_choices_by_subgroup(ids)
        return {str(pk): choices.get(pk, []) for pk in ids}
