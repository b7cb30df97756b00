"""The login form, with messages in plain Norwegian."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label="Brukernavn",
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
        error_messages={"required": "Skriv inn brukernavnet ditt."},
    )
    password = forms.CharField(
        label="Passord",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Skriv inn passordet ditt."},
    )
    error_messages = {
        "invalid_login": (
            "Feil brukernavn eller passord. Kontroller at du har skrevet riktig brukernavn og "
            "passord (store og små bokstaver teller)."
        ),
        "inactive": "Brukeren er deaktivert. Kontakt etatens administrator.",
    }
