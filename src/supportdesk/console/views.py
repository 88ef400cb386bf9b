"""The agent console: thin views that parse, call one service or selector, and render."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from supportdesk.accounts.models import Role, User
from supportdesk.console.forms import (
    AgentReplyForm,
    CcForm,
    NoteForm,
    StaffTicketCreateForm,
    TicketPropertiesForm,
)
from supportdesk.core.forms import apply_service_errors, parse_addresses
from supportdesk.core.pagination import CappedPaginator
from supportdesk.core.views import staff_required
from supportdesk.instances.reports import ticket_panel as instances_panel
from supportdesk.mail.selectors import quarantined_count, ticket_mail_panel
from supportdesk.notifications.selectors import unread_count
from supportdesk.organizations.models import Organization
from supportdesk.slas.selectors import ticket_panel as sla_panel
from supportdesk.tickets import services
from supportdesk.tickets.access import access_ticket, events_visible_to, messages_visible_to
from supportdesk.tickets.models import Channel, Severity, Status, Ticket
from supportdesk.tickets.search import message_search, ticket_lookup
from supportdesk.tickets.selectors import (
    DEFAULT_SORTS,
    QUEUES,
    SORTS,
    organization_recent_tickets,
    queue_counts,
    ticket_queue,
)

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def base_context(request: HttpRequest) -> dict[str, Any]:
    """What every console page's sidebar shows: queue counts and unread notifications."""
    user = _user(request)
    counts = queue_counts(user)
    return {
        "nav_queues": [(key, q.title, counts.get(key)) for key, q in QUEUES.items()],
        "unread_notifications": unread_count(user),
        "quarantined_mail": quarantined_count(),
    }


@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    params = request.GET
    key = params.get("queue", "mine" if user.is_agent else "open")
    if key not in QUEUES:
        key = "open"
    sort = params.get("sort", DEFAULT_SORTS.get(key, "updated"))
    if sort not in SORTS:
        sort = "updated"
    status = params.get("status") or None
    if status not in Status.values:
        status = None
    tickets = ticket_queue(
        user=user,
        queue=key,
        organization_id=_int_or_none(params.get("organization")),
        severity=_int_or_none(params.get("severity")),
        status=status,
        assignee_id=_int_or_none(params.get("assignee")),
        sort=sort,
    )
    page = CappedPaginator(tickets, PAGE_SIZE).get_page(params.get("page"))
    context = {
        **base_context(request),
        "page": page,
        "queue_key": key,
        "queue_title": QUEUES[key].title,
        "sort": sort,
        "sorts": SORTS,
        "filters": {
            "organization": params.get("organization", ""),
            "severity": params.get("severity", ""),
            "status": status or "",
            "assignee": params.get("assignee", ""),
        },
        "organizations": Organization.objects.only("id", "name"),
        "agents": User.objects.filter(role__in=[Role.AGENT, Role.LEAD], is_active=True),
        "statuses": Status.choices,
        "severities": Severity.choices,
        "query_string": params.copy(),
    }
    template = (
        "console/_queue_table.html" if request.headers.get("HX-Request") else "console/queue.html"
    )
    return render(request, template, context)


