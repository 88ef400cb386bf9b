from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from supportdesk.accounts.models import Role, User
from supportdesk.core.testing import make_ticket, make_user
from supportdesk.tickets import services
from supportdesk.tickets.models import Status, Ticket, TicketEvent
from supportdesk.tickets.services import UploadedAttachment

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 17, 0, tzinfo=dt.UTC)


def events(ticket: Ticket) -> list[tuple[str, str, str]]:
    return [(e.kind, e.old_value, e.new_value) for e in ticket.events.all()]


def test_a_customer_opens_a_ticket_for_their_organization_starting_the_clock_now(contact: User):
    ticket = make_ticket(contact, severity=1, now=NOW)
    assert ticket.organization == contact.organization
    assert ticket.requester == contact
    assert ticket.reported_at == NOW == ticket.created_at
    assert ticket.status == Status.NEW
    assert ticket.messages.get().body_text == "Nothing works since the upgrade."
    assert events(ticket) == [("created", "", "Severity 1")]


def test_ticket_numbers_are_human_friendly_and_unique(contact: User):
    numbers = [make_ticket(contact).number for _ in range(3)]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 3
    assert numbers[0] >= services.TICKET_NUMBER_START


def test_staff_log_an_issue_reported_earlier_and_the_audit_says_so(internal: User, contact: User):
    earlier = NOW - dt.timedelta(hours=5)
    ticket = make_ticket(contact, actor=internal, reported_at=earlier, now=NOW)
    assert ticket.reported_at == earlier
    assert ("reported_at", NOW.isoformat(), earlier.isoformat()) in events(ticket)


@pytest.mark.parametrize(
    ("offset", "message"),
    [(dt.timedelta(minutes=1), "cannot be later"), (-dt.timedelta(days=400), "more than a year")],
)
def test_reported_at_must_be_plausible(agent: User, contact: User, offset, message):
    with pytest.raises(ValidationError, match=message):
        make_ticket(contact, actor=agent, reported_at=NOW + offset, now=NOW)


def test_customers_cannot_backdate_or_open_tickets_for_others(contact: User, colleague: User):
    with pytest.raises(PermissionDenied):
        make_ticket(contact, actor=contact, reported_at=NOW - dt.timedelta(hours=1), now=NOW)
    with pytest.raises(PermissionDenied):
        make_ticket(colleague, actor=contact)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("subject", {"subject": "   "}),
        ("description", {"description": ""}),
        ("severity", {"severity": 3}),
    ],
)
def test_bad_input_names_the_field(contact: User, field: str, kwargs):
    with pytest.raises(ValidationError) as error:
        make_ticket(contact, **kwargs)
    assert field in error.value.message_dict


def test_customer_reply_reopens_a_ticket_that_waits_on_them_or_is_solved(agent, contact):
    ticket = make_ticket(contact)
    services.ticket_update(actor=agent, ticket=ticket, status=Status.WAITING_ON_CUSTOMER)
    services.ticket_reply_add(actor=contact, ticket=ticket, body="Here are the logs.")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    services.ticket_update(
        actor=agent, ticket=ticket, status=Status.SOLVED, resolution_kind="workaround"
    )
    services.ticket_reply_add(actor=contact, ticket=ticket, body="It broke again.")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.solved_at is None


