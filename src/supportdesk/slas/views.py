"""Lead pages: calendars (edit, import/export TOML, versions), policies and contract policies
(with a what-if preview before saving), the on-call rota, and the SLA reports (charts and CSV)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from supportdesk.accounts.models import User
from supportdesk.console.views import base_context
from supportdesk.core.forms import apply_service_errors
from supportdesk.core.views import lead_required
from supportdesk.sla import CalendarError, calendar_from_toml
from supportdesk.slas import policies, reports
from supportdesk.slas.forms import CalendarForm, PolicyForm, ReportForm, ShiftForm
from supportdesk.slas.models import Calendar, OnCallShift, SlaPolicy


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _page(request: HttpRequest, template: str, status: int = 200, **context: Any) -> HttpResponse:
    return render(
        request, template, {**base_context(request), "nav": "sla", **context}, status=status
    )


@lead_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    return _page(
        request,
        "slas/index.html",
        policies=SlaPolicy.objects.select_related("contract__organization").prefetch_related(
            "targets__calendar"
        ),
        calendars=Calendar.objects.prefetch_related("versions"),
        on_call=policies.on_call_at(now),
    )


# ---------------------------------------------------------------------------------------------
# Calendars


@lead_required
@require_http_methods(["GET", "POST"])
def calendar_new(request: HttpRequest) -> HttpResponse:
    form = CalendarForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            calendar = policies.calendar_create(
                actor=_user(request),
                name=data["name"],
                description=data["description"],
                toml=data["toml"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            flash.success(request, f"Calendar {calendar.name} created.")
            return redirect("slas:calendar", calendar_id=calendar.pk)
    return _page(request, "slas/calendar.html", 400 if request.method == "POST" else 200, form=form)


@lead_required
@require_http_methods(["GET", "POST"])
def calendar_detail(request: HttpRequest, calendar_id: int) -> HttpResponse:
    calendar = get_object_or_404(Calendar, pk=calendar_id)
    versions = list(calendar.versions.select_related("created_by").order_by("-id"))
    initial = {"toml": versions[0].toml, "whatif_months": 3}
    form = CalendarForm(request.POST or None, request.FILES or None, initial=initial, editing=True)
    whatif = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if "preview" in request.POST:
            try:
                draft = calendar_from_toml(data["toml"], source=calendar.name)
            except CalendarError as exc:
                form.add_error("toml", str(exc))
            else:
                whatif = reports.what_if(
                    months=data["whatif_months"] or 3, calendar_id=calendar.pk, draft_calendar=draft
                )
        else:
            try:
                version = policies.calendar_update(
                    actor=_user(request), calendar=calendar, toml=data["toml"], note=data["note"]
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                flash.success(
                    request,
                    "No change."
                    if version is None
                    else "Saved: in effect from now on. Open "
                    "tickets on this calendar are being recomputed.",
                )
                return redirect("slas:calendar", calendar_id=calendar.pk)
    return _page(
        request,
        "slas/calendar.html",
        400 if request.method == "POST" and form.errors else 200,
        form=form,
        calendar=calendar,
        versions=versions,
        whatif=whatif,
    )


@lead_required
@require_GET
def calendar_export(request: HttpRequest, calendar_id: int) -> HttpResponse:
    calendar = get_object_or_404(Calendar, pk=calendar_id)
    version = calendar.versions.order_by("-id").first()
    response = HttpResponse(version.toml if version else "", content_type="application/toml")
    response["Content-Disposition"] = f'attachment; filename="{calendar.slug}.toml"'
    return response


# ---------------------------------------------------------------------------------------------
# Policies


def _policy_page(
    request: HttpRequest, policy: SlaPolicy | None, form: PolicyForm, **extra: Any
) -> HttpResponse:
    status = 400 if request.method == "POST" and form.errors else 200
    return _page(request, "slas/policy.html", status, form=form, policy=policy, **extra)


def _draft_targets(form: PolicyForm) -> dict[tuple[int, str], reports.DraftTarget]:
    return {
        (spec.severity, spec.metric): reports.DraftTarget(spec.seconds, spec.calendar.pk)
        for spec in form.targets()
        if spec.seconds is not None and spec.calendar is not None
    }


@lead_required
@require_http_methods(["GET", "POST"])
def policy_detail(request: HttpRequest, policy_id: int) -> HttpResponse:
    policy = get_object_or_404(SlaPolicy.objects.select_related("contract"), pk=policy_id)
    form = PolicyForm(request.POST or None, initial=PolicyForm.initial_for(policy))
    whatif = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if "preview" in request.POST:
            whatif = reports.what_if(
                months=data["whatif_months"] or 3,
                policy_id=policy.pk,
                draft_targets=_draft_targets(form),
            )
        else:
            try:
                policies.policy_save(
                    actor=_user(request),
                    policy=policy,
                    name=data["name"],
                    description=data["description"],
                    targets=form.targets(),
                    warn_at_percent=data["warn_at_percent"],
                    warn_minutes_before=data["warn_minutes_before"],
                    is_active=data["is_active"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                flash.success(request, "Policy saved. Its open tickets are being recomputed.")
                return redirect("slas:policy", policy_id=policy.pk)
    return _policy_page(request, policy, form, whatif=whatif)


@lead_required
@require_http_methods(["GET", "POST"])
def policy_new(request: HttpRequest) -> HttpResponse:
    form = PolicyForm(request.POST or None, contracts=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            policy = policies.policy_save(
                actor=_user(request),
                name=data["name"],
                description=data["description"],
                contract=data["contract"],
                targets=form.targets(),
                warn_at_percent=data["warn_at_percent"],
                warn_minutes_before=data["warn_minutes_before"],
                is_active=data["is_active"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            flash.success(request, f"Contract policy {policy.name} created.")
            return redirect("slas:policy", policy_id=policy.pk)
    return _policy_page(request, None, form)


# ---------------------------------------------------------------------------------------------
# On-call rota


@lead_required
@require_http_methods(["GET", "POST"])
def on_call(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = ShiftForm(request.POST or None, tz=user.tzinfo)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            policies.on_call_shift_add(
                actor=user,
                user=data["user"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                note=data["note"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            flash.success(request, "Shift added.")
            return redirect("slas:on_call")
    now = timezone.now()
    shifts = OnCallShift.objects.filter(ends_at__gte=now - dt.timedelta(days=7))
    return _page(
        request,
        "slas/on_call.html",
        400 if request.method == "POST" else 200,
        form=form,
        shifts=shifts.select_related("user"),
        now=now,
        current=policies.on_call_at(now),
    )


@lead_required
@require_POST
def on_call_remove(request: HttpRequest, shift_id: int) -> HttpResponse:
    shift = get_object_or_404(OnCallShift, pk=shift_id)
    policies.on_call_shift_remove(actor=_user(request), shift=shift)
    flash.success(request, "Shift removed.")
    return redirect("slas:on_call")


# ---------------------------------------------------------------------------------------------
# Reports


@lead_required
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.GET or None)
    group, months = "metric", 6
    if form.is_valid():
        group = form.cleaned_data["group"] or "metric"
        months = form.cleaned_data["months"] or 6
    groups = reports.attainment(group_by=group, months=months)
    if request.GET.get("format") == "csv":
        response = HttpResponse(reports.attainment_csv(groups, group), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="sla-{group}-{months}m.csv"'
        return response
    scale = max((g.total for g in groups), default=0) or 1
    return _page(
        request,
        "slas/report.html",
        form=form,
        groups=groups,
        group=group,
        group_label=reports.DIMENSIONS[group],
        months=months,
        chart=[(g, g.bars(width=320, scale=scale)) for g in groups],
        chart_height=28 * len(groups) + 8,
    )
