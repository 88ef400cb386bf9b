"""Who sees which instances, incidents and maintenance windows: in one place.

Staff see everything. A customer contact or org admin sees their own organization's instances,
incidents and windows (contacts read; org admins also manage maintenance). Community users see
none. Anything else is 404, never 403. The status page and feeds are reached by their secret token
instead (`organization_by_status_token`)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from supportdesk.accounts.models import User
from supportdesk.instances.models import AvailabilitySettings, Incident, MaintenanceWindow
from supportdesk.organizations.models import ManagedInstance, Organization


def _customer_org_id(user: User) -> int | None:
    if not user.is_authenticated or not user.is_active or not user.is_customer:
        return None
    return user.organization_id


def instances_visible_to(user: User) -> QuerySet[ManagedInstance]:
    instances = ManagedInstance.objects.select_related("organization")
    if not user.is_authenticated or not user.is_active:
        return instances.none()
    if user.is_staff:
        return instances
    org_id = _customer_org_id(user)
    return instances.filter(organization_id=org_id) if org_id else instances.none()


def access_instance(user: User, name: str) -> ManagedInstance:
    instance = instances_visible_to(user).filter(name=name).first()
    if instance is None:
        raise Http404("No such instance")
    return instance


def windows_visible_to(user: User) -> QuerySet[MaintenanceWindow]:
    return MaintenanceWindow.objects.filter(instance__in=instances_visible_to(user)).select_related(
        "instance", "organization", "proposed_by", "confirmed_by", "cancelled_by"
    )


def access_window(user: User, window_id: int | str) -> MaintenanceWindow:
    try:
        return windows_visible_to(user).get(pk=int(window_id))
    except (ValueError, MaintenanceWindow.DoesNotExist):
        raise Http404("No such maintenance window") from None


def incidents_visible_to(user: User) -> QuerySet[Incident]:
    return Incident.objects.filter(instance__in=instances_visible_to(user)).select_related(
        "instance", "organization", "ticket"
    )


def access_incident(user: User, incident_id: int | str) -> Incident:
    try:
        return incidents_visible_to(user).get(pk=int(incident_id))
    except (ValueError, Incident.DoesNotExist):
        raise Http404("No such incident") from None


def may_manage_maintenance(user: User, organization: Organization) -> bool:
    return user.is_agent or (user.is_org_admin and user.organization_id == organization.pk)


def organization_by_status_token(token: str) -> Organization:
    """The organization whose status page, iCal and Atom feeds this secret token opens."""
    if not token or len(token) < 20:
        raise Http404("No such status page")
    row = AvailabilitySettings.objects.select_related("organization").filter(status_token=token)
    found = row.first()
    if found is None:
        raise Http404("No such status page")
    return found.organization