@staff_required
def search(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    text = request.GET.get("q", "").strip()
    number_match = None
    ticket_matches: list[Ticket] = []
    hits = []
    if text:
        digits = text.lstrip("#")
        if digits.isdigit():
            number_match = Ticket.objects.filter(number=int(digits)).first()
        ticket_matches = ticket_lookup(user, text)
        hits = message_search(user, text)
    return render(
        request,
        "console/search.html",
        {
            **base_context(request),
            "q": text,
            "number_match": number_match,
            "ticket_matches": ticket_matches,
            "hits": hits,
        },
    )


def _ticket_context(request: HttpRequest, ticket: Ticket, **forms: Any) -> dict[str, Any]:
    user = _user(request)
    conversation = (
        messages_visible_to(user, ticket).select_related("author").prefetch_related("attachments")
    )
    organization = ticket.organization
    # Read once, used by the panel and the properties form alike.
    prefetch_related_objects([ticket], "tags")
    instances = instances_panel(ticket)
    health = instances["instance_health"]
    assert isinstance(health, list)
    context = {
        **base_context(request),
        "ticket": ticket,
        "conversation": conversation,
        "events": events_visible_to(user, ticket).select_related("actor"),
        "ccs": ticket.ccs.all(),
        "tags": ticket.tags.all(),
        "recent_tickets": organization_recent_tickets(ticket),
        "organization": organization,
        "contract": organization.active_contract() if organization else None,
        "instances": [instance for instance, _ in health],
        "reply_form": forms.get("reply_form") or AgentReplyForm(tz=user.tzinfo),
        "sla": sla_panel(ticket),
        "note_form": forms.get("note_form") or NoteForm(),
        "properties_form": forms.get("properties_form")
        or TicketPropertiesForm(initial=TicketPropertiesForm.initial_for(ticket), tz=user.tzinfo),
        "cc_form": forms.get("cc_form") or CcForm(),
        "missing_parts": forms.get("missing_parts", []),
        **instances,
        **ticket_mail_panel(ticket),
    }
    if organization is not None:
        context["open_ticket_count"] = organization.tickets.filter(is_open=True).count()
    return context


@staff_required
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    ticket = access_ticket(_user(request), number)
    return render(request, "console/ticket.html", _ticket_context(request, ticket))


@staff_required
@require_POST
def ticket_reply(request: HttpRequest, number: int) -> HttpResponse:
    user = _user(request)
    ticket = access_ticket(user, number)
    form = AgentReplyForm(request.POST, request.FILES, tz=user.tzinfo)
    if not form.is_valid():
        return render(
            request,
            "console/ticket.html",
            _ticket_context(request, ticket, reply_form=form),
            status=400,
        )
    data = form.cleaned_data
    missing = services.reply_parts_missing(
        status=data["status_part"],
        next_steps=data["next_steps_part"],
        expectations=data["expectations_part"],
    )
    if missing and not data["confirm_incomplete"]:
        # The nudge: show what is missing; a second submit with confirm_incomplete sends anyway.
        resubmit = request.POST.copy()
        resubmit["confirm_incomplete"] = "on"
        confirm = AgentReplyForm(resubmit, tz=user.tzinfo)
        return render(
            request,
            "console/ticket.html",
            _ticket_context(request, ticket, reply_form=confirm, missing_parts=missing),
            status=400,
        )
    try:
        services.ticket_reply_add(
            actor=user,
            ticket=ticket,
            body=data["body"],
            status_part=data["status_part"],
            next_steps_part=data["next_steps_part"],
            expectations_part=data["expectations_part"],
            attachments=data["attachments"],
            new_status=data["new_status"] or None,
            resolution_kind=data["resolution_kind"] or None,
            next_update_by=data["next_update_by"],
            channel=Channel.CONSOLE,
        )
    except ValidationError as exc:
        apply_service_errors(form, exc)
        return render(
            request,
            "console/ticket.html",
            _ticket_context(request, ticket, reply_form=form),
            status=400,
        )
    except PermissionDenied as exc:
        flash.error(request, str(exc))
        return redirect("console:ticket", number=ticket.number)
    flash.success(request, "Reply sent.")
    return redirect(reverse("console:ticket", args=[ticket.number]) + "#latest")


@staff_required
@require_POST
def ticket_note(request: HttpRequest, number: int) -> HttpResponse:
    user = _user(request)
    ticket = access_ticket(user, number)
    form = NoteForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.ticket_reply_add(
                actor=user,
                ticket=ticket,
                body=form.cleaned_data["body"],
                internal=True,
                attachments=form.cleaned_data["attachments"],
                channel=Channel.CONSOLE,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            flash.success(request, "Internal note added.")
            return redirect(reverse("console:ticket", args=[ticket.number]) + "#latest")
    return render(
        request, "console/ticket.html", _ticket_context(request, ticket, note_form=form), status=400
    )


@staff_required
@require_POST
def ticket_update(request: HttpRequest, number: int) -> HttpResponse:
    user = _user(request)
    ticket = access_ticket(user, number)
    form = TicketPropertiesForm(request.POST, tz=user.tzinfo)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.ticket_update(
                actor=user,
                ticket=ticket,
                status=data["status"],
                resolution_kind=data["resolution_kind"],
                severity=data["severity"],
                assignee=data["assignee"],
                reported_at=data["reported_at"],
                tags=form.cleaned_tags(),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            flash.success(request, "Ticket updated.")
            return redirect("console:ticket", number=ticket.number)
    ticket.refresh_from_db()
    return render(
        request,
        "console/ticket.html",
        _ticket_context(request, ticket, properties_form=form),
        status=400,
    )


@staff_required
@require_POST
def ticket_ccs(request: HttpRequest, number: int) -> HttpResponse:
    user = _user(request)
    ticket = access_ticket(user, number)
    remove = request.POST.get("remove")
    if remove:
        cc = ticket.ccs.filter(pk=_int_or_none(remove)).first()
        if cc is None:
            raise Http404("No such CC")
        services.ticket_cc_remove(actor=user, ticket=ticket, user=cc)
        flash.success(request, f"{cc.email} removed from CC.")
        return redirect("console:ticket", number=ticket.number)
    form = CcForm(request.POST)
    if form.is_valid():
        try:
            added = services.ticket_ccs_add(
                actor=user, ticket=ticket, addresses=form.cleaned_addresses()
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            flash.success(request, f"Added {len(added)} CC(s).")
            return redirect("console:ticket", number=ticket.number)
    return render(
        request, "console/ticket.html", _ticket_context(request, ticket, cc_form=form), status=400
    )


@staff_required
@require_http_methods(["GET", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = StaffTicketCreateForm(request.POST or None, request.FILES or None, tz=user.tzinfo)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        requester = data["requester"]
        try:
            ccs = services.cc_users_resolve(
                actor=user,
                organization=requester.organization,
                addresses=parse_addresses(data["ccs"]),
            )
            ticket = services.ticket_create(
                actor=user,
                requester=requester,
                subject=data["subject"],
                description=data["description"],
                severity=data["severity"],
                ccs=ccs,
                attachments=data["attachments"],
                channel=Channel.CONSOLE,
                reported_at=data["reported_at"],
                tags=parse_addresses(data["tags"]),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            flash.success(request, f"Ticket #{ticket.number} opened for {requester.email}.")
            return redirect("console:ticket", number=ticket.number)
    return render(
        request,
        "console/ticket_new.html",
        {**base_context(request), "form": form},
        status=400 if request.method == "POST" else 200,
    )


@staff_required
def organizations(request: HttpRequest) -> HttpResponse:
    orgs = Organization.objects.annotate(
        open_tickets=Count("tickets", filter=Q(tickets__is_open=True)),
        instance_count=Count("instances", distinct=True),
    ).order_by("name")
    return render(
        request, "console/organizations.html", {**base_context(request), "organizations": orgs}
    )


@staff_required
def organization_detail(request: HttpRequest, slug: str) -> HttpResponse:
    organization = get_object_or_404(Organization, slug=slug)
    tickets = (
        Ticket.objects.filter(organization=organization)
        .select_related("requester", "assignee")
        .order_by("-updated_at")[:50]
    )
    return render(
        request,
        "console/organization.html",
        {
            **base_context(request),
            "organization": organization,
            "contract": organization.active_contract(),
            "contracts": organization.contracts.all(),
            "instances": organization.instances.all(),
            "members": organization.members.order_by("role", "email"),
            "domains": organization.email_domains.all(),
            "tickets": tickets,
        },
    )
