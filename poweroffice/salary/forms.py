"""Forms of the payroll export pages: thin, the services decide."""

from __future__ import annotations

import datetime as dt
from typing import cast

from django import forms

from bitnet.models import Subgroup
from payroll.models import ReimbursementKind
from payroll.reimbursements import KIND_LABELS, KIND_ORDER

KIND_HELP = {
    ReimbursementKind.MILEAGE: "Antall km × statens sats for året.",
    ReimbursementKind.PASSENGER: "Antall passasjer-km × passasjertillegget.",
    ReimbursementKind.TOLL: "Utlegg: antall 1, sats = beløp.",
    ReimbursementKind.PARKING: "Utlegg: antall 1, sats = beløp.",
    ReimbursementKind.FERRY: "Utlegg: antall 1, sats = beløp.",
    ReimbursementKind.TRAILER: "Km med tilhenger/utstyr × tillegget.",
    ReimbursementKind.FOREST_ROAD: "Km på skogs-/anleggsvei × tillegget.",
}


class ActivateForm(forms.Form):
    """The "Aktiver" dialog: a new client key, or the one Datadeling holds."""

    SOURCE_DATADELING = "datadeling"
    SOURCE_NEW = "ny"

    source = forms.ChoiceField(
        choices=[
            (SOURCE_DATADELING, "Bruk samme klientnøkkel som Datadeling"),
            (SOURCE_NEW, "Lim inn en klientnøkkel"),
        ],
        initial=SOURCE_NEW,
        widget=forms.RadioSelect,
        required=False,
    )
    client_key = forms.CharField(
        label="Klientnøkkel",
        required=False,
        strip=True,
        max_length=200,
        widget=forms.PasswordInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "Client Key"}
        ),
        help_text="Finnes i PowerOffice Go under Innstillinger > Utvidelser.",
    )

    def __init__(self, *args, has_datadeling_key: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_datadeling_key = has_datadeling_key
        if has_datadeling_key:
            self.fields["source"].initial = self.SOURCE_DATADELING

    def clean(self):
        cleaned = super().clean()
        source = cleaned.get("source") or self.SOURCE_NEW
        if source == self.SOURCE_DATADELING and not self.has_datadeling_key:
            source = self.SOURCE_NEW
        cleaned["source"] = source
        if source == self.SOURCE_NEW and not cleaned.get("client_key"):
            self.add_error("client_key", "Lim inn klientnøkkelen fra PowerOffice Go.")
        return cleaned


class WageCodesForm(forms.Form):
    """One pay item code per kind of reimbursement (empty: not configured)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in KIND_ORDER:
            self.fields[kind] = forms.CharField(
                label=KIND_LABELS[kind],
                required=False,
                max_length=200,
                help_text=KIND_HELP[kind],
                widget=forms.TextInput(attrs={"placeholder": "Lønnsart", "class": "code-input"}),
            )


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ExportSearchForm(forms.Form):
    """Lag ny: a subgroup and a date range, then "Søk"."""

    subgroup = forms.ModelChoiceField(
        label="Undergruppe", queryset=Subgroup.objects.none(), empty_label=None
    )
    date_from = forms.DateField(label="Fra dato", widget=_date_input())
    date_to = forms.DateField(label="Til dato", widget=_date_input())

    def __init__(self, *args, agency_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        subgroups = cast(forms.ModelChoiceField, self.fields["subgroup"])
        subgroups.queryset = Subgroup.objects.filter(agency_id=agency_id).order_by("name")

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to:
            if date_from > date_to:
                self.add_error("date_to", "Til dato kan ikke være før fra dato.")
            elif date_to - date_from > dt.timedelta(days=366):
                self.add_error("date_to", "Velg en periode på høyst ett år.")
        return cleaned


class ExportSelectForm(forms.Form):
    """The chosen logbooks and the wizard's submission token."""

    logs = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=False)
    token = forms.UUIDField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, log_ids: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["logs"]).choices = [(i, str(i)) for i in log_ids]

    def clean_logs(self):
        logs = self.cleaned_data.get("logs") or []
        if not logs:
            raise forms.ValidationError("Velg minst én kjørebok.")
        return logs
