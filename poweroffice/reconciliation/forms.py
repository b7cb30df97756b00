"""The Avstemming form: subgroup and period (the month just ended by default)."""

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from bitnet.models import Agency, Subgroup
from poweroffice.reconciliation.services import last_month

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ReconciliationForm(forms.Form):
    subgroup = forms.ModelChoiceField(
        label="Undergruppe", queryset=Subgroup.objects.none(), empty_label=None
    )
    period_from = forms.DateField(label="Fra dato", widget=DATE_WIDGET)
    period_to = forms.DateField(label="Til dato", widget=DATE_WIDGET)

    def __init__(self, *args, agency: Agency, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["subgroup"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Subgroup.objects.filter(agency=agency).order_by("name")
        first, last = last_month(timezone.localdate())
        self.fields["period_from"].initial = first
        self.fields["period_to"].initial = last

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start: dt.date | None = data.get("period_from")
        end: dt.date | None = data.get("period_to")
        if start and end and end < start:
            self.add_error("period_to", "Til dato kan ikke være før fra dato.")
        if start and end and (end - start).days > 366:
            self.add_error("period_to", "Perioden kan være høyst ett år.")
        return data
