"""Managed instances, maintenance windows, incidents and availability reports on the wire.

Each serializer declares its fields for the OpenAPI document and builds the body by hand from
what the instances services and selectors return (the same data as the console and the portal)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rest_framework import serializers

from supportdesk.api.serializers import (
    ComplianceSerializer,
    OrganizationRefSerializer,
    UserRefSerializer,
    _iso,
    organization_ref,
    user_ref,
)
from supportdesk.availability import ComplianceVerdict
from supportdesk.instances.maintenance import verdict_of
from supportdesk.instances.models import (
    Incident,
    IncidentStatus,
    IncidentUpdate,
    MaintenanceWindow,
    Monitor,
    MonitorStatus,
    WindowStatus,
)
from supportdesk.instances.reports import OrganizationReport, report_rows
from supportdesk.organizations.models import ManagedInstance


def window_etag(window: MaintenanceWindow) -> str:
    """Changes whenever the window does for a client: a new announcement (sequence) or a step."""
    return f'"{window.sequence}.{window.status}"'


def compliance_data(verdict: ComplianceVerdict) -> dict[str, Any]:
    return {
        "compliant": verdict.compliant,
        "explanation": verdict.explain(),
        "earliest_compliant_start": _iso(verdict.earliest_compliant_start),
        "announced_at": _iso(verdict.window.announced_at),
    }


class InstanceRefSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    url = serializers.CharField()


def instance_ref(instance: ManagedInstance) -> dict[str, Any]:
    return {"name": instance.name, "url": instance.url}


class HealthSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=MonitorStatus.choices)
    since = serializers.DateTimeField(allow_null=True)
    monitored = serializers.BooleanField(help_text="Whether a health check probes the instance.")


class InstanceSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    url = serializers.CharField()
    product_version = serializers.CharField()
    organization = OrganizationRefSerializer()
    health = HealthSerializer()
    created_at = serializers.DateTimeField()
    api_url = serializers.CharField()

    def to_representation(self, instance: ManagedInstance) -> dict[str, Any]:
        try:
            monitor: Monitor | None = instance.monitor
        except Monitor.DoesNotExist:
            monitor = None
        return {
            "name": instance.name,
            "url": instance.url,
            "product_version": instance.product_version,
            "organization": organization_ref(instance.organization),
            "health": {
                "status": monitor.status if monitor else MonitorStatus.UNKNOWN.value,
                "since": _iso(monitor.status_since) if monitor else None,
                "monitored": bool(monitor and monitor.enabled),
            },
            "created_at": _iso(instance.created_at),
            "api_url": f"/api/v1/instances/{instance.name}/",
        }


class WindowSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    uid = serializers.UUIDField()
    instance = InstanceRefSerializer()
    organization = OrganizationRefSerializer()
    title = serializers.CharField()
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=WindowStatus.choices)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    duration_seconds = serializers.IntegerField()
    emergency = serializers.BooleanField()
    emergency_reason = serializers.CharField()
    awaiting = serializers.ChoiceField(
        choices=[("customer", "customer"), ("support", "support"), ("either", "either")],
        allow_null=True,
        help_text="A proposal waits for the other side: the customer's org admin or support.",
    )
    proposed_by = UserRefSerializer(allow_null=True)
    proposed_at = serializers.DateTimeField()
    confirmed_by = UserRefSerializer(allow_null=True)
    announced_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was confirmed: compliance is judged at this instant."
    )
    compliance = ComplianceSerializer(
        help_text="As announced; for a proposal, as if it were confirmed now."
    )
    cancelled_by = UserRefSerializer(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    overran_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    sequence = serializers.IntegerField(help_text="The announcement's number (iCal SEQUENCE).")
    url = serializers.CharField()

    def to_representation(self, window: MaintenanceWindow) -> dict[str, Any]:
        now: dt.datetime | None = self.context.get("now")
        awaiting = None
        if window.status == WindowStatus.PROPOSED:
            proposer = window.proposed_by
            awaiting = (
                "either" if proposer is None else "customer" if proposer.is_staff else "support"
            )
        return {
            "id": window.pk,
            "uid": str(window.uid),
            "instance": instance_ref(window.instance),
            "organization": organization_ref(window.organization),
            "title": window.title,
            "description": window.description,
            "status": window.status,
            "start": _iso(window.start),
            "end": _iso(window.end),
            "duration_seconds": int(window.duration.total_seconds()),
            "emergency": window.emergency,
            "emergency_reason": window.emergency_reason,
            "awaiting": awaiting,
            "proposed_by": user_ref(window.proposed_by),
            "proposed_at": _iso(window.proposed_at),
            "confirmed_by": user_ref(window.confirmed_by),
            "announced_at": _iso(window.announced_at),
            "compliance": compliance_data(verdict_of(window, now=now)),
            "cancelled_by": user_ref(window.cancelled_by),
            "cancelled_at": _iso(window.cancelled_at),
            "cancel_reason": window.cancel_reason,
            "started_at": _iso(window.started_at),
            "overran_at": _iso(window.overran_at),
            "completed_at": _iso(window.completed_at),
            "sequence": window.sequence,
            "url": f"/api/v1/maintenance/{window.pk}/",
        }


class WindowProposeSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=200, help_text="What the maintenance is for.")
    description = serializers.CharField(
        max_length=20_000, required=False, default="", allow_blank=True
    )
    start = serializers.DateTimeField(help_text="With its time zone, e.g. 2026-12-01T02:00:00Z.")
    end = serializers.DateTimeField(help_text="At most 2 hours after start to be compliant.")
    emergency = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Schedule a non-compliant window anyway (it counts as downtime).",
    )
    emergency_reason = serializers.CharField(
        max_length=2_000,
        required=False,
        default="",
        allow_blank=True,
        help_text="Required with emergency: the customer reads it.",
    )


class WindowRescheduleSerializer(serializers.Serializer[Any]):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    emergency = serializers.BooleanField(required=False, default=False)
    emergency_reason = serializers.CharField(
        max_length=2_000, required=False, default="", allow_blank=True
    )


class WindowCancelSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        max_length=2_000, help_text="Why it is cancelled; the customer reads it."
    )


class IncidentUpdateSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=IncidentStatus.choices)
    message = serializers.CharField()
    author = UserRefSerializer(allow_null=True)
    is_automatic = serializers.BooleanField()
    created_at = serializers.DateTimeField()

    def to_representation(self, update: IncidentUpdate) -> dict[str, Any]:
        return {
            "status": update.status,
            "message": update.message,
            "author": user_ref(update.author),
            "is_automatic": update.is_automatic,
            "created_at": _iso(update.created_at),
        }


class IncidentSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Incident.Kind.choices)
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=IncidentStatus.choices)
    instance = InstanceRefSerializer()
    organization = OrganizationRefSerializer()
    started_at = serializers.DateTimeField()
    recovered_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    ticket = serializers.IntegerField(
        allow_null=True, help_text="The Sev 1 ticket opened for it (its number)."
    )
    maintenance_window = serializers.IntegerField(
        allow_null=True, help_text="The window whose overrun opened it."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    url = serializers.CharField()

    def to_representation(self, incident: Incident) -> dict[str, Any]:
        return {
            "id": incident.pk,
            "kind": incident.kind,
            "title": incident.title,
            "status": incident.status,
            "instance": instance_ref(incident.instance),
            "organization": organization_ref(incident.organization),
            "started_at": _iso(incident.started_at),
            "recovered_at": _iso(incident.recovered_at),
            "resolved_at": _iso(incident.resolved_at),
            "ticket": incident.ticket.number if incident.ticket else None,
            "maintenance_window": incident.maintenance_window_id,
            "created_at": _iso(incident.created_at),
            "updated_at": _iso(incident.updated_at),
            "url": f"/api/v1/incidents/{incident.pk}/",
        }


class IncidentDetailSerializer(IncidentSerializer):
    updates = IncidentUpdateSerializer(many=True, help_text="Oldest first.")

    def to_representation(self, incident: Incident) -> dict[str, Any]:
        body = super().to_representation(incident)
        update = IncidentUpdateSerializer()
        body["updates"] = [
            update.to_representation(u)
            for u in incident.updates.select_related("author").order_by("created_at", "id")
        ]
        return body


class IncidentCreateSerializer(serializers.Serializer[Any]):
    instance = serializers.SlugField(help_text="The instance's name.")
    title = serializers.CharField(max_length=200)
    message = serializers.CharField(max_length=20_000, help_text="What is happening.")
    started_at = serializers.DateTimeField(
        required=False, help_text="When it went down (default: now); not in the future."
    )


class IncidentPostSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=IncidentStatus.choices)
    message = serializers.CharField(
        max_length=20_000, help_text="The update the customer reads (also a reply on the ticket)."
    )


# ---------------------------------------------------------------------------------------------
# Availability


class FiguresSerializer(serializers.Serializer[Any]):
    raw_availability = serializers.FloatField(
        allow_null=True, help_text="Up time / known time (null: no data)."
    )
    sla_availability = serializers.FloatField(
        allow_null=True, help_text="Compliant maintenance excluded: what the 99.5 % is about."
    )
    period_seconds = serializers.IntegerField()
    known_seconds = serializers.IntegerField()
    unknown_seconds = serializers.IntegerField()
    eligible_seconds = serializers.IntegerField()
    in_compliant_windows_seconds = serializers.IntegerField()
    down_seconds = serializers.IntegerField()
    downtime_seconds = serializers.IntegerField()
    maintenance_seconds = serializers.IntegerField()
    budget_seconds = serializers.FloatField()
    budget_remaining_seconds = serializers.FloatField()


class OutageSerializer(serializers.Serializer[Any]):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    downtime_seconds = serializers.IntegerField()
    maintenance_seconds = serializers.IntegerField()


class ReportWindowSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    title = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    emergency = serializers.BooleanField()
    compliant = serializers.BooleanField()
    explanation = serializers.CharField()


class InstanceAvailabilitySerializer(serializers.Serializer[Any]):
    instance = InstanceRefSerializer()
    figures = FiguresSerializer()
    outages = OutageSerializer(many=True)
    maintenance = ReportWindowSerializer(many=True)


class AvailabilityReportSerializer(serializers.Serializer[Any]):
    organization = OrganizationRefSerializer()
    period = serializers.CharField(help_text="2026-10, 2026-Q4 or 30d")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    time_zone = serializers.CharField()
    target = serializers.FloatField(help_text="The availability target, e.g. 0.995.")
    instances = InstanceAvailabilitySerializer(many=True)
    total = FiguresSerializer(help_text="All instances, time-weighted.")
    rows = serializers.ListField(
        child=serializers.DictField(),
        help_text="The same figures flattened, one row per instance and one for all: the CSV.",
    )

    def to_representation(self, report: OrganizationReport) -> dict[str, Any]:
        return {
            "organization": organization_ref(report.organization),
            "period": report.period.label,
            "start": _iso(report.period.start),
            "end": _iso(report.period.end),
            "time_zone": report.time_zone,
            "target": float(report.target),
            "instances": [
                {
                    "instance": instance_ref(item.instance),
                    "figures": item.figures.to_dict(),
                    "outages": [
                        {
                            "start": _iso(o.start),
                            "end": _iso(o.end),
                            "downtime_seconds": o.downtime_seconds,
                            "maintenance_seconds": o.maintenance_seconds,
                        }
                        for o in item.outages
                    ],
                    "maintenance": [
                        {
                            "id": w.pk,
                            "title": w.title,
                            "start": _iso(w.start),
                            "end": _iso(w.end),
                            "emergency": w.emergency,
                            "compliant": compliant,
                            "explanation": explanation,
                        }
                        for w, compliant, explanation in item.windows
                    ],
                }
                for item in report.instances
            ],
            "total": report.total.to_dict(),
            "rows": report_rows(report),
        }
