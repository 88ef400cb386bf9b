"""Managed-instance pages in the authorization matrix: the console is staff-only; the portal shows
a customer organization's own instances, maintenance and incidents (another organization's are
404; org admins alone propose and act on maintenance and rotate the status link); the private
status page and its feeds are reached by their secret token alone."""

import datetime as dt

from django.utils import timezone

from supportdesk.core.access_matrix import (
    NOT_FOUND,
    OK,
    World,
    customers_only,
    everyone,
    leads_only,
    rule,
    staff_only,
)
from supportdesk.instances.models import Incident, MaintenanceWindow
from supportdesk.instances.reports import availability_settings
from supportdesk.organizations.models import ManagedInstance

# Community users have no organization, hence no instances: 404 across the portal's pages.
PORTAL = customers_only(community=NOT_FOUND)
PORTAL_ADMIN = customers_only(community=NOT_FOUND, contact=NOT_FOUND)


def build(world: World) -> None:
    made = {}
    for side, org, name in (
        ("own", world.own_org, "acme-prod"),
        ("other", world.other_org, "globex-secret-prod"),
    ):
        instance = ManagedInstance.objects.create(
            organization=org, name=name, url=f"https://{name}.example.test"
        )
        start = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
        window = MaintenanceWindow.objects.create(
            organization=org,
            instance=instance,
            title=f"{name} upgrade",
            start=start,
            end=start + dt.timedelta(hours=1),
        )
        incident = Incident.objects.create(
            organization=org,
            instance=instance,
            kind=Incident.Kind.OUTAGE,
            title="Globex secret outage" if side == "other" else "Acme outage",
            started_at=timezone.now().replace(microsecond=0),
        )
        made[side] = (instance, window, incident, availability_settings(org).status_token)
    world.param("name", own=made["own"][0].name, other=made["other"][0].name)
    world.param("window_id", own=str(made["own"][1].pk), other=str(made["other"][1].pk))
    world.param("action", own="confirm", other="confirm")
    world.param("incident_id", own=str(made["own"][2].pk), other=str(made["other"][2].pk))
    world.param("token", own=made["own"][3], other=made["other"][3])


RULES = {
    "instances_console:list": rule(GET=staff_only()),
    "instances_console:instance": rule(GET=staff_only()),
    "instances_console:monitor": rule(POST=staff_only()),
    "instances_console:propose": rule(POST=staff_only()),
    "instances_console:maintenance": rule(GET=staff_only()),
    "instances_console:maintenance_action": rule(POST=staff_only()),
    "instances_console:incident": rule(GET=staff_only(), POST=staff_only()),
    # Everyone on the staff reads the report; only leads change its settings.
    "instances_console:report": rule(GET=staff_only(), POST=leads_only()),
    "instances_portal:status": rule(GET=PORTAL),
    "instances_portal:rotate": rule(POST=PORTAL_ADMIN),
    "instances_portal:instance": rule(GET=PORTAL),
    "instances_portal:propose": rule(GET=PORTAL_ADMIN, POST=PORTAL_ADMIN),
    "instances_portal:maintenance": rule(GET=PORTAL),
    "instances_portal:maintenance_action": rule(POST=PORTAL_ADMIN),
    "instances_portal:incident": rule(GET=PORTAL),
    "instances_portal:report": rule(GET=PORTAL),
    # The secret token is the proof: anyone holding it reads that organization's status.
    "instances_status:page": rule(GET=everyone(OK), tenant=False),
    "instances_status:ical": rule(GET=everyone(OK), tenant=False),
    "instances_status:atom": rule(GET=everyone(OK), tenant=False),
}
