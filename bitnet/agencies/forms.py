"""Forms of Administrasjon > Brukere and Administrasjon > Byrå.

Forms validate input and show Norwegian messages beside each field; the writes are done by
bitnet/services_users.py. Every choice (offices, subgroups) comes from the user's agency only.
"""

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.html import format_html

from bitnet import hooks
from bitnet.models import Agency, Office, Role, Subgroup, User
from bitnet.users.services import USERNAME_TAKEN, subgroup_number_series_errors

EMPLOYEE_NUMBER_MESSAGE = "Ansettelsesnr. må være et positivt heltall."
EMPLOYEE_NUMBER_HELP = (
    "Samme nummer som i kolonnen «Ansattnr.» under Brukere i PowerOffice (alltid et heltall). "
    "Brukes når «Ta med Ansattnr ved eksport av fakturaer» er slått på under "
    "Administrasjon > Datadeling. La feltet stå tomt hvis brukeren ikke er ansatt i PowerOffice."
)
DEPARTMENTS_MISSING_HELP = "Synkroniser avdelinger under Administrasjon > Datadeling først"
DATADELING_URL = "/administrasjon/datadeling/"
# PositiveIntegerField's upper bound in PostgreSQL.
MAX_INT = 2_147_483_647

# Django's password validators, in Norwegian by error code (its own nb catalogue lacks some).
PASSWORD_MESSAGES = {
    "password_too_short": "Passordet er for kort. Det må ha minst {min_length} tegn.",
    "password_too_common": "Passordet er for vanlig. Velg et annet.",
    "password_too_similar": "Passordet ligner for mye på brukernavnet, navnet eller e-posten.",
    "password_entirely_numeric": "Passordet kan ikke bare bestå av tall.",
}


def _norwegian_password_errors(exc: ValidationError) -> list[str]:
    messages = []
    for error in exc.error_list:
        template = PASSWORD_MESSAGES.get(error.code or "")
        if template is None:
            messages.extend(error.messages)
        else:
            messages.append(template.format(**(error.params or {})))
    return messages


class PositiveNumberField(forms.IntegerField):
    """A whole number >= 1 typed as text, one Norwegian message for every kind of bad input."""

    def __init__(self, *, message: str, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_INT)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})
        )
        super().__init__(**kwargs)
        for code in ("invalid", "min_value", "max_value", "step_size"):
            self.error_messages[code] = message


# Brukere


class _UserFormBase(forms.ModelForm):
    employee_number = PositiveNumberField(
        label="Ansettelsesnr. (PowerOffice)",
        required=False,
        message=EMPLOYEE_NUMBER_MESSAGE,
        help_text=EMPLOYEE_NUMBER_HELP,
    )

    class Meta:
        model = User
        fields = [
            "first_name",
            "last_name",
            "email",
            "role",
            "office",
            "employee_number",
            "is_active",
        ]
        labels = {
            "first_name": "Fornavn",
            "last_name": "Etternavn",
            "email": "E-post",
            "role": "Rolle",
            "office": "Byrå",
            "is_active": "Aktiv",
        }
        help_texts = {
            "role": "Administrator har tilgang til alt i etaten, Økonomi til fakturaer og kunder, "
            "Lønn til lønnseksport og lønnskoder.",
            "office": "Kontoret brukeren hører til.",
            "is_active": "Inaktive brukere kan ikke logge inn.",
        }
        error_messages = {
            "email": {"invalid": "Skriv inn en gyldig e-postadresse."},
            "office": {"invalid_choice": "Velg et byrå fra listen."},
            "role": {"invalid_choice": "Velg en rolle fra listen."},
        }

    def __init__(self, *args, agency: Agency, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency
        office = self.fields["office"]
        office.queryset = (
            Office.objects.filter(agency=agency).select_related("subgroup").order_by("name")
        )
        office.empty_label = "— Ingen byrå —"
        office.label_from_instance = lambda o: f"{o.name} ({o.subgroup.name})"
        self.fields["role"].choices = Role.choices

    def _check_password_pair(self, first: str, second: str, *, required: bool) -> str | None:
        p1 = self.cleaned_data.get(first) or ""
        p2 = self.cleaned_data.get(second) or ""
        if required and (first in self.errors or second in self.errors):
            return None  # "Skriv inn et passord." / "Gjenta passordet." already stand there
        if not p1 and not p2:
            return None
        if p1 != p2:
            self.add_error(second, "Passordene er ikke like.")
            return None
        candidate = User(
            username=self.cleaned_data.get("username") or self.instance.username,
            first_name=self.cleaned_data.get("first_name", ""),
            last_name=self.cleaned_data.get("last_name", ""),
            email=self.cleaned_data.get("email", ""),
        )
        try:
            password_validation.validate_password(p1, user=candidate)
        except ValidationError as exc:
            for message in _norwegian_password_errors(exc):
                self.add_error(first, message)
            return None
        return p1


class UserCreateForm(_UserFormBase):
    password1 = forms.CharField(
        label="Passord",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "Skriv inn et passord."},
        help_text="Minst 8 tegn, ikke et vanlig passord og ikke likt brukernavnet.",
    )
    password2 = forms.CharField(
        label="Gjenta passord",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        error_messages={"required": "Gjenta passordet."},
    )

    class Meta(_UserFormBase.Meta):
        fields = ["username", *_UserFormBase.Meta.fields]
        labels = {**_UserFormBase.Meta.labels, "username": "Brukernavn"}
        help_texts = {
            **_UserFormBase.Meta.help_texts,
            "username": "Brukes ved innlogging. Bokstaver, tall og tegnene @ . + - _",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "off", "autofocus": True})

    def clean_username(self) -> str:
        username = (self.cleaned_data.get("username") or "").strip()
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(USERNAME_TAKEN)
        return username

    def clean(self):
        cleaned = super().clean()
        cleaned["password"] = self._check_password_pair("password1", "password2", required=True)
        return cleaned


