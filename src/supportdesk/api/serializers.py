"""How API resources look on the wire. Reads are built from rows the access functions returned;
writes are parsed here and handed to the same service functions the console and portal call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from supportdesk.accounts.models import Role, User
from supportdesk.organizations.models import Organization
from supportdesk.tickets.models import (
    Attachment,
    Message,
    ResolutionKind,
    Severity,
    Status,
    Ticket,
)
from supportdesk.webhooks.events import EVENT_TYPES
from supportdesk.webhooks.models import WebhookDelivery, WebhookSubscription

# ---------------------------------------------------------------------------------------------
# Errors (for the OpenAPI document: every error response has this shape)


class ComplianceSerializer(serializers.Serializer[Any]):
    compliant = serializers.BooleanField()
    explanation = serializers.CharField()
    earliest_compliant_start = serializers.DateTimeField(
        allow_null=True,
        help_text="When a window of this length, announced now, could start and be compliant "
        "(null: longer than allowed, no start is compliant).",
    )
    announced_at = serializers.DateTimeField(
        help_text="The announcement the verdict is about (now, for a window not confirmed yet)."
    )


class ErrorDetailSerializer(serializers.Serializer[Any]):
    status = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "fields" is also the name of a Serializer attribute: add the field by name.
        fields = super().get_fields()
        fields["fields"] = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Validation errors only: each field named, with what is wrong with it.",
        )
        fields["compliance"] = ComplianceSerializer(
            required=False,
            help_text="Refused maintenance windows only: why, and the earliest compliant start.",
        )
        return fields


class ErrorSerializer(serializers.Serializer[Any]):
    error = ErrorDetailSerializer()


# ---------------------------------------------------------------------------------------------
# People and organizations


def _iso(value: dt.datetime | None) -> str | None:
    """Datetimes as DRF writes them (ISO 8601, UTC as Z)."""
    if value is None:
        return None
    text = value.astimezone(dt.UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def user_ref(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "id": user.pk,
        "email": user.email,
        "name": user.name,
        "display_name": user.display_name,
        "is_staff": user.is_staff,
    }


def organization_ref(organization: Organization | None) -> dict[str, Any] | None:
    if organization is None:
        return None
    return {"slug": organization.slug, "name": organization.name}


@dataclass(frozen=True)
class TicketExtras:
    """The CCs and tags of a page of tickets, read with one plain query each: building a related
    manager per ticket (prefetch_related) cost more than the rest of the page together."""

    ccs: dict[int, list[dict[str, Any] | None]]
    tags: dict[int, list[str]]

    @classmethod
    def of(cls, tickets: Sequence[Ticket]) -> TicketExtras:
        ids = [t.pk for t in tickets]
        ccs: dict[int, list[dict[str, Any] | None]] = {}
        tags: dict[int, list[str]] = {}
        if not ids:
            return cls(ccs, tags)
        rows = (
            Ticket.ccs.through.objects.filter(ticket_id__in=ids)
            .order_by("user__name", "user__email")
            .values_list("ticket_id", "user_id", "user__email", "user__name", "user__role")
        )
        for ticket_id, user_id, email, name, role in rows:
            ccs.setdefault(ticket_id, []).append(
                user_ref(User(pk=user_id, email=email, name=name, role=role))
            )
        for ticket_id, tag in (
            Ticket.tags.through.objects.filter(ticket_id__in=ids)
            .order_by("tag__name")
            .values_list("ticket_id", "tag__name")
        ):
            tags.setdefault(ticket_id, []).append(tag)
        return cls(ccs, tags)


class UserRefSerializer(serializers.ModelSerializer[User]):
    display_name = serializers.CharField(read_only=True)
    is_staff = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "name", "display_name", "is_staff"]
        read_only_fields = fields

    def to_representation(self, instance: User) -> dict[str, Any]:
        return user_ref(instance) or {}


class OrganizationRefSerializer(serializers.ModelSerializer[Organization]):
    class Meta:
        model = Organization
        fields = ["slug", "name"]
        read_only_fields = fields


class OrganizationSerializer(serializers.ModelSerializer[Organization]):
    email_domains = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = [
            "slug",
            "name",
            "plan",
            "deployment",
            "product_version",
            "trial_ends_on",
            "notes",
            "email_domains",
            "created_at",
        ]
        read_only_fields = fields

    def get_email_domains(self, organization: Organization) -> list[str]:
        return [d.domain for d in organization.email_domains.all()]


class ContactSerializer(serializers.ModelSerializer[User]):
    organization = OrganizationRefSerializer(read_only=True, allow_null=True)
    is_integration = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "name",
            "role",
            "organization",
            "timezone",
            "is_active",
            "is_integration",
            "date_joined",
        ]
        read_only_fields = fields

    def get_is_integration(self, user: User) -> bool:
        return hasattr(user, "integration")


class ContactCreateSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    role = serializers.ChoiceField(
        choices=[(Role.CONTACT.value, "Contact"), (Role.ORG_ADMIN.value, "Org admin")],
        default=Role.CONTACT.value,
    )


class RoleChangeSerializer(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=Role.choices)


class MeSerializer(serializers.ModelSerializer[User]):
    organization = OrganizationRefSerializer(read_only=True, allow_null=True)
    token = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "name", "role", "organization", "timezone", "is_staff", "token"]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {
                "name": {"type": "string"},
                "prefix": {"type": "string"},
                "scopes": {"type": "array", "items": {"type": "string"}},
                "expires_at": {"type": "string", "format": "date-time"},
            },
        }
    )
    def get_token(self, user: User) -> dict[str, Any] | None:
        token = self.context.get("token")
        if token is None:
            return None
        return {
            "name": token.name,
            "prefix": token.prefix,
            "scopes": token.scopes,
            "expires_at": token.expires_at,
        }


# ---------------------------------------------------------------------------------------------
# Tickets


class AttachmentSerializer(serializers.ModelSerializer[Attachment]):
    download_url = serializers.SerializerMethodField()
    message: serializers.PrimaryKeyRelatedField[Message] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )

    class Meta:
        model = Attachment
        fields = [
            "id",
            "filename",
            "content_type",
            "size",
            "sha256",
            "message",
            "created_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, attachment: Attachment) -> str:
        return f"/api/v1/attachments/{attachment.pk}/download/"

    def to_representation(self, attachment: Attachment) -> dict[str, Any]:
        return {
            "id": str(attachment.pk),
            "filename": attachment.filename,
            "content_type": attachment.content_type,
            "size": attachment.size,
            "sha256": attachment.sha256,
            "message": attachment.message_id,
            "created_at": _iso(attachment.created_at),
            "download_url": self.get_download_url(attachment),
        }


class MessageSerializer(serializers.ModelSerializer[Message]):
    author = UserRefSerializer(read_only=True, allow_null=True)
    status = serializers.CharField(source="status_part", read_only=True)
    next_steps = serializers.CharField(source="next_steps_part", read_only=True)
    expectations = serializers.CharField(source="expectations_part", read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "kind",
            "author",
            "is_automatic",
            "channel",
            "body_text",
            "body_html",
            "status",
            "next_steps",
            "expectations",
            "attachments",
            "created_at",
        ]
        read_only_fields = fields

    def to_representation(self, message: Message) -> dict[str, Any]:
        attachment = AttachmentSerializer()
        return {
            "id": message.pk,
            "kind": message.kind,
            "author": user_ref(message.author),
            "is_automatic": message.is_automatic,
            "channel": message.channel,
            "body_text": message.body_text,
            "body_html": message.body_html,
            "status": message.status_part,
            "next_steps": message.next_steps_part,
            "expectations": message.expectations_part,
            "attachments": [attachment.to_representation(a) for a in message.attachments.all()],
            "created_at": _iso(message.created_at),
        }


class TicketSerializer(serializers.ModelSerializer[Ticket]):
    organization = OrganizationRefSerializer(read_only=True, allow_null=True)
    requester = UserRefSerializer(read_only=True)
    assignee = UserRefSerializer(read_only=True, allow_null=True)
    ccs = UserRefSerializer(many=True, read_only=True)
    tags: Any = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")
    resolution_kind = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "number",
            "subject",
            "status",
            "is_open",
            "severity",
            "resolution_kind",
            "organization",
            "requester",
            "assignee",
            "ccs",
            "tags",
            "channel",
            "reported_at",
            "created_at",
            "updated_at",
            "solved_at",
            "closed_at",
            "version",
            "url",
        ]
        read_only_fields = fields

    def get_url(self, ticket: Ticket) -> str:
        return f"/api/v1/tickets/{ticket.number}/"

    def _ccs(self, ticket: Ticket) -> list[dict[str, Any] | None]:
        extras: TicketExtras | None = self.context.get("extras")
        if extras is not None:
            return extras.ccs.get(ticket.pk, [])
        return [user_ref(u) for u in ticket.ccs.all()]

    def _tags(self, ticket: Ticket) -> list[str]:
        extras: TicketExtras | None = self.context.get("extras")
        if extras is not None:
            return extras.tags.get(ticket.pk, [])
        return [t.name for t in ticket.tags.all()]

    def to_representation(self, ticket: Ticket) -> dict[str, Any]:
        # The hot path of every ticket list: the same fields as declared above (the OpenAPI
        # document and Schemathesis check they agree), built without DRF's per-field machinery.
        return {
            "number": ticket.number,
            "subject": ticket.subject,
            "status": ticket.status,
            "is_open": ticket.is_open,
            "severity": ticket.severity,
            "resolution_kind": ticket.resolution_kind,
            "organization": organization_ref(ticket.organization),
            "requester": user_ref(ticket.requester),
            "assignee": user_ref(ticket.assignee),
            "ccs": self._ccs(ticket),
            "tags": self._tags(ticket),
            "channel": ticket.channel,
            "reported_at": _iso(ticket.reported_at),
            "created_at": _iso(ticket.created_at),
            "updated_at": _iso(ticket.updated_at),
            "solved_at": _iso(ticket.solved_at),
            "closed_at": _iso(ticket.closed_at),
            "version": ticket.version,
            "url": self.get_url(ticket),
        }


class TicketCreateSerializer(serializers.Serializer[Any]):
    subject = serializers.CharField(
        max_length=250,
        error_messages={
            "blank": "A ticket needs a subject.",
            "required": "A ticket needs a subject.",
            "max_length": "Keep the subject under 250 characters.",
        },
    )
    description = serializers.CharField(
        max_length=100_000,
        error_messages={"blank": "Describe the issue.", "required": "Describe the issue."},
    )
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.SEV2)
    requester = serializers.EmailField(
        required=False, help_text="Staff: the customer the ticket is for (their email address)."
    )
    ccs = serializers.ListField(
        child=serializers.EmailField(), required=False, default=list, max_length=50
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50),
        required=False,
        default=list,
        max_length=20,
        help_text="Staff only.",
    )
    reported_at = serializers.DateTimeField(
        required=False, help_text="Staff: when we became aware of the issue, if earlier."
    )
    attachments = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        required=False,
        default=list,
        max_length=10,
        help_text="multipart/form-data only.",
    )


class TicketUpdateSerializer(serializers.Serializer[Any]):
    subject = serializers.CharField(max_length=250, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    resolution_kind = serializers.ChoiceField(
        choices=ResolutionKind.choices, required=False, allow_blank=True
    )
    assignee = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="A user id, or null to unassign."
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=20
    )
    reported_at = serializers.DateTimeField(required=False)


class MessageCreateSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=Message.Kind.choices, default=Message.Kind.REPLY)
    body = serializers.CharField(required=False, default="", allow_blank=True, max_length=100_000)
    status = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        max_length=20_000,
        help_text="Agents' public replies: where things stand.",
    )
    next_steps = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=20_000
    )
    expectations = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        max_length=20_000,
        help_text="When the customer hears from us next.",
    )
    next_update_by = serializers.DateTimeField(
        required=False,
        help_text="Agents' public replies: commit to the next update by this time. It is "
        "tracked like an SLA target (see the ticket's sla/), warned on and reported.",
    )
    new_status = serializers.ChoiceField(choices=Status.choices, required=False)
    resolution_kind = serializers.ChoiceField(choices=ResolutionKind.choices, required=False)
    attachments = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True),
        required=False,
        default=list,
        max_length=10,
        help_text="multipart/form-data only.",
    )


# ---------------------------------------------------------------------------------------------
# Webhooks


class WebhookSubscriptionSerializer(serializers.ModelSerializer[WebhookSubscription]):
    organization = OrganizationRefSerializer(read_only=True, allow_null=True)
    url = serializers.CharField(read_only=True)

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "organization",
            "url",
            "events",
            "format",
            "description",
            "is_active",
            "created_at",
        ]
        read_only_fields = fields


class WebhookSubscriptionWithSecretSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="Shown only when made or rotated: store it now."
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookSubscriptionUpdatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(
        required=False, help_text="Only when the secret was rotated: store it now."
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = WebhookSubscriptionSerializer.Meta.fields


class WebhookSubscriptionCreateSerializer(serializers.Serializer[Any]):
    url = serializers.CharField(max_length=500)
    events = serializers.ListField(
        child=serializers.CharField(max_length=60),
        min_length=1,
        max_length=50,
        help_text="Event types, ticket.* style wildcards, or * for all: " + ", ".join(EVENT_TYPES),
    )
    organization = serializers.SlugField(
        required=False,
        allow_null=True,
        help_text="Leads: an organization's slug, or null for a global subscription. Org admins "
        "always subscribe for their own organization.",
    )
    format = serializers.ChoiceField(
        choices=WebhookSubscription.Format.choices, default=WebhookSubscription.Format.SUPPORTDESK
    )
    description = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )


class WebhookSubscriptionUpdateSerializer(serializers.Serializer[Any]):
    is_active = serializers.BooleanField(required=False)
    rotate_secret = serializers.BooleanField(required=False, default=False)


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    subscription: serializers.PrimaryKeyRelatedField[WebhookSubscription] = (
        serializers.PrimaryKeyRelatedField(read_only=True)
    )
    replay_of: serializers.PrimaryKeyRelatedField[WebhookDelivery] = (
        serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "event_id",
            "event_type",
            "payload",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
            "replay_of",
        ]
        read_only_fields = fields
