"""The customer portal: open tickets, follow them, reply. Customers see only what access allows."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from supportdesk.accounts.models import User
from supportdesk.core.forms import apply_service_errors
from supportdesk.core.views import customer_required
from supportdesk.portal.forms import ReplyForm, TicketCreateForm
from supportdesk.slas.selectors import customer_promise
from supportdesk.tickets import services
from supportdesk.tickets.access import (
    access_ticket,
    events_visible_to,
    messages_visible_to,
    tickets_visible_to,
)
from supportdesk.tickets.models import Channel
from supportdesk.tickets.search import message_search


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


@customer_required
def tickets(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    show = request.GET.get("show", "open")
    visible = tickets_visible_to(user).select_related("requester", "assignee")
    if show == "open":
        visible = visible.filter(is_open=True)
    elif show == "solved":
        visible = visible.filter(is_open=False)
    page = Paginator(visible.order_by("-updated_at", "-id"), 25).get_page(request.GET.get("page"))
    return render(request, "portal/tickets.html", {"page": page, "show": show})


@customer_required
@require_http_methods(["GET", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = TicketCreateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ccs = services.cc_users_resolve(
                actor=user, organization=user.organization, addresses=form.cleaned_ccs()
            )
            ticket = services.ticket_create(
                actor=user,
                subject=data["subject"],
                description=data["description"],
                severity=data["severity"],
                ccs=ccs,
                attachments=data["attachments"],
                channel=Channel.PORTAL,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            flash.success(request, f"Ticket #{ticket.number} opened. We'll be in touch.")
            return redirect("portal:ticket", number=ticket.number)
    return render(
        request,
        "portal/ticket_new.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )


def _ticket_context(request: HttpRequest, number: int, **extra: Any) -> dict[str, Any]:
    user = _user(request)
    ticket = access_ticket(user, number)
    return {
        "ticket": ticket,
        "conversation": messages_visible_to(user, ticket)
        .select_related("author")
        .prefetch_related("attachments"),
        "events": events_visible_to(user, ticket).select_related("actor"),
        "ccs": ticket.ccs.all(),
        "reply_form": extra.get("reply_form") or ReplyForm(),
        "promise": customer_promise(ticket, zone=user.tzinfo),
    }


@customer_required
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    return render(request, "portal/ticket.html", _ticket_context(request, number))


@customer_required
@require_POST
def ticket_reply(request: HttpRequest, number: int) -> HttpResponse:
    user = _user(request)
    ticket = access_ticket(user, number)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.ticket_reply_add(
                actor=user,
                ticket=ticket,
                body=form.cleaned_data["body"],
                attachments=form.cleaned_data["attachments"],
                channel=Channel.PORTAL,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            flash.success(request, "Reply sent.")
            return redirect(reverse("portal:ticket", args=[ticket.number]) + "#latest")
    return render(
        request, "portal/ticket.html", _ticket_context(request, number, reply_form=form), status=400
    )


@customer_required
def search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "").strip()
    hits = message_search(_user(request), text) if text else []
    return render(request, "portal/search.html", {"q": text, "hits": hits})
