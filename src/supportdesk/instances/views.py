"""Pages for managed instances: the console (staff), the portal (the customer) and the private
status page and feeds (a secret token). Thin: parse, call one service or selector, render."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from supportdesk.accounts.models import User
from supportdesk.availability import PeriodError, parse_period
from supportdesk.console.views import base_context
from supportdesk.core.forms import apply_service_errors
from supportdesk.core.views import customer_required, staff_required
from supportdesk.instances import access, feeds, incidents, maintenance, monitoring, reports
from supportdesk.instances.forms import (
    AvailabilitySettingsForm,
    CancelForm,
    IncidentUpdateForm,
    MonitorForm,
    WindowProposeForm,
    WindowTimesForm,
)
from supportdesk.instances.models import (
    OPEN_WINDOW_STATUSES,
    AvailabilitySettings,
    Incident,
    IncidentStatus,
    MaintenanceWindow,
    WindowStatus,
    new_status_token,
)
from supportdesk.organizations.models import ManagedInstance, Organization

INSTANCES_PER_PAGE = 25


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


CONSOLE = {
    "ns": "console",
    "url_instance": "instances_console:instance",
    "url_window": "instances_console:maintenance",
    "url_incident": "instances_console:incident",
    "url_window_action": "instances_console:maintenance_action",
}
PORTAL = {
    "ns": "portal",
    "url_instance": "instances_portal:instance",
    "url_window": "instances_portal:maintenance",
    "url_incident": "instances_portal:incident",
    "url_window_action": "instances_portal:maintenance_action",
}


def _overviews(instances: list[ManagedInstance], organization: Organization | None) -> list[Any]:
    now = timezone.now()
    result = []
    for instance in instances:
        settings_row = reports.availability_settings(organization or instance.organization)
        result.append(
            reports.instance_overview(
                instance, tz=settings_row.time_zone, target=settings_row.exact_target, now=now
            )
        )
    return result


def _status_context(organization: Organization, instances: list[ManagedInstance]) -> dict[str, Any]:
    now = timezone.now()
    upcoming, past = reports.windows_for_page(instances, now=now)
    return {
        "organization": organization,
        "overviews": _overviews(instances, organization),
        "upcoming": [(w, maintenance.verdict_of(w, now=now)) for w in upcoming],
        "past": [(w, maintenance.verdict_of(w, now=now)) for w in past],
        "incidents": list(
            organization.incidents.select_related("instance", "ticket").prefetch_related("updates")[
                :20
            ]
        ),
        "settings_row": reports.availability_settings(organization),
        "now": now,
    }


def _period(request: HttpRequest, tz: str) -> tuple[Any, str]:
    text = request.GET.get("period") or timezone.now().astimezone().strftime("%Y-%m")
    try:
        return parse_period(text, tz=tz, now=timezone.now()), ""
    except PeriodError as error:
        return parse_period("30d", tz=tz, now=timezone.now()), str(error)


def _report_response(
    request: HttpRequest, organization: Organization, template: str, extra: dict[str, Any]
) -> HttpResponse:
    settings_row = reports.availability_settings(organization)
    period, error = _period(request, settings_row.time_zone)
    report = reports.organization_report(
        organization, period, tz=settings_row.time_zone, target=settings_row.exact_target
    )
    if request.GET.get("format") == "csv":
        response = HttpResponse(reports.report_csv(report), content_type="text/csv; charset=utf-8")
        name = f"availability-{organization.slug}-{period.label or 'period'}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    now = timezone.now().astimezone()
    months = [f"{now.year}-{m:02d}" for m in range(now.month, 0, -1)][:6]
    quarters = [f"{now.year}-Q{q}" for q in range((now.month - 1) // 3 + 1, 0, -1)]
    return render(
        request,
        template,
        {
            **extra,
            "organization": organization,
            "report": report,
            "period_error": error,
            "choices": ["30d", *months, *quarters],
            "printable": request.GET.get("print") == "1",
        },
    )


# --- console ----------------------------------------------------------------------------------


@staff_required
@require_GET
def console_instances(request: HttpRequest) -> HttpResponse:
    page = Paginator(
        ManagedInstance.objects.select_related("organization", "monitor").order_by(
            "organization__name", "name"
        ),
        INSTANCES_PER_PAGE,
    ).get_page(request.GET.get("page"))
    instances = list(page)
    return render(
        request,
        "instances/console_list.html",
        {
            **base_context(request),
            **CONSOLE,
            "nav": "instances",
            "overviews": _overviews(instances, None),
            "page": page,
            "open_incidents": list(
                Incident.objects.exclude(status=IncidentStatus.RESOLVED).select_related(
                    "instance", "organization", "ticket"
                )
            ),
            "pending": list(
                MaintenanceWindow.objects.filter(status=WindowStatus.PROPOSED)
                .select_related("instance", "organization", "proposed_by")
                .order_by("start")
            ),
        },
    )


@staff_required
@require_GET
def console_instance(request: HttpRequest, name: str) -> HttpResponse:
    instance = access.access_instance(_user(request), name)
    return _console_instance_page(request, instance)


def _console_instance_page(
    request: HttpRequest, instance: ManagedInstance, *, status: int = 200, **forms: Any
) -> HttpResponse:
    user = _user(request)
    monitor = monitoring.monitor_for(instance)
    context = _status_context(instance.organization, [instance])
    monitor_form = forms.get("monitor_form") or MonitorForm(
        initial={
            "health_url": instance.health_url,
            "enabled": monitor.enabled,
            "expected_status": monitor.expected_status,
            "body_keyword": monitor.body_keyword,
            "timeout_seconds": monitor.timeout_seconds,
            "interval_seconds": monitor.interval_seconds,
            "max_gap_seconds": monitor.max_gap_seconds,
            "failures_to_down": monitor.failures_to_down,
            "quorum": monitor.quorum,
        }
    )
    propose_form = forms.get("propose_form") or WindowProposeForm(
        instances=ManagedInstance.objects.filter(pk=instance.pk),
        initial={"instance": instance.pk},
        tz=user.tzinfo,
    )
    context["incidents"] = [i for i in context["incidents"] if i.instance_id == instance.pk]
    return render(
        request,
        "instances/console_instance.html",
        {
            **base_context(request),
            **CONSOLE,
            **context,
            "nav": "instances",
            "instance": instance,
            "monitor": monitor,
            "locations": list(monitor.locations.all()),
            "monitor_form": monitor_form,
            "propose_form": propose_form,
        },
        status=status,
    )


@staff_required
@require_POST
def console_monitor(request: HttpRequest, name: str) -> HttpResponse:
    user = _user(request)
    instance = access.access_instance(user, name)
    form = MonitorForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            monitoring.monitor_configure(actor=user, instance=instance, **data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            flash.success(request, "Monitoring settings saved.")
            return redirect("instances_console:instance", name=instance.name)
    return _console_instance_page(request, instance, monitor_form=form, status=400)


@staff_required
@require_POST
def console_propose(request: HttpRequest, name: str) -> HttpResponse:
    user = _user(request)
    instance = access.access_instance(user, name)
    form = WindowProposeForm(
        request.POST, instances=ManagedInstance.objects.filter(pk=instance.pk), tz=user.tzinfo
    )
    if form.is_valid():
        window = _propose(user, form)
        if window is not None:
            flash.success(request, _proposed_message(window))
            return redirect("instances_console:maintenance", window_id=window.pk)
    return _console_instance_page(request, instance, propose_form=form, status=400)


def _propose(user: User, form: WindowProposeForm) -> MaintenanceWindow | None:
    data = form.cleaned_data
    try:
        return maintenance.maintenance_window_propose(
            actor=user,
            instance=data["instance"],
            title=data["title"],
            description=data["description"],
            start=data["start"],
            end=data["end"],
            emergency=data["emergency"],
            emergency_reason=data["emergency_reason"],
        )
    except ValidationError as exc:
        apply_service_errors(form, exc)
    except PermissionDenied as exc:
        form.add_error(None, str(exc))
    return None


def _proposed_message(window: MaintenanceWindow) -> str:
    if window.status == WindowStatus.SCHEDULED:
        return "Emergency maintenance scheduled; the customer has been notified."
    return "Maintenance proposed; it is scheduled once the other side confirms it."


def _window_page(
    request: HttpRequest,
    window: MaintenanceWindow,
    template: str,
    extra: dict[str, Any],
    *,
    status: int = 200,
    **forms: Any,
) -> HttpResponse:
    user = _user(request)
    now = timezone.now()
    proposer = window.proposed_by
    can_manage = access.may_manage_maintenance(user, window.organization)
    return render(
        request,
        template,
        {
            **extra,
            "window": window,
            "verdict": maintenance.verdict_of(window, now=now),
            "events": window.events.select_related("actor"),
            "incidents_of_window": window.incidents.all(),
            "can_manage": can_manage and window.status in OPEN_WINDOW_STATUSES,
            "can_confirm": can_manage
            and window.status == WindowStatus.PROPOSED
            and (proposer is None or proposer.is_staff != user.is_staff),
            "can_change": can_manage
            and window.status in (WindowStatus.PROPOSED, WindowStatus.SCHEDULED),
            "can_complete": user.is_agent
            and window.status in (WindowStatus.IN_PROGRESS, WindowStatus.OVERRUNNING),
            "reschedule_form": forms.get("reschedule_form")
            or WindowTimesForm(
                initial={
                    "start": window.start,
                    "end": window.end,
                    "emergency": window.emergency,
                    "emergency_reason": window.emergency_reason,
                },
                tz=user.tzinfo,
            ),
            "cancel_form": forms.get("cancel_form") or CancelForm(),
            "confirm_error": forms.get("confirm_error", ""),
        },
        status=status,
    )


def _window_action(
    request: HttpRequest,
    window: MaintenanceWindow,
    action: str,
    page: Callable[..., HttpResponse],
    detail_url: str,
) -> HttpResponse:
    user = _user(request)
    try:
        if action == "confirm":
            maintenance.maintenance_window_confirm(actor=user, window=window)
            flash.success(request, "Confirmed: the maintenance is scheduled and announced.")
        elif action == "reschedule":
            form = WindowTimesForm(request.POST, tz=user.tzinfo)
            if not form.is_valid():
                return page(request, window, status=400, reschedule_form=form)
            try:
                maintenance.maintenance_window_reschedule(
                    actor=user, window=window, **form.cleaned_data
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
                return page(request, window, status=400, reschedule_form=form)
            flash.success(request, "Rescheduled: the other side confirms the new times.")
        elif action == "cancel":
            cancel = CancelForm(request.POST)
            if not cancel.is_valid():
                return page(request, window, status=400, cancel_form=cancel)
            maintenance.maintenance_window_cancel(
                actor=user, window=window, reason=cancel.cleaned_data["reason"]
            )
            flash.success(request, "Cancelled; the organization has been told.")
        elif action == "complete":
            maintenance.maintenance_window_complete(actor=user, window=window)
            flash.success(request, "Marked complete.")
        else:
            raise Http404("No such action")
    except ValidationError as exc:
        return page(request, window, status=400, confirm_error=" ".join(exc.messages))
    except PermissionDenied as exc:
        return page(request, window, status=400, confirm_error=str(exc))
    return redirect(detail_url)


@staff_required
@require_GET
def console_window(request: HttpRequest, window_id: int) -> HttpResponse:
    return _console_window_page(request, access.access_window(_user(request), window_id))


def _console_window_page(
    request: HttpRequest, window: MaintenanceWindow, *, status: int = 200, **forms: Any
) -> HttpResponse:
    extra = {**base_context(request), **CONSOLE, "nav": "instances"}
    return _window_page(
        request, window, "instances/console_window.html", extra, status=status, **forms
    )


@staff_required
@require_POST
def console_window_action(request: HttpRequest, window_id: int, action: str) -> HttpResponse:
    window = access.access_window(_user(request), window_id)
    return _window_action(
        request,
        window,
        action,
        _console_window_page,
        reverse("instances_console:maintenance", args=[window.pk]),
    )


@staff_required
@require_http_methods(["GET", "POST"])
def console_incident(request: HttpRequest, incident_id: int) -> HttpResponse:
    user = _user(request)
    incident = access.access_incident(user, incident_id)
    form = IncidentUpdateForm(request.POST or None, initial={"status": incident.status})
    if request.method == "POST" and form.is_valid():
        try:
            incidents.incident_update_post(
                actor=user,
                incident=incident,
                status=form.cleaned_data["status"],
                message=form.cleaned_data["message"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            flash.success(request, "Update posted; the customer has been told.")
            return redirect("instances_console:incident", incident_id=incident.pk)
    return render(
        request,
        "instances/console_incident.html",
        {
            **base_context(request),
            **CONSOLE,
            "nav": "instances",
            "incident": incident,
            "updates": incident.updates.select_related("author"),
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


@staff_required
@require_http_methods(["GET", "POST"])
def console_report(request: HttpRequest, slug: str) -> HttpResponse:
    organization = get_object_or_404(Organization, slug=slug)
    settings_row = reports.availability_settings(organization)
    form = AvailabilitySettingsForm(request.POST or None, instance=settings_row)
    if request.method == "POST":
        if not _user(request).is_lead:
            raise Http404("Not found")
        if form.is_valid():
            form.save()
            flash.success(request, "Report settings saved.")
            return redirect("instances_console:report", slug=organization.slug)
    return _report_response(
        request,
        organization,
        "instances/console_report.html",
        {**base_context(request), **CONSOLE, "nav": "instances", "settings_form": form},
    )


# --- portal -----------------------------------------------------------------------------------


def _customer_org(request: HttpRequest) -> Organization:
    user = _user(request)
    if not user.is_customer or user.organization is None:
        raise Http404("No managed instances")
    return user.organization


@customer_required
@require_GET
def portal_status(request: HttpRequest) -> HttpResponse:
    organization = _customer_org(request)
    instances = list(access.instances_visible_to(_user(request)).order_by("name"))
    return render(
        request,
        "instances/portal_status.html",
        {**PORTAL, **_status_context(organization, instances), "nav": "instances"},
    )


@customer_required
@require_GET
def portal_instance(request: HttpRequest, name: str) -> HttpResponse:
    instance = access.access_instance(_user(request), name)
    context = _status_context(instance.organization, [instance])
    context["incidents"] = [i for i in context["incidents"] if i.instance_id == instance.pk]
    return render(
        request,
        "instances/portal_instance.html",
        {**PORTAL, **context, "instance": instance, "nav": "instances"},
    )


@customer_required
@require_http_methods(["GET", "POST"])
def portal_propose(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    organization = _customer_org(request)
    if not user.is_org_admin:
        raise Http404("Only org admins schedule maintenance")
    instances = access.instances_visible_to(user).order_by("name")
    form = WindowProposeForm(request.POST or None, instances=instances, tz=user.tzinfo)
    if request.method == "POST" and form.is_valid():
        window = _propose(user, form)
        if window is not None:
            flash.success(request, _proposed_message(window))
            return redirect("instances_portal:maintenance", window_id=window.pk)
    return render(
        request,
        "instances/portal_propose.html",
        {**PORTAL, "form": form, "organization": organization, "nav": "instances"},
        status=400 if request.method == "POST" else 200,
    )


def _portal_window_page(
    request: HttpRequest, window: MaintenanceWindow, *, status: int = 200, **forms: Any
) -> HttpResponse:
    return _window_page(
        request,
        window,
        "instances/portal_window.html",
        {**PORTAL, "nav": "instances"},
        status=status,
        **forms,
    )


@customer_required
@require_GET
def portal_window(request: HttpRequest, window_id: int) -> HttpResponse:
    return _portal_window_page(request, access.access_window(_user(request), window_id))


@customer_required
@require_POST
def portal_window_action(request: HttpRequest, window_id: int, action: str) -> HttpResponse:
    user = _user(request)
    window = access.access_window(user, window_id)
    if not user.is_org_admin:
        raise Http404("Only org admins manage maintenance")
    return _window_action(
        request,
        window,
        action,
        _portal_window_page,
        reverse("instances_portal:maintenance", args=[window.pk]),
    )


@customer_required
@require_GET
def portal_incident(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = access.access_incident(_user(request), incident_id)
    return render(
        request,
        "instances/portal_incident.html",
        {**PORTAL, "incident": incident, "updates": incident.updates.all(), "nav": "instances"},
    )


@customer_required
@require_GET
def portal_report(request: HttpRequest) -> HttpResponse:
    organization = _customer_org(request)
    return _report_response(
        request, organization, "instances/portal_report.html", {**PORTAL, "nav": "instances"}
    )


@customer_required
@require_POST
def portal_status_link_rotate(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    organization = _customer_org(request)
    if not user.is_org_admin:
        raise Http404("Only org admins manage the status link")
    settings_row = reports.availability_settings(organization)
    AvailabilitySettings.objects.filter(pk=settings_row.pk).update(status_token=new_status_token())
    flash.success(request, "New status link made; the old one no longer works.")
    return redirect("instances_portal:status")


# --- the private status page and feeds (secret token, no sign-in) -------------------------------


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, max-age=60"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def status_page(request: HttpRequest, token: str) -> HttpResponse:
    organization = access.organization_by_status_token(token)
    instances = list(organization.instances.order_by("name"))
    context = _status_context(organization, instances)
    return _private(
        render(request, "instances/status_page.html", {**context, "token": token, "ns": "status"})
    )


@require_GET
def status_ical(request: HttpRequest, token: str) -> HttpResponse:
    organization = access.organization_by_status_token(token)
    now = timezone.now()
    windows = (
        organization.maintenance_windows.select_related("instance")
        .filter(end__gte=now - dt.timedelta(days=365))
        .order_by("start")
    )
    body = feeds.maintenance_ical(organization, windows, now=now)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{organization.slug}-maintenance.ics"'
    return _private(response)


@require_GET
def status_atom(request: HttpRequest, token: str) -> HttpResponse:
    organization = access.organization_by_status_token(token)
    now = timezone.now()
    body = feeds.activity_atom(
        organization,
        incidents=organization.incidents.select_related("instance").prefetch_related("updates")[
            :50
        ],
        windows=organization.maintenance_windows.select_related("instance").order_by("-updated_at")[
            :50
        ],
        feed_url=request.build_absolute_uri(),
        page_url=request.build_absolute_uri(reverse("instances_status:page", args=[token])),
        now=now,
    )
    return _private(HttpResponse(body, content_type="application/atom+xml; charset=utf-8"))
