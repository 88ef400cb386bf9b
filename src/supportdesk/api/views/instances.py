"""Managed instances, their maintenance windows and incidents, and availability reports.

Reads go through supportdesk.instances.access (customers see their organization's; another's is
404); every change is one call of the maintenance or incident services the console and the portal
call, so the compliance rules, notifications and webhook events are theirs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from supportdesk.api import idempotency
from supportdesk.api.errors import Refused, Stale
from supportdesk.api.pagination import Cursor
from supportdesk.api.renderers import CsvMixin
from supportdesk.api.serializers_instances import (
    AvailabilityReportSerializer,
    IncidentCreateSerializer,
    IncidentDetailSerializer,
    IncidentPostSerializer,
    IncidentSerializer,
    InstanceSerializer,
    WindowCancelSerializer,
    WindowProposeSerializer,
    WindowRescheduleSerializer,
    WindowSerializer,
    compliance_data,
    window_etag,
)
from supportdesk.api.views.base import ApiView
from supportdesk.api.views.tickets import IDEMPOTENCY_PARAMETER, idempotency_key
from supportdesk.availability import MaintenanceWindow as PureWindow
from supportdesk.availability import PeriodError, check_window, parse_period
from supportdesk.instances import incidents, maintenance, reports
from supportdesk.instances.access import (
    access_incident,
    access_instance,
    access_window,
    incidents_visible_to,
    instances_visible_to,
    may_manage_maintenance,
    windows_visible_to,
)
from supportdesk.instances.common import ceil_second, floor_second
from supportdesk.instances.models import (
    OPEN_WINDOW_STATUSES,
    Incident,
    IncidentStatus,
    MaintenanceWindow,
    WindowStatus,
)
from supportdesk.organizations.models import Organization

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Optional: the ETag of your last read; if the window changed since, nothing "
    "changes and the answer is 412 with the current ETag.",
)


class ByName(Cursor):
    ordering = ("name",)


class OrderedCursor(Cursor):
    """The view's `ordering` (a field, `-field` for descending), then the id."""

    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        ordering: str = view.ordering
        return (ordering, "-id" if ordering.startswith("-") else "id")


def _page(view: ApiView, request: Request, rows: QuerySet[Any], serializer: Any) -> Response:
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(rows, request, view=view) or []
    context = {"request": request, "now": timezone.now()}
    data = serializer(page, many=True, context=context).data
    response: Response = paginator.get_paginated_response(data)
    return response


def _window_response(window: MaintenanceWindow, status: int = 200) -> Response:
    headers = {"ETag": window_etag(window)}
    if status == 201:
        headers["Location"] = f"/api/v1/maintenance/{window.pk}/"
    return Response(WindowSerializer(window).data, status=status, headers=headers)


