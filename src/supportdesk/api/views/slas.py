"""A ticket's SLA state, and the SLA attainment report.

The state is `supportdesk.slas.selectors.explain`, the function behind `supportdesk sla explain
--json` and the console's SLA panel: the API, the CLI and the console say the same thing. The
report is `supportdesk.slas.reports.attainment`, behind the console's reports page, with the same
access rule (leads)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from supportdesk.accounts.models import User
from supportdesk.api.permissions import check_authenticated, check_scope
from supportdesk.api.renderers import CsvMixin
from supportdesk.api.serializers_slas import (
    AttainmentGroupSerializer,
    AttainmentReportSerializer,
    TicketSlaSerializer,
)
from supportdesk.api.views.base import ApiView
from supportdesk.slas import reports
from supportdesk.slas.selectors import explain
from supportdesk.tickets.access import access_ticket

# What a customer does not get of `explain`: the staff's warning machinery and the clock's
# event log (the portal shows the promise, not the internals).
STAFF_ONLY_TARGET_FIELDS = {"warned": False, "warn": None}


def customer_view(state: dict[str, Any]) -> dict[str, Any]:
    return {
        **state,
        "targets": [{**t, **STAFF_ONLY_TARGET_FIELDS} for t in state["targets"]],
        "timeline": [],
    }


class TicketSla(ApiView):
    @extend_schema(
        operation_id="tickets_sla_read",
        summary="A ticket's SLA: policy, calendars, every target and commitment",
        description="Which policy applies and why, its calendars, and each target (first "
        "response, resolution, next replies, promised updates) with its start, pauses, due, "
        "state and met/breached instants: exactly what `supportdesk sla explain --json` prints. "
        "Customers get the same without the staff's warning instants and event timeline.",
        responses=TicketSlaSerializer,
    )
    def get(self, request: Request, number: int) -> Response:
        ticket = access_ticket(self.user, number)
        state = explain(ticket)
        return Response(state if self.user.is_staff else customer_view(state))


class LeadsOnly(BasePermission):
    """The console's reports are for leads; for everyone else this is not there (404)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        check_authenticated(request)
        user: User = request.user  # type: ignore[assignment]
        if not user.is_lead:
            raise NotFound("Not found.")
        check_scope(request, view)
        return True


class SlaReportFilterSerializer(serializers.Serializer[Any]):
    group = serializers.ChoiceField(
        choices=list(reports.DIMENSIONS.items()), required=False, default="metric"
    )
    months = serializers.IntegerField(
        min_value=1,
        max_value=36,
        required=False,
        default=6,
        help_text="Clocks started in the last N months (1 to 36).",
    )


class SlaReport(CsvMixin, ApiView):
    permission_classes = [LeadsOnly]

    @extend_schema(
        operation_id="reports_sla_attainment",
        summary="SLA attainment (leads)",
        description="Clocks started in the last `months`, grouped by target, severity, "
        "deployment, organization or month: met, breached, running and paused counts, "
        "attainment (met / decided), and median and p90 business time to first response and "
        "resolution. Accept: text/csv (or format=csv) for the console's CSV export.",
        parameters=[SlaReportFilterSerializer],
        responses={
            (200, "application/json"): AttainmentReportSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The CSV export"),
        },
    )
    def get(self, request: Request) -> Response:
        filters = SlaReportFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        group, months = filters.validated_data["group"], filters.validated_data["months"]
        groups = reports.attainment(group_by=group, months=months)
        if self.wants_csv(request):
            return self.csv_response(
                reports.attainment_csv(groups, group), f"sla-{group}-{months}m.csv"
            )
        return Response(
            {
                "group": group,
                "group_label": reports.DIMENSIONS[group],
                "months": months,
                "groups": AttainmentGroupSerializer(groups, many=True).data,
            }
        )
