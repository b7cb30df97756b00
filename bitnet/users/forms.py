"""Forms of Administrasjon > Brukere.

Forms validate input and show Norwegian messages beside each field; the writes are done by
bitnet/users/services.py. The office choices come from the user's agency only.
"""

from typing import cast

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from bitnet.fields import MAX_INT, PositiveNumberField
from bitnet.models import Agency, Office, Role, User
from bitnet.users.services import USERNAME_TAKEN, employee_number_holder, employee_number_taken

EMPLOYEE_NUMBER_MESSAGE = "Ansettelsesnr. må være et positivt heltall."
EMPLOYEE_NUMBER_TOO_LARGE = (
    f"Ansettelsesnr. er for stort: høyst {MAX_INT}. Bruk nummeret fra kolonnen «Ansattnr.» "
    "under Brukere i PowerOffice."
)
EMPLOYEE_NUMBER_HELP = (
    "Samme nummer som i kolonnen «Ansattnr.» under Brukere i PowerOffice (alltid et heltall). "
    "Brukes når «Ta med Ansattnr ved eksport av fakturaer» er slått på under "
    "Administrasjon > Datadeling. La feltet stå tomt hvis brukeren ikke er ansatt i PowerOffice."
)

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


class _OfficeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Office) -> str:
        return f"{obj.name} ({obj.subgroup.name})"


class _UserFormBase(forms.ModelForm):
    employee_number = PositiveNumberField(
        label="Ansettelsesnr. (PowerOffice)",
        required=False,
        message=EMPLOYEE_NUMBER_MESSAGE,
        too_large=EMPLOYEE_NUMBER_TOO_LARGE,
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
        field_classes = {"office": _OfficeChoiceField}
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
        office = cast(forms.ModelChoiceField, self.fields["office"])
        office.queryset = (
            Office.objects.filter(agency=agency).select_related("subgroup").order_by("name")
        )
        office.empty_label = "— Ingen byrå —"
        cast(forms.ChoiceField, self.fields["role"]).choices = Role.choices

    def clean_employee_number(self) -> int | None:
        number = self.cleaned_data.get("employee_number")
        holder = employee_number_holder(
            agency_id=self.agency.pk, employee_number=number, exclude_id=self.instance.pk
        )
        if holder is not None:
            raise ValidationError(employee_number_taken(holder=holder))
        return number

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
