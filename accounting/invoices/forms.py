"""Forms of Økonomi > Fakturaer: the list filter, a new invoice with its lines, a credit note."""

import datetime as dt
from decimal import Decimal
from typing import cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.formsets import DELETION_FIELD_NAME

from accounting.models import (
    Article,
    Customer,
    ExportStatus,
    InvoiceKind,
    PaymentStatus,
)
from bitnet.fields import NorwegianDecimalField
from bitnet.models import Office, Subgroup

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
# "Ukjent" is the empty string in PaymentStatus; the filter needs its own value for it.
PAYMENT_UNKNOWN = "unknown"


class InvoiceFilterForm(forms.Form):
    q = forms.CharField(
        label="Søk",
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Nummer, kunde, avdøde eller KID"}
        ),
    )
    subgroup = forms.ModelChoiceField(
        label="Undergruppe", queryset=Subgroup.objects.none(), required=False, empty_label="Alle"
    )
    office = forms.ModelChoiceField(
        label="Byrå", queryset=Office.objects.none(), required=False, empty_label="Alle"
    )
    kind = forms.ChoiceField(
        label="Type", required=False, choices=[("", "Alle"), *InvoiceKind.choices]
    )
    export_status = forms.ChoiceField(
        label="Eksportstatus", required=False, choices=[("", "Alle"), *ExportStatus.choices]
    )
    payment_status = forms.ChoiceField(
        label="Betalingsstatus",
        required=False,
        choices=[
            ("", "Alle"),
            *[(v or PAYMENT_UNKNOWN, label) for v, label in PaymentStatus.choices],
        ],
    )
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
            # The period is dropped as a whole, so the list stays as it was.
            self.add_error("date_from", "Fra dato kan ikke være etter til dato.")
            data.pop("date_to", None)
        return data

    def filters(self) -> dict:
        """Selector arguments from the valid fields; an invalid field filters nothing."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        payment = data.get("payment_status") or None
        if payment == PAYMENT_UNKNOWN:
            payment = ""
        return {
            "search": data.get("q") or "",
            "subgroup_id": data["subgroup"].pk if data.get("subgroup") else None,
            "office_id": data["office"].pk if data.get("office") else None,
            "kind": data.get("kind") or "",
            "export_status": data.get("export_status") or "",
            "payment_status": payment,
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
        }


class CustomerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Customer) -> str:
        return f"{obj.number} – {obj.name}"


class OfficeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Office) -> str:
        return f"{obj.name} ({obj.subgroup.name})"


class InvoiceForm(forms.Form):
    office = OfficeChoiceField(
        label="Byrå",
        queryset=Office.objects.none(),
        empty_label=None,
        error_messages={"required": "Velg et byrå.", "invalid_choice": "Velg et byrå fra listen."},
    )
    customer = CustomerChoiceField(
        label="Kunde",
        queryset=Customer.objects.none(),
        empty_label="Velg kunde …",
        error_messages={
            "required": "Velg en kunde.",
            "invalid_choice": "Velg en kunde fra listen.",
        },
    )
    invoice_date = forms.DateField(label="Fakturadato", widget=DATE_WIDGET)
    due_date = forms.DateField(
        label="Forfallsdato",
        required=False,
        widget=DATE_WIDGET,
        help_text="Tom: fakturadato pluss undergruppens betalingsfrist.",
    )
    our_reference = forms.CharField(label="Vår referanse", required=False, max_length=200)
    their_reference = forms.CharField(label="Deres referanse", required=False, max_length=200)
    deceased_name = forms.CharField(label="Avdøde", required=False, max_length=200)
    note = forms.CharField(
        label="Merknad", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, offices: QuerySet, customers: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["office"]).queryset = offices.select_related(
            "subgroup"
        )
        cast(forms.ModelChoiceField, self.fields["customer"]).queryset = customers.select_related(
            "subgroup"
        )

    def clean(self):
        data = super().clean()
        office, customer = data.get("office"), data.get("customer")
        if office and customer and customer.subgroup_id != office.subgroup_id:
            self.add_error(
                "customer",
                f"Kunden hører til undergruppen {customer.subgroup.name}, men byrået "
                f"{office.name} hører til {office.subgroup.name}. Velg en kunde i byråets "
                "undergruppe.",
            )
        invoice_date, due_date = data.get("invoice_date"), data.get("due_date")
        if invoice_date and due_date and due_date < invoice_date:
            self.add_error("due_date", "Forfallsdato kan ikke være før fakturadato.")
        if office and invoice_date and not due_date and "due_date" not in self.errors:
            data["due_date"] = invoice_date + dt.timedelta(days=office.subgroup.payment_terms_days)
        return data


class ArticleChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Article) -> str:
        return obj.name


class InvoiceLineForm(forms.Form):
    article = ArticleChoiceField(
        label="Vare",
        queryset=Article.objects.none(),
        empty_label="Velg vare …",
        widget=forms.Select(attrs={"aria-label": "Vare"}),
        error_messages={"required": "Velg en vare.", "invalid_choice": "Velg en vare fra listen."},
    )
    description = forms.CharField(
        label="Beskrivelse",
        required=False,
        max_length=300,
        help_text="Tom: varens navn.",
        widget=forms.TextInput(attrs={"placeholder": "Varens navn", "aria-label": "Beskrivelse"}),
    )
    quantity = NorwegianDecimalField(
        label="Antall",
        max_digits=12,
        decimal_places=3,
        initial=Decimal("1"),
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "class": "num", "aria-label": "Antall"}
        ),
    )
    unit_price = NorwegianDecimalField(
        label="Pris eks. mva",
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text="Tom: varens pris.",
        widget=forms.TextInput(
            attrs={
                "inputmode": "decimal",
                "class": "num",
                "aria-label": "Pris eks. mva",
                "placeholder": "Varens pris",
            }
        ),
    )

    def __init__(self, *args, articles: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["article"]).queryset = articles

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if quantity is not None and quantity <= 0:
            # Negative quantities only exist on credit notes (made by "Krediter").
            raise ValidationError("Antall må være større enn 0 på en faktura.")
        return quantity

    def clean_unit_price(self):
        price = self.cleaned_data["unit_price"]
        if price is not None and price < 0:
            raise ValidationError("Prisen kan ikke være negativ.")
        return price


class BaseInvoiceLineFormSet(forms.BaseFormSet):
    def __init__(self, *args, articles: QuerySet, **kwargs):
        self.articles = articles
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {"articles": self.articles}

    def clean(self):
        if any(self.errors):
            return
        if not self.line_data():
            raise ValidationError("En faktura må ha minst én linje.", code="too_few_forms")

    def line_data(self) -> list[dict]:
        """The lines typed in and not ticked for deletion (call once the forms are valid)."""
        return [
            form.cleaned_data
            for form in self.forms
            if form.has_changed() and not form.cleaned_data.get(DELETION_FIELD_NAME, False)
        ]


# formset_factory makes a subclass of the formset it is given; its stub says only BaseFormSet.
InvoiceLineFormSet = cast(
    type[BaseInvoiceLineFormSet],
    forms.formset_factory(
        InvoiceLineForm, formset=BaseInvoiceLineFormSet, extra=1, can_delete=True
    ),
)


class CreditNoteForm(forms.Form):
    invoice_date = forms.DateField(label="Dato for kreditnota", widget=DATE_WIDGET)
    note = forms.CharField(
        label="Merknad",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Tom: «Kreditering av faktura <nummer>».",
    )