def _create_once(
    request: Request, user: Any, make: Callable[[], tuple[int, dict[str, Any]]]
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Run a create once per Idempotency-Key (as ticket creation does): a retry replays the first
    response. Returns the status, the body and the headers to add."""
    key = idempotency_key(request)
    if key is None:
        with transaction.atomic():
            status, body = make()
        return status, body, {}
    data = request.data
    plain = dict(data.lists()) if hasattr(data, "lists") else dict(data)
    fingerprint = idempotency.request_fingerprint("POST", request.path, plain)
    outcome = idempotency.run_once(user=user, key=key, fingerprint=fingerprint, make=make)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return outcome.status, outcome.body, headers


# ---------------------------------------------------------------------------------------------
# Instances


class InstanceFilterSerializer(serializers.Serializer[Any]):
    organization = serializers.SlugField(required=False, help_text="Staff: an organization slug.")


class InstanceList(ApiView):
    pagination_class = ByName

    @extend_schema(
        operation_id="instances_list",
        summary="Managed instances",
        description="Staff see every organization's; customers their organization's.",
        parameters=[InstanceFilterSerializer],
        responses=InstanceSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = InstanceFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        rows = instances_visible_to(self.user).select_related("monitor")
        if filters.validated_data.get("organization"):
            rows = rows.filter(organization__slug=filters.validated_data["organization"])
        return _page(self, request, rows, InstanceSerializer)


class InstanceDetail(ApiView):
    @extend_schema(
        operation_id="instances_read", summary="One managed instance", responses=InstanceSerializer
    )
    def get(self, request: Request, name: str) -> Response:
        return Response(InstanceSerializer(access_instance(self.user, name)).data)


# ---------------------------------------------------------------------------------------------
# Maintenance windows


class WindowFilterSerializer(serializers.Serializer[Any]):
    status = serializers.MultipleChoiceField(
        choices=WindowStatus.choices, required=False, help_text="One or more, comma-separated."
    )
    upcoming = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Only windows not finished yet (proposed, scheduled, in progress, overrunning).",
    )
    instance = serializers.SlugField(required=False, help_text="An instance name.")
    organization = serializers.SlugField(required=False, help_text="Staff: an organization slug.")
    ordering = serializers.ChoiceField(
        choices=[("-start", "-start"), ("start", "start")], required=False, default="-start"
    )

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "getlist") and "status" in data:
            data = data.copy()
            data.setlist(
                "status", [s for raw in data.getlist("status") for s in raw.split(",") if s]
            )
        return super().to_internal_value(data)


def _windows(rows: QuerySet[MaintenanceWindow], params: dict[str, Any]) -> QuerySet[Any]:
    if params.get("status"):
        rows = rows.filter(status__in=sorted(params["status"]))
    if params.get("upcoming") is True:
        rows = rows.filter(status__in=OPEN_WINDOW_STATUSES)
    elif params.get("upcoming") is False:
        rows = rows.exclude(status__in=OPEN_WINDOW_STATUSES)
    if params.get("instance"):
        rows = rows.filter(instance__name=params["instance"])
    if params.get("organization"):
        rows = rows.filter(organization__slug=params["organization"])
    return rows


class WindowList(ApiView):
    pagination_class = OrderedCursor

    @extend_schema(
        operation_id="maintenance_list",
        summary="Maintenance windows",
        description="Every window you may see (customers: their organization's), latest start "
        "first (ordering=start: soonest first).",
        parameters=[WindowFilterSerializer],
        responses=WindowSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = WindowFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        self.ordering = filters.validated_data["ordering"]
        rows = _windows(windows_visible_to(self.user), filters.validated_data)
        return _page(self, request, rows, WindowSerializer)


def _check_manager(user: Any, organization: Organization, verb: str) -> None:
    """Said before the body is looked at, as the services would say it after."""
    if not may_manage_maintenance(user, organization):
        raise PermissionDenied(f"Only agents and the organization's admins {verb} maintenance.")


def _refused(exc: ValidationError, *, start: Any, end: Any, emergency: bool) -> Exception:
    """A refusal of the window's times carries the compliance verdict (announced now)."""
    fields = getattr(exc, "error_dict", {})
    if emergency or "start" not in fields or not (start and end) or end <= start:
        return exc
    announced = ceil_second(timezone.now())
    verdict = check_window(PureWindow(announced, floor_second(start), floor_second(end), False))
    if verdict.compliant:
        return exc
    return Refused(exc, compliance=compliance_data(verdict))


class InstanceWindows(ApiView):
    pagination_class = OrderedCursor

    @extend_schema(
        operation_id="instances_maintenance_list",
        summary="An instance's maintenance windows",
        parameters=[WindowFilterSerializer],
        responses=WindowSerializer(many=True),
    )
    def get(self, request: Request, name: str) -> Response:
        instance = access_instance(self.user, name)
        filters = WindowFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        self.ordering = filters.validated_data["ordering"]
        rows = _windows(
            windows_visible_to(self.user).filter(instance=instance), filters.validated_data
        )
        return _page(self, request, rows, WindowSerializer)

    @extend_schema(
        operation_id="instances_maintenance_propose",
        summary="Propose a maintenance window (agents; the organization's admins)",
        description="The other side confirms it (staff's emergency windows are scheduled at "
        "once). A window that would not be compliant if confirmed now (less than 24 h notice, "
        "longer than 2 h) is refused with the earliest compliant start, unless emergency is set "
        "with a reason. Send an Idempotency-Key so a retry never proposes twice.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=WindowProposeSerializer,
        responses={201: WindowSerializer},
    )
    def post(self, request: Request, name: str) -> Response:
        instance = access_instance(self.user, name)
        _check_manager(self.user, instance.organization, "schedule")
        serializer = WindowProposeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = self.user

        def create() -> tuple[int, dict[str, Any]]:
            try:
                window = maintenance.maintenance_window_propose(
                    actor=user, instance=instance, **data
                )
            except ValidationError as exc:
                raise _refused(
                    exc, start=data["start"], end=data["end"], emergency=data["emergency"]
                ) from None
            return 201, dict(WindowSerializer(access_window(user, window.pk)).data)

        status, body, headers = _create_once(request, user, create)
        headers["Location"] = body["url"]
        headers["ETag"] = f'"{body["sequence"]}.{body["status"]}"'
        return Response(body, status=status, headers=headers)


class WindowDetail(ApiView):
    @extend_schema(
        operation_id="maintenance_read",
        summary="One maintenance window",
        description="The ETag response header changes with every step and announcement; send it "
        "as If-Match with an action to be sure you act on what you read.",
        responses=WindowSerializer,
    )
    def get(self, request: Request, window_id: int) -> Response:
        return _window_response(access_window(self.user, window_id))


def _check_if_match(request: Request, window: MaintenanceWindow) -> None:
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return
    current = window_etag(window)
    if header.strip().removeprefix("W/") != current:
        raise Stale(
            f"Maintenance window {window.pk} changed since you read it (it is now "
            f"{window.get_status_display().lower()}, announcement {window.sequence}); reload it "
            "and decide again.",
            etag=current,
        )


class WindowAction(ApiView):
    """confirm / reschedule / cancel: the window is locked, If-Match checked, the service called,
    all in one transaction."""

    verb = ""
    body: type[serializers.Serializer[Any]] | None = None

    def act(self, window: MaintenanceWindow, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def post(self, request: Request, window_id: int) -> Response:
        window = access_window(self.user, window_id)
        _check_manager(self.user, window.organization, self.verb)
        data: dict[str, Any] = {}
        if self.body is not None:
            serializer = self.body(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
        with transaction.atomic():
            locked = MaintenanceWindow.objects.select_for_update().get(pk=window.pk)
            _check_if_match(request, locked)
            self.act(locked, data)
        return _window_response(access_window(self.user, window.pk))


class WindowConfirm(WindowAction):
    verb = "confirm"

    def act(self, window: MaintenanceWindow, data: dict[str, Any]) -> None:
        try:
            maintenance.maintenance_window_confirm(actor=self.user, window=window)
        except ValidationError as exc:
            raise _refused(
                exc, start=window.start, end=window.end, emergency=window.emergency
            ) from None

    @extend_schema(
        operation_id="maintenance_confirm",
        summary="Confirm a proposed window: the announcement",
        description="The side that did not propose it confirms it. Compliance is judged now: a "
        "window that is no longer 24 h away is refused with the earliest compliant start "
        "(reschedule it, or reschedule it as emergency maintenance).",
        parameters=[IF_MATCH],
        request=None,
        responses={200: WindowSerializer},
    )
    def post(self, request: Request, window_id: int) -> Response:
        return super().post(request, window_id)


class WindowReschedule(WindowAction):
    verb = "reschedule"
    body = WindowRescheduleSerializer

    def act(self, window: MaintenanceWindow, data: dict[str, Any]) -> None:
        try:
            maintenance.maintenance_window_reschedule(actor=self.user, window=window, **data)
        except ValidationError as exc:
            raise _refused(
                exc, start=data["start"], end=data["end"], emergency=data["emergency"]
            ) from None

    @extend_schema(
        operation_id="maintenance_reschedule",
        summary="New times: a new proposal, to be confirmed again",
        description="A reschedule is a new announcement: the window goes back to proposed, its "
        "sequence goes up, and the other side confirms it. The same compliance rules as a "
        "proposal.",
        parameters=[IF_MATCH],
        request=WindowRescheduleSerializer,
        responses={200: WindowSerializer},
    )
    def post(self, request: Request, window_id: int) -> Response:
        return super().post(request, window_id)


class WindowCancel(WindowAction):
    verb = "cancel"
    body = WindowCancelSerializer

    def act(self, window: MaintenanceWindow, data: dict[str, Any]) -> None:
        maintenance.maintenance_window_cancel(actor=self.user, window=window, reason=data["reason"])

    @extend_schema(
        operation_id="maintenance_cancel",
        summary="Cancel a proposed or scheduled window, with the reason",
        parameters=[IF_MATCH],
        request=WindowCancelSerializer,
        responses={200: WindowSerializer},
    )
    def post(self, request: Request, window_id: int) -> Response:
        return super().post(request, window_id)


# ---------------------------------------------------------------------------------------------
# Incidents


class IncidentFilterSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=IncidentStatus.choices, required=False)
    open = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Only unresolved (or resolved)."
    )
    instance = serializers.SlugField(required=False, help_text="An instance name.")
    organization = serializers.SlugField(required=False, help_text="Staff: an organization slug.")


class NewestIncidentFirst(Cursor):
    ordering = ("-started_at", "-id")


def _incident_response(user: Any, incident_id: int, status: int = 200) -> Response:
    incident = access_incident(user, incident_id)
    headers = {"Location": f"/api/v1/incidents/{incident.pk}/"} if status == 201 else {}
    return Response(IncidentDetailSerializer(incident).data, status=status, headers=headers)


def _check_agent(user: Any, verb: str) -> None:
    if not user.is_agent:
        raise PermissionDenied(f"Only agents and leads {verb} incidents.")


class IncidentList(ApiView):
    pagination_class = NewestIncidentFirst

    @extend_schema(
        operation_id="incidents_list",
        summary="Incidents",
        description="Outages, maintenance overruns and incidents reported by staff, newest first "
        "(customers: their organization's).",
        parameters=[IncidentFilterSerializer],
        responses=IncidentSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = IncidentFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        rows = incidents_visible_to(self.user).select_related("organization")
        if params.get("status"):
            rows = rows.filter(status=params["status"])
        if params.get("open") is True:
            rows = rows.exclude(status=IncidentStatus.RESOLVED)
        elif params.get("open") is False:
            rows = rows.filter(status=IncidentStatus.RESOLVED)
        if params.get("instance"):
            rows = rows.filter(instance__name=params["instance"])
        if params.get("organization"):
            rows = rows.filter(organization__slug=params["organization"])
        return _page(self, request, rows, IncidentSerializer)

    @extend_schema(
        operation_id="incidents_create",
        summary="Open an incident (agents and leads)",
        description="Opens its Sev 1 ticket for the organization and tells the customer "
        "(notification, email, webhook incident.created). Send an Idempotency-Key so a retry "
        "never opens two.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=IncidentCreateSerializer,
        responses={201: IncidentDetailSerializer},
    )
    def post(self, request: Request) -> Response:
        _check_agent(self.user, "open")
        serializer = IncidentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            instance = access_instance(self.user, data["instance"])
        except Http404:
            raise serializers.ValidationError(
                {"instance": ["No instance has that name."]}
            ) from None
        user = self.user

        def create() -> tuple[int, dict[str, Any]]:
            incident = incidents.incident_open(
                actor=user,
                instance=instance,
                kind=Incident.Kind.MANUAL,
                title=data["title"],
                message=data["message"],
                started_at=data.get("started_at") or timezone.now(),
            )
            return 201, dict(IncidentDetailSerializer(access_incident(user, incident.pk)).data)

        status, body, headers = _create_once(request, user, create)
        headers["Location"] = body["url"]
        return Response(body, status=status, headers=headers)


class IncidentDetail(ApiView):
    @extend_schema(
        operation_id="incidents_read",
        summary="One incident, with its updates",
        responses=IncidentDetailSerializer,
    )
    def get(self, request: Request, incident_id: int) -> Response:
        return _incident_response(self.user, incident_id)


class IncidentUpdates(ApiView):
    @extend_schema(
        operation_id="incidents_update",
        summary="Post an update (agents and leads)",
        description="Moves the status (investigating → identified → monitoring → resolved) and "
        "tells the customer: notification, webhook incident.updated / incident.resolved, and a "
        "public reply on the incident's ticket (resolving solves it).",
        request=IncidentPostSerializer,
        responses={201: IncidentDetailSerializer},
    )
    def post(self, request: Request, incident_id: int) -> Response:
        incident = access_incident(self.user, incident_id)
        _check_agent(self.user, "update")
        serializer = IncidentPostSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incidents.incident_update_post(
            actor=self.user, incident=incident, **serializer.validated_data
        )
        return _incident_response(self.user, incident.pk, status=201)


# ---------------------------------------------------------------------------------------------
# Availability reports


class AvailabilityFilterSerializer(serializers.Serializer[Any]):
    organization = serializers.SlugField(
        required=False, help_text="Staff: which organization (required). Customers: their own."
    )
    period = serializers.CharField(
        required=False,
        max_length=20,
        help_text="2026-10 (a month), 2026-Q4 (a quarter) or 30d (the 30 days ending now), in "
        "the organization's report time zone. Default: the current month there.",
    )


class AvailabilityReport(CsvMixin, ApiView):
    @extend_schema(
        operation_id="availability_report",
        summary="Availability of an organization's instances over a month, quarter or 30 days",
        description="Raw availability, SLA availability (compliant maintenance excluded), unknown "
        "time and the remaining error budget, per instance and time-weighted for all: the "
        "figures of the console's and the portal's report pages. Accept: text/csv (or "
        "format=csv) for the CSV they export.",
        parameters=[AvailabilityFilterSerializer],
        responses={
            (200, "application/json"): AvailabilityReportSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The CSV export"),
        },
    )
    def get(self, request: Request) -> Response:
        filters = AvailabilityFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        organization = self._organization(params.get("organization"))
        settings_row = reports.availability_settings(organization)
        now = timezone.now()
        zone = ZoneInfo(settings_row.time_zone)
        text = params.get("period") or now.astimezone(zone).strftime("%Y-%m")
        try:
            period = parse_period(text, tz=settings_row.time_zone, now=now)
        except PeriodError as error:
            raise serializers.ValidationError({"period": [str(error)]}) from None
        report = reports.organization_report(
            organization, period, tz=settings_row.time_zone, target=settings_row.exact_target
        )
        if self.wants_csv(request):
            name = f"availability-{organization.slug}-{period.label or 'period'}.csv"
            return self.csv_response(reports.report_csv(report), name)
        return Response(AvailabilityReportSerializer(report).data)

    def _organization(self, slug: str | None) -> Organization:
        user = self.user
        if user.is_staff:
            if not slug:
                raise serializers.ValidationError(
                    {"organization": ["Staff: name the organization (its slug)."]}
                )
            return get_object_or_404(Organization, slug=slug)
        if not user.is_customer or user.organization is None:
            raise Http404("No managed instances")
        if slug and slug != user.organization.slug:
            raise Http404("No such organization")
        return user.organization