def test_an_agents_first_public_reply_opens_a_new_ticket_and_renders_the_three_parts(
    agent, contact
):
    ticket = make_ticket(contact)
    message = services.ticket_reply_add(
        actor=agent,
        ticket=ticket,
        body="Hi Alice,",
        status_part="We reproduced it.",
        next_steps_part="Engineering is preparing a patch.",
        expectations_part="Next update by Thursday 12:00 PT.",
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert message.body_text == (
        "Hi Alice,\n\nStatus: We reproduced it.\n\nNext steps: Engineering is preparing a "
        "patch.\n\nWhat to expect: Next update by Thursday 12:00 PT."
    )
    assert "<h4>Status</h4><p>We reproduced it.</p>" in message.body_html
    assert services.reply_parts_missing(status="x", next_steps="", expectations=" ") == [
        "Next steps",
        "Expectations",
    ]


def test_internal_notes_are_for_staff_and_internal_teammates_do_not_reply_publicly(
    contact, internal
):
    ticket = make_ticket(contact)
    with pytest.raises(PermissionDenied):
        services.ticket_reply_add(actor=contact, ticket=ticket, body="x", internal=True)
    note = services.ticket_reply_add(actor=internal, ticket=ticket, body="Known bug", internal=True)
    assert note.is_internal
    with pytest.raises(PermissionDenied):
        services.ticket_reply_add(actor=internal, ticket=ticket, body="Hello customer")


def test_a_closed_ticket_takes_no_customer_reply(agent, contact):
    ticket = make_ticket(contact)
    services.ticket_update(actor=agent, ticket=ticket, status=Status.CLOSED)
    with pytest.raises(ValidationError, match="closed"):
        services.ticket_reply_add(actor=contact, ticket=ticket, body="hello?")


def test_solving_needs_a_resolution_kind(agent, contact):
    ticket = make_ticket(contact)
    with pytest.raises(ValidationError) as error:
        services.ticket_update(actor=agent, ticket=ticket, status=Status.SOLVED)
    assert "resolution_kind" in error.value.message_dict
    services.ticket_update(
        actor=agent, ticket=ticket, status=Status.SOLVED, resolution_kind="fix", now=NOW
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolution_kind, ticket.solved_at) == ("solved", "fix", NOW)


def test_every_change_is_an_immutable_audit_event_with_old_and_new(agent, lead, contact):
    ticket = make_ticket(contact)
    version = ticket.version
    services.ticket_update(
        actor=agent,
        ticket=ticket,
        severity=1,
        assignee=lead,
        tags=["Upgrade", "search"],
        status=Status.WAITING_ON_US,
    )
    ticket.refresh_from_db()
    assert ticket.version == version + 1
    recorded = events(ticket)
    assert ("severity", "2", "1") in recorded
    assert ("assignee", "", lead.email) in recorded
    assert ("tags", "", "search, upgrade") in recorded
    assert ("status", "new", "waiting_on_us") in recorded
    event = ticket.events.last()
    with pytest.raises(ValueError, match="immutable"):
        event.save()
    with pytest.raises(ValueError, match="immutable"):
        event.delete()
    # Saying the same thing again changes nothing and records nothing.
    count = TicketEvent.objects.count()
    services.ticket_update(actor=agent, ticket=ticket, severity=1, assignee=lead)
    assert TicketEvent.objects.count() == count


def test_a_stale_update_is_refused_and_changes_nothing(agent, contact):
    ticket = make_ticket(contact)
    seen = ticket.version
    services.ticket_update(actor=agent, ticket=ticket, severity=1)
    with pytest.raises(services.StaleTicket, match="changed by someone else"):
        services.ticket_update(actor=agent, ticket=ticket, severity=2, expected_version=seen)
    ticket.refresh_from_db()
    assert ticket.severity == 1


def test_only_agents_change_tickets_and_assignees_must_be_agents(contact, internal, agent):
    ticket = make_ticket(contact)
    for actor in (contact, internal):
        with pytest.raises(PermissionDenied):
            services.ticket_update(actor=actor, ticket=ticket, severity=1)
    with pytest.raises(ValidationError):
        services.ticket_update(actor=agent, ticket=ticket, assignee=internal)


def test_ccs_stay_inside_the_organization(contact, colleague, outsider, agent, org):
    ticket = make_ticket(contact)
    assert services.ticket_ccs_add(actor=contact, ticket=ticket, addresses=[colleague.email]) == [
        colleague
    ]
    with pytest.raises(ValidationError, match="not part of this organization"):
        services.ticket_ccs_add(actor=contact, ticket=ticket, addresses=[outsider.email])
    with pytest.raises(ValidationError, match="not a member"):
        services.ticket_ccs_add(actor=contact, ticket=ticket, addresses=["x@elsewhere.test"])
    # An unknown colleague at the organization's domain becomes a contact.
    [new] = services.ticket_ccs_add(actor=agent, ticket=ticket, addresses=["NEW@acme.test"])
    assert (new.email, new.role, new.organization) == ("new@acme.test", Role.CONTACT, org)
    assert not new.has_usable_password()
    services.ticket_cc_remove(actor=colleague, ticket=ticket, user=colleague)
    assert set(ticket.ccs.all()) == {new}


def test_attachments_are_size_limited_sniffed_and_safely_named(contact, settings):
    settings.SUPPORTDESK_ATTACHMENT_MAX_BYTES = 1000
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    ticket = make_ticket(
        contact,
        attachments=[
            UploadedAttachment("../../etc/passwd", b"root:x:0:0"),
            UploadedAttachment("screenshot.txt", png),
        ],
    )
    first, second = ticket.attachments.order_by("filename")
    assert (first.filename, first.content_type) == ("passwd", "text/plain")
    assert (second.filename, second.content_type) == ("screenshot.txt", "image/png")
    assert second.file.name.startswith("attachments/")
    assert "screenshot" not in str(second.file.name)
    with pytest.raises(ValidationError, match="the limit is 1,000 bytes"):
        make_ticket(contact, attachments=[UploadedAttachment("big.log", b"x" * 1001)])
    assert Ticket.objects.count() == 1  # nothing half-created


def test_safe_filename_handles_hostile_names():
    assert services.safe_filename("..\\..\\boot.ini") == "boot.ini"
    assert services.safe_filename("a\x00b\r\n.txt") == "a_b_.txt"
    assert services.safe_filename("...") == "attachment"
    long = services.safe_filename("x" * 300 + ".log")
    assert len(long) <= 150
    assert long.endswith(".log")


def test_autoclose_closes_tickets_solved_long_enough_and_is_safe_to_rerun(agent, contact):
    old = make_ticket(contact)
    recent = make_ticket(contact)
    now = timezone.now()
    services.ticket_update(
        actor=agent,
        ticket=old,
        status=Status.SOLVED,
        resolution_kind="answer",
        now=now - dt.timedelta(days=8),
    )
    services.ticket_update(
        actor=agent,
        ticket=recent,
        status=Status.SOLVED,
        resolution_kind="answer",
        now=now - dt.timedelta(days=1),
    )
    assert services.tickets_autoclose(now=now) == 1
    assert services.tickets_autoclose(now=now) == 0
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.status, recent.status) == (Status.CLOSED, Status.SOLVED)
    assert old.events.last().actor is None


def test_deactivated_requesters_cannot_get_new_tickets(agent, org):
    gone = make_user(Role.CONTACT, organization=org, is_active=False)
    with pytest.raises(ValidationError, match="deactivated"):
        make_ticket(gone, actor=agent)
