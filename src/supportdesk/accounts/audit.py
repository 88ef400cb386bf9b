"""The audit log (leads): sign-ins and failures, token events, role changes, exports. The CSV
download is itself an export, and is recorded as one."""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any, cast

from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from supportdesk.accounts.models import SecurityEvent, User
from supportdesk.accounts.services import security_event_record
from supportdesk.core.pagination import CappedPaginator
from supportdesk.core.views import lead_required

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000


class AuditFilterForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("", "Every event"), *SecurityEvent.Kind.choices],
        required=False,
        widget=forms.Select(attrs={"aria-label": "Event"}),
    )
    who = forms.CharField(
        required=False,
        max_length=254,
        widget=forms.TextInput(attrs={"placeholder": "Email (or part) or IP"}),
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


def audit_events(data: dict[str, Any], tz: dt.tzinfo) -> QuerySet[SecurityEvent]:
    events = SecurityEvent.objects.select_related("user", "actor").order_by("-created_at", "-id")
    if data.get("kind"):
        events = events.filter(kind=data["kind"])
    who = (data.get("who") or "").strip()
    if who:
        condition = (
            Q(email__icontains=who) | Q(user__email__icontains=who) | Q(actor__email__icontains=who)
        )
        if _is_ip(who):
            condition |= Q(ip_address=who)
        events = events.filter(condition)
    if data.get("since"):
        events = events.filter(
            created_at__gte=dt.datetime.combine(data["since"], dt.time(), tzinfo=tz)
        )
    if data.get("until"):
        end = dt.datetime.combine(data["until"], dt.time(), tzinfo=tz) + dt.timedelta(days=1)
        events = events.filter(created_at__lt=end)
    return events


def _is_ip(value: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def describe(event: SecurityEvent) -> str:
    """One line a person can read, from the event's detail."""
    detail = event.detail or {}
    if event.kind in (SecurityEvent.Kind.TOKEN_CREATED, SecurityEvent.Kind.TOKEN_REVOKED):
        text = f"“{detail.get('name', '')}” {detail.get('prefix', '')}…"
        if detail.get("scopes"):
            text += f" scopes {', '.join(detail['scopes'])}"
        return text
    if event.kind == SecurityEvent.Kind.ROLE_CHANGED:
        text = f"{detail.get('from') or 'new account'} → {detail.get('to')}"
        if detail.get("integration"):
            text += " (integration account)"
        return text
    if event.kind == SecurityEvent.Kind.EXPORT:
        return f"{detail.get('what', '')}: {detail.get('rows', '?')} rows"
    return ""


@lead_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    from supportdesk.console.views import base_context

    user = cast(User, request.user)
    form = AuditFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    events = audit_events(data, user.tzinfo)
    page = CappedPaginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    for event in page:
        event.summary = describe(event)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/audit_log.html",
        {
            **base_context(request),
            "nav": "audit",
            "form": form,
            "page": page,
            "query": query.urlencode(),
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@lead_required
@require_GET
def audit_log_export(request: HttpRequest) -> StreamingHttpResponse:
    user = cast(User, request.user)
    form = AuditFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    events = audit_events(data, user.tzinfo)[:EXPORT_LIMIT]
    rows = events.count()
    security_event_record(
        kind=SecurityEvent.Kind.EXPORT,
        request=request,
        user=user,
        actor=user,
        email=user.email,
        detail={
            "what": "audit log",
            "rows": rows,
            "filters": {k: str(v) for k, v in data.items() if v},
        },
    )
    writer = csv.writer(_Echo())

    def lines() -> Any:
        yield writer.writerow(["time_utc", "event", "user", "actor", "email", "ip", "detail"])
        for event in events.iterator(chunk_size=1000):
            yield writer.writerow(
                [
                    event.created_at.astimezone(dt.UTC).isoformat(),
                    event.kind,
                    event.user.email if event.user else "",
                    event.actor.email if event.actor else "",
                    _csv_safe(event.email),
                    event.ip_address or "",
                    _csv_safe(describe(event)),
                ]
            )

    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


def _csv_safe(value: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: neutralise them."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
