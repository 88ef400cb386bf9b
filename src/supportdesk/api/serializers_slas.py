"""A ticket's SLA state and the SLA attainment report on the wire. The bodies are what
`supportdesk.slas.selectors.explain` (behind `supportdesk sla explain --json`) and
`supportdesk.slas.reports.attainment` (behind the console's reports page) return: these classes
only describe them for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from supportdesk.slas.models import ClockState, Metric, TicketSla
from supportdesk.slas.reports import DIMENSIONS, OUTCOMES, Group


class CalendarVersionSerializer(serializers.Serializer[Any]):
    effective_from = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()
    toml = serializers.CharField(help_text="The calendar's hours and holidays, as TOML.")


class SlaCalendarSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    is_24x7 = serializers.BooleanField()
    versions = CalendarVersionSerializer(many=True)


class SlaTargetSerializer(serializers.Serializer[Any]):
    metric = serializers.ChoiceField(choices=Metric.choices)
    state = serializers.ChoiceField(choices=ClockState.choices)
    warned = serializers.BooleanField(help_text="Staff: the warning was sent for this cycle.")
    calendar = serializers.CharField(allow_null=True)
    target = serializers.CharField(allow_null=True, help_text="The budget, e.g. '24h'.")
    start = serializers.DateTimeField(allow_null=True)
    pauses = serializers.ListField(
        child=serializers.ListField(
            child=serializers.DateTimeField(allow_null=True), min_length=2, max_length=2
        ),
        help_text="[begin, end] pairs; end null while paused.",
    )
    due = serializers.DateTimeField(allow_null=True)
    warn = serializers.DateTimeField(allow_null=True, help_text="Staff: when the warning fires.")
    met = serializers.DateTimeField(allow_null=True)
    breached = serializers.DateTimeField(allow_null=True)
    business_time_used = serializers.CharField(allow_null=True)
    left = serializers.CharField(help_text="'3h 20m left', '2d 4h overdue', or empty.")
    cycle = serializers.IntegerField()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "label" is also a Field attribute: add the field by name, in its place.
        fields = super().get_fields()
        ordered = {}
        for name, field in fields.items():
            ordered[name] = field
            if name == "metric":
                ordered["label"] = serializers.CharField(
                    help_text="e.g. 'First response', 'Promised update #2'."
                )
        return ordered


class SlaTimelineSerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField(allow_null=True)
    target = serializers.CharField()
    event = serializers.CharField()
    detail = serializers.CharField()
    due_before = serializers.DateTimeField(allow_null=True)
    due_after = serializers.DateTimeField(allow_null=True)


class TicketSlaSerializer(serializers.Serializer[Any]):
    ticket = serializers.IntegerField()
    subject = serializers.CharField()
    severity = serializers.IntegerField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    organization = serializers.CharField(allow_null=True)
    reported_at = serializers.DateTimeField(allow_null=True)
    policy = serializers.CharField(allow_null=True, help_text="null: no SLA (best effort).")
    rule = serializers.ChoiceField(choices=TicketSla.Rule.choices, allow_null=True)
    why = serializers.CharField(help_text="Why this policy applies, in words.")
    calendars = SlaCalendarSerializer(many=True)
    targets = SlaTargetSerializer(many=True, help_text="Every clock, commitments included.")
    next_event = serializers.DateTimeField(allow_null=True)
    timeline = SlaTimelineSerializer(many=True, help_text="Staff only (empty for customers).")


class AttainmentGroupSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    met = serializers.IntegerField()
    breached = serializers.IntegerField()
    running = serializers.IntegerField()
    paused = serializers.IntegerField()
    total = serializers.IntegerField()
    attainment = serializers.FloatField(
        allow_null=True, help_text="met / (met + breached); null when nothing is decided yet."
    )
    first_response_median_business_seconds = serializers.IntegerField(allow_null=True)
    first_response_p90_business_seconds = serializers.IntegerField(allow_null=True)
    resolution_median_business_seconds = serializers.IntegerField(allow_null=True)
    resolution_p90_business_seconds = serializers.IntegerField(allow_null=True)

    def to_representation(self, group: Group) -> dict[str, Any]:
        return {
            "key": group.key,
            **{o: group.counts[o] for o in OUTCOMES},
            "total": group.total,
            "attainment": group.attainment,
            "first_response_median_business_seconds": group.first_response_median,
            "first_response_p90_business_seconds": group.first_response_p90,
            "resolution_median_business_seconds": group.resolution_median,
            "resolution_p90_business_seconds": group.resolution_p90,
        }


class AttainmentReportSerializer(serializers.Serializer[Any]):
    group = serializers.ChoiceField(choices=list(DIMENSIONS.items()))
    group_label = serializers.CharField()
    months = serializers.IntegerField()
    groups = AttainmentGroupSerializer(many=True)
