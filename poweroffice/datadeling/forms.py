"""Forms of Administrasjon > Datadeling (labels from the manual)."""

from django import forms

from poweroffice.models import Connection


class DatadelingForm(forms.Form):
    """One subgroup's PowerOffice settings. The client key is write-only: never rendered back."""

    enabled = forms.BooleanField(label="PowerOffice som regnskapssystem", required=False)
    client_key = forms.CharField(
        label="Klientnøkkel",
        required=False,
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(
            render_value=False,
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "autocapitalize": "off",
                "data-lpignore": "true",
                "class": "mono",
            },
        ),
    )
    include_employee_number = forms.BooleanField(
        label="Ta med Ansattnr ved eksport av fakturaer",
        required=False,
        help_text="Ansattnr. legges inn for hver ansatt under Administrasjon > Brukere "
        "(«Ansettelsesnr. (PowerOffice)»), og er alltid et heltall.",
    )
    auto_export = forms.BooleanField(
        label="Eksporter automatisk nye fakturaer til PowerOffice",
        required=False,
        help_text="Fakturaer som ikke kan eksporteres havner under Økonomi > Ikke eksporterte "
        "fakturaer.",
    )
    include_specification = forms.BooleanField(
        label="Send med fakturaspesifikasjon ved eksport til PowerOffice",
        required=False,
        help_text="En kopi av fakturaspesifikasjonen (PDF) legges ved bilaget, men ikke selve "
        "fakturaen.",
    )
    include_department = forms.BooleanField(
        label="Send med avdeling for fakturaer",
        required=False,
        help_text="Avdeling settes for hvert byrå under Administrasjon > Byrå "
        "(«Ekstern avdeling»).",
    )

    OPTION_FIELDS = (
        "include_employee_number",
        "auto_export",
        "include_specification",
        "include_department",
    )

    def __init__(self, *args, connection: Connection, **kwargs) -> None:
        self.connection = connection
        kwargs.setdefault(
            "initial",
            {
                "enabled": connection.enabled,
                **{name: getattr(connection, name) for name in self.OPTION_FIELDS},
            },
        )
        kwargs.setdefault("prefix", f"sg{connection.subgroup_id}")
        super().__init__(*args, **kwargs)
        if connection.has_client_key:
            self.fields["client_key"].widget.attrs["placeholder"] = (
                "Lim inn en ny klientnøkkel for å erstatte den lagrede"
            )
        else:
            self.fields["client_key"].widget.attrs["placeholder"] = (
                "Lim inn klientnøkkelen fra PowerOffice"
            )

    def clean_client_key(self) -> str:
        key = self.cleaned_data.get("client_key") or ""
        if any(ch.isspace() for ch in key):
            raise forms.ValidationError(
                "Klientnøkkelen kan ikke inneholde mellomrom eller linjeskift. Kopier den på nytt "
                "fra PowerOffice."
            )
        return key

    def option_fields(self):
        return [self[name] for name in self.OPTION_FIELDS]
