"""Tickets, their messages and attachments. Reads go through tickets.access; every change is one
call of a tickets.services function, exactly as in the console and the portal."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from supportdesk.accounts.models import User, normalize_email
from supportdesk.api import idempotency
from supportdesk.api.errors import PreconditionRequired
from supportdesk.api.pagination import Cursor, OldestFirst
from supportdesk.api.serializers import (
    AttachmentSerializer,
    MessageCreateSerializer,
    MessageSerializer,
    TicketCreateSerializer,
    TicketExtras,
    TicketSerializer,
    TicketUpdateSerializer,
)
from supportdesk.api.views.base import ApiView, uploads_from
from supportdesk.core.views import attachment_response
from supportdesk.tickets import services
from supportdesk.tickets.access import (
    access_attachment,
    access_ticket,
    messages_visible_to,
    tickets_visible_to,
)
from supportdesk.tickets.models import Attachment, Channel, Message, Severity, Status, Ticket
from supportdesk.tickets.services import StaleTicket

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    idempotency.HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any unique string (a UUID) per intended request: a retry with the same key "
    "returns the first response instead of creating again.",
)
_KEY_SHAPE = re.compile(r"^[\x21-\x7e]{1,255}$")


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get(idempotency.HEADER)
    if key is None:
        return None
    if not _KEY_SHAPE.match(key):
        raise serializers.ValidationError(
            {
                idempotency.HEADER: [
                    "Use 1 to 255 printable ASCII characters without spaces (a UUID is ideal)."
                ]
            }
        )
    return key


def etag(ticket: Ticket) -> str:
    return f'"{ticket.version}"'


def expected_version(request: Request, ticket: Ticket) -> int | None:
    """If-Match → the version the client last read (None for `*`). Required for updates."""
    header = request.headers.get("If-Match")
    if header is None:
        raise PreconditionRequired(
            f"Send If-Match with the ETag of your last read of ticket #{ticket.number} "
            f"(it is now {etag(ticket)}), so a concurrent change is never overwritten."
        )
    header = header.strip()
    if header == "*":
        return None
    value = header.removeprefix("W/").strip('"')
    if not value.isdigit():
        raise StaleTicket(ticket)
    return int(value)


def prefetched(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return tickets.select_related("organization", "requester", "assignee")


class TicketFilterSerializer(serializers.Serializer[Any]):
    status = serializers.MultipleChoiceField(
        choices=Status.choices, required=False, help_text="One or more, comma-separated."
    )
    open = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="Only open (or closed) tickets."
    )
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    organization = serializers.SlugField(required=False, help_text="Staff: an organization slug.")
    assignee = serializers.CharField(
        required=False, help_text="A user id, `me`, or `none` for unassigned."
    )
    requester = serializers.EmailField(required=False)
    tag = serializers.SlugField(required=False)
    updated_after = serializers.DateTimeField(required=False)
    updated_before = serializers.DateTimeField(required=False)
    ordering = serializers.ChoiceField(
        choices=[
            ("-updated_at", "-updated_at"),
            ("-created_at", "-created_at"),
            ("created_at", "created_at"),
        ],
        required=False,
        default="-updated_at",
    )

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "getlist") and "status" in data:
            data = data.copy()
            data.setlist(
                "status", [s for raw in data.getlist("status") for s in raw.split(",") if s]
            )
        return super().to_internal_value(data)

    def validate_assignee(self, value: str) -> str:
        if value not in ("me", "none") and not value.isdigit():
            raise serializers.ValidationError("Give a user id, `me` or `none`.")
        return value


class TicketCursor(Cursor):
    def get_ordering(self, request: Any, queryset: Any, view: Any) -> tuple[str, ...]:
        ordering = getattr(view, "ordering", "-updated_at")
        return (ordering, "-id" if ordering.startswith("-") else "id")


def filtered_tickets(user: User, params: dict[str, Any]) -> QuerySet[Ticket]:
    tickets = tickets_visible_to(user)
    if params.get("status"):
        tickets = tickets.filter(status__in=sorted(params["status"]))
    if params.get("open") is not None:
        tickets = tickets.filter(is_open=params["open"])
    if params.get("severity"):
        tickets = tickets.filter(severity=params["severity"])
    if params.get("organization"):
        tickets = tickets.filter(organization__slug=params["organization"])
    assignee = params.get("assignee")
    if assignee == "me":
        tickets = tickets.filter(assignee=user)
    elif assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    elif assignee:
        tickets = tickets.filter(assignee_id=int(assignee))
    if params.get("requester"):
        tickets = tickets.filter(requester__email=normalize_email(params["requester"]))
    if params.get("tag"):
        tickets = tickets.filter(tags__name=params["tag"])
    if params.get("updated_after"):
        tickets = tickets.filter(updated_at__gt=params["updated_after"])
    if params.get("updated_before"):
        tickets = tickets.filter(updated_at__lt=params["updated_before"])
    return tickets


def _ticket_response(request: Request, ticket: Ticket, status: int = 200) -> Response:
    context = {"request": request, "extras": TicketExtras.of([ticket])}
    body = TicketSerializer(ticket, context=context).data
    return Response(body, status=status, headers={"ETag": etag(ticket)})


class TicketList(ApiView):
    pagination_class = TicketCursor

    @extend_schema(
        operation_id="tickets_list",
        summary="List tickets",
        description="The tickets you may see (customers: their organization's or their own), "
        "newest change first, with cursor pagination.",
        parameters=[TicketFilterSerializer],
        responses=TicketSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = TicketFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        self.ordering = filters.validated_data["ordering"]
        tickets = filtered_tickets(self.user, filters.validated_data)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(prefetched(tickets), request, view=self) or []
        context = {"request": request, "extras": TicketExtras.of(page)}
        data = TicketSerializer(page, many=True, context=context).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="tickets_create",
        summary="Open a ticket",
        description="Customers open tickets for themselves; staff for a requester (by email). "
        "Send an Idempotency-Key so a retry never opens two tickets.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request={
            "application/json": TicketCreateSerializer,
            "multipart/form-data": TicketCreateSerializer,
        },
        responses={201: TicketSerializer},
    )
    def post(self, request: Request) -> Response:
        key = idempotency_key(request)
        serializer = TicketCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = self.user

        if data["tags"] and not user.is_staff:
            raise serializers.ValidationError({"tags": ["Only staff tag tickets."]})

        def create() -> tuple[int, dict[str, Any]]:
            requester = None
            if data.get("requester"):
                requester = User.objects.filter(email=normalize_email(data["requester"])).first()
                if requester is None:
                    raise serializers.ValidationError(
                        {"requester": ["No user has that email address."]}
                    )
            organization = (requester or user).organization
            ccs = services.cc_users_resolve(
                actor=user, organization=organization, addresses=data["ccs"]
            )
            ticket = services.ticket_create(
                actor=user,
                subject=data["subject"],
                description=data["description"],
                severity=data["severity"],
                requester=requester,
                ccs=ccs,
                attachments=uploads_from(data["attachments"]),
                channel=Channel.API,
                reported_at=data.get("reported_at"),
                tags=data["tags"] if user.is_staff else (),
            )
            ticket = prefetched(Ticket.objects.filter(pk=ticket.pk)).get()
            context = {"request": request, "extras": TicketExtras.of([ticket])}
            return 201, dict(TicketSerializer(ticket, context=context).data)

        if key is None:
            # One transaction: a CC'd address that became a contact goes if the ticket fails.
            with transaction.atomic():
                status, body = create()
            replayed = False
        else:
            fingerprint = idempotency.request_fingerprint(
                "POST", request.path, _plain(request.data)
            )
            outcome = idempotency.run_once(user=user, key=key, fingerprint=fingerprint, make=create)
            status, body, replayed = outcome.status, outcome.body, outcome.replayed
        headers = {"Location": body["url"], "ETag": f'"{body["version"]}"'}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(body, status=status, headers=headers)


def _plain(data: Any) -> dict[str, Any]:
    if hasattr(data, "lists"):
        return dict(data.lists())
    return dict(data)


class TicketDetail(ApiView):
    @extend_schema(
        operation_id="tickets_read",
        summary="Read a ticket",
        description="The ETag response header is the ticket's version: send it back as If-Match "
        "when you change the ticket.",
        responses=TicketSerializer,
    )
    def get(self, request: Request, number: int) -> Response:
        ticket = access_ticket(self.user, number)
        return _ticket_response(request, ticket)

    @extend_schema(
        operation_id="tickets_update",
        summary="Change a ticket (agents and leads)",
        description="Only the fields sent change. If-Match (the ETag of your last read) is "
        "required: if the ticket changed since, nothing changes and the answer is 412 with the "
        "current ETag.",
        parameters=[
            OpenApiParameter(
                "If-Match",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description='The ETag from your last read, e.g. "7" (or * to overwrite).',
            )
        ],
        request=TicketUpdateSerializer,
        responses={200: TicketSerializer},
    )
    def patch(self, request: Request, number: int) -> Response:
        ticket = access_ticket(self.user, number)
        if not self.user.is_agent:
            # The service refuses too; saying so before asking for If-Match is clearer.
            raise PermissionDenied("Only agents and leads change tickets.")
        serializer = TicketUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = expected_version(request, ticket)
        changes: dict[str, Any] = dict(serializer.validated_data)
        if "assignee" in changes and changes["assignee"] is not None:
            changes["assignee"] = get_object_or_404(User, pk=changes["assignee"])
        services.ticket_update(actor=self.user, ticket=ticket, expected_version=version, **changes)
        return _ticket_response(request, access_ticket(self.user, number))


class MessageList(ApiView):
    pagination_class = OldestFirst
    service_field_names = {
        "body": "body",
        "status_part": "status",
        "next_steps_part": "next_steps",
        "expectations_part": "expectations",
        "status": "new_status",
    }

    @extend_schema(
        operation_id="messages_list",
        summary="A ticket's conversation",
        description="Oldest first. Customers see public replies only; staff also internal notes.",
        responses=MessageSerializer(many=True),
    )
    def get(self, request: Request, number: int) -> Response:
        ticket = access_ticket(self.user, number)
        messages = (
            messages_visible_to(self.user, ticket)
            .select_related("author")
            .prefetch_related("attachments")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(messages, request, view=self)
        return paginator.get_paginated_response(MessageSerializer(page, many=True).data)

    @extend_schema(
        operation_id="messages_create",
        summary="Reply, or add an internal note (staff)",
        description="Agents' public replies carry the handbook's three parts: status, next "
        "steps, expectations. kind=note is an internal note, never shown to customers. "
        "Attachments need multipart/form-data.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request={
            "application/json": MessageCreateSerializer,
            "multipart/form-data": MessageCreateSerializer,
        },
        responses={201: MessageSerializer},
    )
    def post(self, request: Request, number: int) -> Response:
        key = idempotency_key(request)
        ticket = access_ticket(self.user, number)
        serializer = MessageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = self.user

        def create() -> tuple[int, dict[str, Any]]:
            message = services.ticket_reply_add(
                actor=user,
                ticket=ticket,
                body=data["body"],
                status_part=data["status"],
                next_steps_part=data["next_steps"],
                expectations_part=data["expectations"],
                internal=data["kind"] == Message.Kind.NOTE,
                attachments=uploads_from(data["attachments"]),
                new_status=data.get("new_status"),
                resolution_kind=data.get("resolution_kind"),
                next_update_by=data.get("next_update_by"),
                channel=Channel.API,
            )
            message = (
                Message.objects.select_related("author")
                .prefetch_related("attachments")
                .get(pk=message.pk)
            )
            return 201, dict(MessageSerializer(message).data)

        if key is None:
            status, body = create()
            replayed = False
        else:
            fingerprint = idempotency.request_fingerprint(
                "POST", request.path, _plain(request.data)
            )
            outcome = idempotency.run_once(user=user, key=key, fingerprint=fingerprint, make=create)
            status, body, replayed = outcome.status, outcome.body, outcome.replayed
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return Response(body, status=status, headers=headers)


class MessageDetail(ApiView):
    @extend_schema(operation_id="messages_read", summary="One message", responses=MessageSerializer)
    def get(self, request: Request, number: int, message_id: int) -> Response:
        ticket = access_ticket(self.user, number)
        message = get_object_or_404(
            messages_visible_to(self.user, ticket)
            .select_related("author")
            .prefetch_related("attachments"),
            pk=message_id,
        )
        return Response(MessageSerializer(message).data)


class AttachmentList(ApiView):
    pagination_class = OldestFirst

    @extend_schema(
        operation_id="attachments_list",
        summary="A ticket's attachments",
        description="Customers do not see the attachments of internal notes.",
        responses=AttachmentSerializer(many=True),
    )
    def get(self, request: Request, number: int) -> Response:
        ticket = access_ticket(self.user, number)
        attachments = Attachment.objects.filter(ticket=ticket)
        if not self.user.is_staff:
            attachments = attachments.filter(
                Q(message__isnull=True) | Q(message__kind=Message.Kind.REPLY)
            )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(attachments, request, view=self)
        return paginator.get_paginated_response(AttachmentSerializer(page, many=True).data)


class AttachmentDetail(ApiView):
    @extend_schema(
        operation_id="attachments_read",
        summary="An attachment's metadata",
        responses=AttachmentSerializer,
    )
    def get(self, request: Request, attachment_id: str) -> Response:
        attachment = access_attachment(self.user, attachment_id)
        return Response(AttachmentSerializer(attachment).data)


class AttachmentDownload(ApiView):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The file itself is never rendered by DRF; errors are JSON whatever the client accepts.
        return (JSONRenderer(), "application/json")

    @extend_schema(
        operation_id="attachments_download",
        summary="Download an attachment",
        description="Always a download (Content-Disposition: attachment), never rendered.",
        responses={
            (200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The file's bytes")
        },
    )
    def get(self, request: Request, attachment_id: str) -> Any:
        attachment = access_attachment(self.user, attachment_id)
        return attachment_response(attachment)
