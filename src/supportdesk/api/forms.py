from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from supportdesk.accounts.models import Role, User
from supportdesk.api.models import Scope
from supportdesk.api.tokens import allowed_scopes
from supportdesk.organizations.models import Organization

EXPIRY_CHOICES = [(30, "30 days"), (90, "90 days"), (180, "180 days"), (365, "1 year")]


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What will use it, e.g. 'Grafana dashboard' or 'CRM sync'."
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[Scope.READ]
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires in", choices=EXPIRY_CHOICES, coerce=int, initial=90
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = allowed_scopes(user)
        scopes = self.fields["scopes"]
        assert isinstance(scopes, forms.MultipleChoiceField)
        scopes.choices = [c for c in Scope.choices if c[0] in allowed]

    def expires_at(self) -> dt.datetime:
        return timezone.now() + dt.timedelta(days=self.cleaned_data["expires_in_days"])


class IntegrationForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="e.g. 'Acme monitoring' or 'CRM sync'.")
    role = forms.ChoiceField(
        choices=[
            (Role.ORG_ADMIN.value, "Acts for a customer organization (org admin)"),
            (Role.CONTACT.value, "Acts as a customer contact"),
            (Role.AGENT.value, "Acts as an agent (all organizations)"),
        ],
        help_text="What it may see and do is what this role may.",
    )
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.all(), required=False, help_text="For customer roles."
    )
    description = forms.CharField(max_length=200, required=False)
