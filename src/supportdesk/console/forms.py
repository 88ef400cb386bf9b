from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms

from supportdesk.accounts.models import Role, User
from supportdesk.core.forms import (
    AttachmentsField,
    LocalDateTimeField,
    parse_addresses,
    severity_field,
)
from supportdesk.tickets.models import ResolutionKind, Status, Ticket

KEEP = ""


class AgentReplyForm(forms.Form):
    PARTS = ("status_part", "next_steps_part", "expectations_part")

    def __init__(self, *args: Any, tz: zoneinfo.ZoneInfo | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "reply-%s")
        super().__init__(*args, **kwargs)
        field = self.fields["next_update_by"]
        assert isinstance(field, LocalDateTimeField)
        field.tz = tz
        for name in self.PARTS:
            # Not required (the nudge handles a missing part) but not "optional" either.
            self.fields[name].recommended = True  # type: ignore[attr-defined]

    body = forms.CharField(
        label="Message",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "data-reply-focus": ""}),
        help_text="Optional: a greeting or anything that does not fit the three parts below.",
    )
    status_part = forms.CharField(
        label="Status",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "data-part": "Status"}),
        help_text="Where things stand now.",
    )
    next_steps_part = forms.CharField(
        label="Next steps",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "data-part": "Next steps"}),
        help_text="What happens next, and who does it.",
    )
    expectations_part = forms.CharField(
        label="Expectations",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "data-part": "Expectations"}),
        help_text="When the customer hears from us next.",
    )
    next_update_by = LocalDateTimeField(
        label="Next update by",
        required=False,
        help_text="Optional, in your time zone: a commitment tracked like an SLA target (met by "
        "our next public reply, warned on, shown to the customer in their own time zone).",
    )
    new_status = forms.ChoiceField(
        label="Then set status",
        required=False,
        choices=[(KEEP, "Keep status"), *[(s.value, s.label) for s in Status]],
    )
    resolution_kind = forms.ChoiceField(
        label="Resolution",
        required=False,
        choices=[("", "—"), *ResolutionKind.choices],
    )
    attachments = AttachmentsField()
    confirm_incomplete = forms.BooleanField(required=False, widget=forms.HiddenInput)


class NoteForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "note-%s")
        super().__init__(*args, **kwargs)

    body = forms.CharField(label="Internal note", widget=forms.Textarea(attrs={"rows": 3}))
    attachments = AttachmentsField()


class TicketPropertiesForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)
    resolution_kind = forms.ChoiceField(
        label="Resolution", required=False, choices=[("", "—"), *ResolutionKind.choices]
    )
    severity = severity_field()
    assignee = forms.ModelChoiceField(
        queryset=User.objects.filter(role__in=[Role.AGENT, Role.LEAD], is_active=True),
        required=False,
        empty_label="Unassigned",
    )
    reported_at = LocalDateTimeField(
        label="Reported at",
        help_text="When we became aware of the issue (a call, a chat…). SLA clocks start here.",
    )
    tags = forms.CharField(required=False, help_text="Comma-separated")

    def __init__(self, *args: Any, tz: zoneinfo.ZoneInfo, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "ticket-%s")
        super().__init__(*args, **kwargs)
        field = self.fields["reported_at"]
        assert isinstance(field, LocalDateTimeField)
        field.tz = tz

    @classmethod
    def initial_for(cls, ticket: Ticket) -> dict[str, Any]:
        return {
            "status": ticket.status,
            "resolution_kind": ticket.resolution_kind,
            "severity": ticket.severity,
            "assignee": ticket.assignee_id,
            "reported_at": ticket.reported_at,
            "tags": ", ".join(t.name for t in ticket.tags.all()),
        }

    def cleaned_tags(self) -> list[str]:
        return parse_addresses(self.cleaned_data.get("tags", ""))


class CcForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "cc-%s")
        super().__init__(*args, **kwargs)

    addresses = forms.CharField(label="Add CCs", help_text="Email addresses, comma-separated")

    def cleaned_addresses(self) -> list[str]:
        return parse_addresses(self.cleaned_data["addresses"])


class StaffTicketCreateForm(forms.Form):
    requester = forms.EmailField(
        help_text="The customer's (or community user's) email address. They must exist already."
    )
    subject = forms.CharField(max_length=250)
    severity = severity_field()
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}))
    reported_at = LocalDateTimeField(
        required=False,
        help_text="If the customer told us earlier (a call, a chat), when. Empty: now.",
    )
    ccs = forms.CharField(label="CCs", required=False)
    tags = forms.CharField(required=False)
    attachments = AttachmentsField()

    def __init__(self, *args: Any, tz: zoneinfo.ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reported_at"]
        assert isinstance(field, LocalDateTimeField)
        field.tz = tz

    def clean_requester(self) -> User:
        email = self.cleaned_data["requester"]
        user = User.objects.filter(email=email.strip().lower()).first()
        if user is None or user.is_staff:
            raise forms.ValidationError("No customer or community user has this address.")
        return user
