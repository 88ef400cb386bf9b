from __future__ import annotations

from django import forms

from supportdesk.organizations.models import Organization
from supportdesk.webhooks.events import EVENT_TYPES
from supportdesk.webhooks.models import WebhookSubscription


class SubscriptionForm(forms.Form):
    url = forms.URLField(label="Payload URL", assume_scheme="https")
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.all(),
        required=False,
        empty_label="All organizations (global, staff)",
        help_text="A subscription for one organization receives only its events.",
    )
    events = forms.MultipleChoiceField(
        choices=[("*", "Everything"), *EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
        initial=["*"],
    )
    format = forms.ChoiceField(choices=WebhookSubscription.Format.choices)
    description = forms.CharField(required=False, max_length=200)
