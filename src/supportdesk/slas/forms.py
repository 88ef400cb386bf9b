from __future__ import annotations

import zoneinfo
from decimal import Decimal
from typing import Any

from django import forms

from supportdesk.accounts.models import Role, User
from supportdesk.core.forms import LocalDateTimeField
from supportdesk.organizations.models import Contract
from supportdesk.slas.models import TARGET_METRICS, Calendar, SlaPolicy
from supportdesk.slas.policies import CONTRACT_PLANS, TargetSpec
from supportdesk.slas.reports import DIMENSIONS

SEVERITIES = (1, 2)


class CalendarForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False)
    toml = forms.CharField(
        label="Hours (TOML)",
        widget=forms.Textarea(attrs={"rows": 16, "class": "mono", "spellcheck": "false"}),
        required=False,
        help_text="The engine's calendar format: timezone, [hours] per weekday, [holidays]. "
        "Saving takes effect now: time already used on open tickets stays used.",
    )
    upload = forms.FileField(
        label="…or import a TOML file", required=False, help_text="Replaces the text above."
    )
    note = forms.CharField(max_length=200, required=False, help_text="Why (kept with the version)")
    whatif_months = forms.IntegerField(
        label="Replay the last … months", min_value=1, max_value=24, initial=3, required=False
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:  # the name stays; an edit is new hours
            del self.fields["name"]
            del self.fields["description"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("upload")
        if upload:
            try:
                data["toml"] = upload.read(200_000).decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("upload", "The file is not UTF-8 text.")
        if not (data.get("toml") or "").strip() and not self.errors:
            self.add_error("toml", "Give the calendar's hours (or import a file).")
        return data


def _hours_field(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=Decimal("0.01"),
        max_digits=7,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "any", "class": "narrow"}),
    )


class PolicyForm(forms.Form):
    """A policy with its targets: hours (empty: no timer) and a calendar per severity and metric."""

    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False)
    warn_at_percent = forms.IntegerField(
        label="Warn at % of target",
        min_value=0,
        max_value=99,
        initial=75,
        help_text="0: no percentage warning",
    )
    warn_minutes_before = forms.IntegerField(
        label="…or business minutes before",
        min_value=0,
        initial=60,
        help_text="Whichever comes first; 0: off",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    whatif_months = forms.IntegerField(
        label="Replay the last … months", min_value=1, max_value=24, initial=3, required=False
    )

    def __init__(self, *args: Any, contracts: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        calendars = Calendar.objects.order_by("name")
        if contracts:
            taken = SlaPolicy.objects.filter(contract__isnull=False).values("contract_id")
            self.fields["contract"] = forms.ModelChoiceField(
                queryset=Contract.objects.filter(organization__plan__in=CONTRACT_PLANS)
                .exclude(pk__in=taken)
                .select_related("organization"),
                help_text="Enterprise Plus and Elite organizations' contracts without a policy",
            )
        self.rows: list[tuple[int, str, str, str]] = []
        for severity in SEVERITIES:
            for metric in TARGET_METRICS:
                hours, calendar = f"h_{severity}_{metric}", f"c_{severity}_{metric}"
                self.fields[hours] = _hours_field(f"Sev {severity} {metric.label} (h)")
                self.fields[calendar] = forms.ModelChoiceField(
                    queryset=calendars, required=False, label="Calendar", empty_label="—"
                )
                self.rows.append((severity, str(metric.label), hours, calendar))

    @staticmethod
    def initial_for(policy: SlaPolicy) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": policy.name,
            "description": policy.description,
            "warn_at_percent": policy.warn_at_percent,
            "warn_minutes_before": policy.warn_minutes_before,
            "is_active": policy.is_active,
        }
        for t in policy.targets.all():
            initial[f"h_{t.severity}_{t.metric}"] = Decimal(t.target_seconds) / 3600
            initial[f"c_{t.severity}_{t.metric}"] = t.calendar_id
        return initial

    def row_fields(self) -> list[tuple[int, str, forms.BoundField, forms.BoundField]]:
        return [(s, label, self[h], self[c]) for s, label, h, c in self.rows]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for severity in SEVERITIES:
            for metric in TARGET_METRICS:
                hours = data.get(f"h_{severity}_{metric}")
                if hours is not None and data.get(f"c_{severity}_{metric}") is None:
                    self.add_error(f"c_{severity}_{metric}", "Choose the calendar for this target.")
        return data

    def targets(self) -> list[TargetSpec]:
        specs = []
        for severity in SEVERITIES:
            for metric in TARGET_METRICS:
                hours = self.cleaned_data.get(f"h_{severity}_{metric}")
                seconds = None if hours is None else round(hours * 3600)
                calendar = self.cleaned_data.get(f"c_{severity}_{metric}")
                specs.append(TargetSpec(severity, str(metric), seconds, calendar))
        return specs


class ShiftForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.filter(role__in=[Role.AGENT, Role.LEAD], is_active=True),
        label="Who",
    )
    starts_at = LocalDateTimeField(label="From")
    ends_at = LocalDateTimeField(label="Until")
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, tz: zoneinfo.ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("starts_at", "ends_at"):
            field = self.fields[name]
            assert isinstance(field, LocalDateTimeField)
            field.tz = tz


class ReportForm(forms.Form):
    group = forms.ChoiceField(choices=list(DIMENSIONS.items()), initial="metric", required=False)
    months = forms.IntegerField(min_value=1, max_value=36, initial=6, required=False)
