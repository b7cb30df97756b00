"""Forms of Lønn > Kjørebøker: filters, a new driving log, a trip."""

from decimal import Decimal
from typing import cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from bitnet.fields import NorwegianDecimalField
from bitnet.models import User
from payroll import limits
from payroll.models import DrivingLog, DrivingLogStatus

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PERIOD_ORDER_MESSAGE = "Fra dato kan ikke være etter til dato."

KM_INVALID = {"invalid": "Skriv et tall, f.eks. 12,5."}


class DriverChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.username


class DrivingLogFilterForm(forms.Form):
    driver = DriverChoiceField(
        label="Sjåfør", queryset=User.objects.none(), required=False, empty_label="Alle"
    )
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Alle"), *DrivingLogStatus.choices]
    )
    date_from = forms.DateField(label="Periode fra", required=False, widget=DATE_WIDGET)
    date_to = forms.DateField(label="Periode til", required=False, widget=DATE_WIDGET)

    def __init__(self, *args, drivers: QuerySet | None, **kwargs):
        super().__init__(*args, **kwargs)
        if drivers is None:
            del self.fields["driver"]  # a driver sees only their own logs
        else:
            cast(DriverChoiceField, self.fields["driver"]).queryset = drivers

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_from", PERIOD_ORDER_MESSAGE)
            data.pop("date_to", None)
        return data

    def filters(self) -> dict:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return {
            "driver_id": data["driver"].pk if data.get("driver") else None,
            "status": data.get("status") or "",
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }


class DrivingLogForm(forms.Form):
    driver = DriverChoiceField(label="Sjåfør", queryset=User.objects.none(), empty_label=None)
    period_start = forms.DateField(label="Fra dato", widget=DATE_WIDGET)
    period_end = forms.DateField(label="Til dato", widget=DATE_WIDGET)
    vehicle = forms.CharField(
        label="Kjøretøy (reg.nr.)",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "F.eks. EL 12345"}),
    )

    def __init__(self, *args, drivers: QuerySet | None, **kwargs):
        super().__init__(*args, **kwargs)
        if drivers is None:
            del self.fields["driver"]  # the log is the user's own
        else:
            cast(DriverChoiceField, self.fields["driver"]).queryset = drivers

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and start > end:
            self.add_error("period_start", PERIOD_ORDER_MESSAGE)
        return data


class TripForm(forms.Form):
    date = forms.DateField(label="Dato", widget=DATE_WIDGET)
    from_place = forms.CharField(label="Fra", max_length=200)
    to_place = forms.CharField(label="Til", max_length=200)
    purpose = forms.CharField(label="Formål", max_length=300)
    km = NorwegianDecimalField(
        label="Km", max_digits=8, decimal_places=1, error_messages=KM_INVALID
    )
    passengers = forms.IntegerField(
        label="Passasjerer",
        initial=0,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    toll = NorwegianDecimalField(
        label="Bompenger",
        max_digits=12,
        decimal_places=2,
        required=False,
        error_messages=KM_INVALID,
    )
    parking = NorwegianDecimalField(
        label="Parkering",
        max_digits=12,
        decimal_places=2,
        required=False,
        error_messages=KM_INVALID,
    )
    ferry = NorwegianDecimalField(
        label="Ferje", max_digits=12, decimal_places=2, required=False, error_messages=KM_INVALID
    )
    trailer = forms.BooleanField(label="Tilhenger/utstyr", required=False)
    forest_road = forms.BooleanField(label="Skogs-/anleggsvei", required=False)

    def __init__(self, *args, log: DrivingLog, **kwargs):
        self.log = log
        super().__init__(*args, **kwargs)
        for name in ("toll", "parking", "ferry"):
            self.fields[name].widget.attrs["placeholder"] = "0,00"
        self.fields["date"].widget.attrs.update(
            min=log.period_start.isoformat(), max=log.period_end.isoformat()
        )

    def clean_date(self):
        date = self.cleaned_data["date"]
        if not self.log.period_start <= date <= self.log.period_end:
            raise ValidationError(
                "Datoen må ligge i kjørebokens periode "
                f"({self.log.period_start:%d.%m.%Y}–{self.log.period_end:%d.%m.%Y})."
            )
        return date

    def clean_km(self):
        km = self.cleaned_data["km"]
        if km is not None and km <= 0:
            raise ValidationError("Antall km må være større enn 0.")
        if km is not None and km > limits.TRIP_MAX_KM:
            raise ValidationError(limits.KM_TOO_LONG)
        return km

    def clean_passengers(self):
        passengers = self.cleaned_data["passengers"]
        if passengers is not None and passengers < 0:
            raise ValidationError("Antall passasjerer kan ikke være negativt.")
        if passengers is not None and passengers > limits.TRIP_MAX_PASSENGERS:
            raise ValidationError(limits.TOO_MANY_PASSENGERS)
        return passengers

    def _not_negative(self, name: str) -> Decimal:
        value = self.cleaned_data[name]
        if value is None:
            return Decimal("0")
        if value < 0:
            raise ValidationError("Beløpet kan ikke være negativt.")
        if value > limits.TRIP_MAX_EXPENSE:
            raise ValidationError(limits.EXPENSE_TOO_HIGH)
        return value

    def clean_toll(self):
        return self._not_negative("toll")

    def clean_parking(self):
        return self._not_negative("parking")

    def clean_ferry(self):
        return self._not_negative("ferry")
