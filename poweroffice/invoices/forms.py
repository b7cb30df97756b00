"""The filter of Økonomi > Ikke eksporterte fakturaer: search, subgroup, office, reason, dates."""

from typing import cast

from django import forms
from django.db.models import QuerySet

from bitnet.models import Office, Subgroup

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

# "Årsak": why an invoice is on the list, as poweroffice/invoices/selectors.py REASON_STATUSES
# reads it.
REASON_CHOICES = [
    ("", "Alle"),
    ("feilet", "Eksporten feilet"),
    ("holdt", "Holdt tilbake"),
    ("venter", "Venter på eksport"),
    ("ikke-forsokt", "Ikke forsøkt"),
]


class NotExportedFilterForm(forms.Form):
    q = forms.CharField(
        label="Søk",
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Nummer, kunde eller avdøde"}
        ),
    )
    subgroup = forms.ModelChoiceField(
        label="Undergruppe", queryset=Subgroup.objects.none(), required=False, empty_label="Alle"
    )
    office = forms.ModelChoiceField(
        label="Byrå", queryset=Office.objects.none(), required=False, empty_label="Alle"
    )
    reason = forms.ChoiceField(label="Årsak", required=False, choices=REASON_CHOICES)
    date_from = forms.DateField(label="Fra dato", required=False, widget=DATE_WIDGET)
    date_to = forms.DateField(label="Til dato", required=False, widget=DATE_WIDGET)

    def __init__(self, *args, subgroups: QuerySet, offices: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["subgroup"]).queryset = subgroups
        cast(forms.ModelChoiceField, self.fields["office"]).queryset = offices

    def clean(self):
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_from", "Fra dato kan ikke være etter til dato.")
            data.pop("date_to", None)
        return data

    def filters(self) -> dict:
        """Selector arguments from the valid fields; an invalid field filters nothing."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return {
            "search": data.get("q") or "",
            "subgroup_id": data["subgroup"].pk if data.get("subgroup") else None,
            "office_id": data["office"].pk if data.get("office") else None,
            "reason": data.get("reason") or "",
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }
