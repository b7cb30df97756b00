"""Min profil: what each user decides for themselves (e-mail alerts)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render

from bitnet.access import AuthedRequest
from bitnet.models import User


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["alerts_enabled"]
        help_texts = {
            "alerts_enabled": "Administratorer, økonomi- og lønnsbrukere får høyst én e-post om "
            "dagen per type når noe i PowerOffice-integrasjonen som de kan rette, må rettes "
            "av en person.",
        }


@login_required
def profile(request: AuthedRequest) -> HttpResponseBase:
    data = request.POST if request.method == "POST" else None
    form = ProfileForm(data, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Profilen er lagret.")
        return redirect("profile")
    return render(request, "bitnet/users/profile.html", {"form": form})
