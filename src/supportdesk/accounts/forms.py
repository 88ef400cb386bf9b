from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest

from supportdesk.accounts.models import User
from supportdesk.accounts.services import SignInRefused, sign_in


class SignInForm(forms.Form):
    email = forms.EmailField(
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True})
    )
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.request = request
        self.user: User | None = None
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "email" in data and "password" in data:
            try:
                self.user = sign_in(
                    request=self.request, email=data["email"], password=data["password"]
                )
            except SignInRefused as exc:
                raise forms.ValidationError(str(exc)) from None
        return data