class UserUpdateForm(_UserFormBase):
    new_password1 = forms.CharField(
        label="Nytt passord",
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="La feltene stå tomme for å beholde passordet.",
    )
    new_password2 = forms.CharField(
        label="Gjenta nytt passord",
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, acting_user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.acting_user = acting_user

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk == self.acting_user.pk:
            # An administrator must not lock themselves out of Administrasjon.
            if "role" in cleaned and cleaned["role"] != Role.ADMINISTRATOR:
                self.add_error("role", "Du kan ikke fjerne din egen administratorrolle.")
            if "is_active" in cleaned and not cleaned["is_active"]:
                self.add_error("is_active", "Du kan ikke deaktivere din egen bruker.")
        cleaned["password"] = self._check_password_pair(
            "new_password1", "new_password2", required=False
        )
        return cleaned


# Byrå: subgroups' number series and offices


def _series_field(label: str, help_text: str = "") -> PositiveNumberField:
    return PositiveNumberField(
        label=label, message="Skriv inn et positivt heltall.", help_text=help_text
    )


class SubgroupSeriesForm(forms.ModelForm):
    """The invoice and customer number series of one subgroup."""

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

    class Meta:
        model = Subgroup
        fields = [
            "invoice_series_start",
            "invoice_series_end",
            "next_invoice_number",
            "customer_series_start",
            "customer_series_end",
            "next_customer_number",
        ]

    def clean(self):
        cleaned = super().clean()
        if all(cleaned.get(name) is not None for name in self.Meta.fields):
            values = {name: cleaned[name] for name in self.Meta.fields}
            for field, message in subgroup_number_series_errors(
                subgroup=self.instance, **values
            ).items():
                self.add_error(field, message)
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
        subgroups = Subgroup.objects.filter(agency=agency).order_by("name")
        self.fields["subgroup"].queryset = subgroups
        self.fields["subgroup"].empty_label = None if subgroups.count() == 1 else "— Velg —"
        self.subgroup_id = self._selected_subgroup_id(subgroups)
        self.department_choices = (
            list(hooks.department_choices(self.subgroup_id)) if self.subgroup_id else []
        )
        field = self.fields["external_department_code"]
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
                '{}. <a href="{}">Gå til Datadeling</a>', DEPARTMENTS_MISSING_HELP, DATADELING_URL
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
        return {
            str(pk): list(hooks.department_choices(pk))
            for pk in self.fields["subgroup"].queryset.values_list("pk", flat=True)
        }
