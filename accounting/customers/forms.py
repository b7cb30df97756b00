"""Forms of Økonomi > Kunder: the list filter and the customer form."""

from typing import cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from accounting.models import Customer, CustomerKind
from bitnet.fields import OrgNumberField
from bitnet.models import Subgroup


class CustomerFilterForm(forms.Form):
    q = forms.CharField(
        label="Søk",
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Navn, kundenr., org.nr. eller sted"}
        ),
    )
    subgroup = forms.ModelChoiceField(
        label="Undergruppe", queryset=Subgroup.objects.none(), required=False, empty_label="Alle"
    )
    kind = forms.ChoiceField(
        label="Type", required=False, choices=[("", "Alle"), *CustomerKind.choices]
    )

    def __init__(self, *args, subgroups: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["subgroup"]).queryset = subgroups

    def filters(self) -> dict:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return {
            "search": data.get("q") or "",
            "subgroup_id": data["subgroup"].pk if data.get("subgroup") else None,
            "kind": data.get("kind") or "",
        }


class CustomerForm(forms.Form):
    """Create or edit a customer. On edit, subgroup and number are fixed: invoices and KIDs
    already carry them."""

    kind = forms.ChoiceField(
        label="Type", choices=CustomerKind.choices, widget=forms.RadioSelect, initial="person"
    )
    subgroup = forms.ModelChoiceField(
        label="Undergruppe", queryset=Subgroup.objects.none(), empty_label=None
    )
    number = forms.IntegerField(
        label="Kundenummer",
        required=False,
        min_value=1,
        help_text="Tom: neste ledige nummer i undergruppens serie.",
    )
    name = forms.CharField(label="Navn", required=False, max_length=200)
    deceased_name = forms.CharField(
        label="Avdødes navn",
        required=False,
        max_length=180,
    )
    org_number = OrgNumberField(label="Organisasjonsnummer", required=False)
    email = forms.EmailField(label="E-post", required=False)
    phone = forms.CharField(label="Telefon", required=False, max_length=30)
    address = forms.CharField(label="Adresse", required=False, max_length=200)
    postal_code = forms.CharField(
        label="Postnummer",
        required=False,
        max_length=4,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "maxlength": "4", "pattern": "[0-9]{4}"}
        ),
    )
    city = forms.CharField(label="Poststed", required=False, max_length=100)

    def __init__(self, *args, subgroups: QuerySet, instance: Customer | None = None, **kwargs):
        self.instance = instance
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "kind": instance.kind,
                    "subgroup": instance.subgroup_id,
                    "number": instance.number,
                    "name": instance.name,
                    "deceased_name": instance.deceased_name,
                    "org_number": instance.org_number,
                    "email": instance.email,
                    "phone": instance.phone,
                    "address": instance.address,
                    "postal_code": instance.postal_code,
                    "city": instance.city,
                },
            )
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["subgroup"]).queryset = subgroups
        self.series = {
            str(sg.pk): f"{sg.customer_series_start}–{sg.customer_series_end}" for sg in subgroups
        }
        if len(self.series) == 1 and instance is None:
            (pk, series), *_ = self.series.items()
            self.fields["subgroup"].initial = int(pk)
            self.fields["number"].help_text = f"Tom: neste ledige nummer i serien {series}."
        if instance is not None:
            for name in ("subgroup", "number"):
                self.fields[name].disabled = True
                self.fields[name].required = False
            self.fields["number"].help_text = "Kundenummeret kan ikke endres."

    def clean_postal_code(self) -> str:
        value = self.cleaned_data["postal_code"].strip()
        if value and not (len(value) == 4 and value.isdigit()):
            raise ValidationError("Postnummer må være fire siffer.")
        return value

    def clean_number(self):
        number = self.cleaned_data.get("number")
        subgroup = self.cleaned_data.get("subgroup")
        if self.instance is not None or number is None or subgroup is None:
            return number
        if not subgroup.customer_series_start <= number <= subgroup.customer_series_end:
            raise ValidationError(
                f"Kundenummeret må ligge i serien {subgroup.customer_series_start}"
                f"–{subgroup.customer_series_end}."
            )
        if Customer.objects.filter(subgroup=subgroup, number=number).exists():
            raise ValidationError(f"Kundenummer {number} er allerede i bruk.")
        return number

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        name = (data.get("name") or "").strip()
        deceased = (data.get("deceased_name") or "").strip()
        if kind == CustomerKind.ESTATE:
            if not deceased:
                self.add_error("deceased_name", "Skriv avdødes navn for et dødsbo.")
            else:
                data["name"] = f"Dødsbo etter {deceased}"
        else:
            data["deceased_name"] = ""
            if not name:
                self.add_error("name", "Skriv kundens navn.")
        if (
            kind == CustomerKind.COMPANY
            and not data.get("org_number")
            and ("org_number" not in self.errors)
        ):
            self.add_error("org_number", "Organisasjonsnummer er påkrevd for en bedrift.")
        return data

    @property
    def customer_fields(self) -> dict:
        """The cleaned values a customer is written from (service keyword arguments)."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "name": data["name"],
            "deceased_name": data.get("deceased_name", ""),
            "org_number": data.get("org_number", ""),
            "email": data.get("email", ""),
            "phone": data.get("phone", ""),
            "address": data.get("address", ""),
            "postal_code": data.get("postal_code", ""),
            "city": data.get("city", ""),
        }
