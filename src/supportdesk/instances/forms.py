from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms

from supportdesk.core.forms import LocalDateTimeField
from supportdesk.instances.models import AvailabilitySettings, IncidentStatus
from supportdesk.organizations.models import ManagedInstance


class WindowTimesForm(forms.Form):
    start = LocalDateTimeField(help_text="In your time zone")
    end = LocalDateTimeField()
    emergency = forms.BooleanField(
        required=False,
        label="Emergency maintenance",
        help_text="Allowed with less than 24 h notice or longer than 2 h, but it counts as "
        "downtime against the 99.5 % promise.",
    )
    emergency_reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Why it cannot wait"
    )

    def __init__(self, *args: Any, tz: zoneinfo.ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["start"].tz = tz  # type: ignore[attr-defined]
        self.fields["end"].tz = tz  # type: ignore[attr-defined]


class WindowProposeForm(WindowTimesForm):
    instance = forms.ModelChoiceField(queryset=ManagedInstance.objects.none())
    title = forms.CharField(max_length=200, help_text="What will be done, e.g. Upgrade to 6.1")
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Details (optional)"
    )
    field_order = ["instance", "title", "description", "start", "end", "emergency"]

    def __init__(self, *args: Any, instances: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["instance"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = instances


class CancelForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why it is cancelled")


class IncidentUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=IncidentStatus.choices)
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Update")


class MonitorForm(forms.Form):
    health_url = forms.URLField(
        required=False, max_length=200, assume_scheme="https", label="Health URL"
    )
    enabled = forms.BooleanField(required=False, label="Probe live")
    expected_status = forms.IntegerField(min_value=100, max_value=599)
    body_keyword = forms.CharField(required=False, max_length=200, label="Body must contain")
    timeout_seconds = forms.IntegerField(min_value=1, max_value=120, label="Timeout (s)")
    interval_seconds = forms.IntegerField(min_value=10, max_value=3600, label="Interval (s)")
    max_gap_seconds = forms.IntegerField(
        min_value=10, max_value=86_400, label="Max gap (s)", help_text="Default 3 × interval"
    )
    failures_to_down = forms.IntegerField(min_value=1, max_value=20, label="Failures to down")
    quorum = forms.IntegerField(min_value=1, max_value=10, label="Location quorum")


class AvailabilitySettingsForm(forms.ModelForm[AvailabilitySettings]):
    class Meta:
        model = AvailabilitySettings
        fields = ["time_zone", "target"]
        labels = {"time_zone": "Report time zone", "target": "Availability target"}
