"""SLA configuration and reports in the authorization matrix: leads only (everyone else 404).
Calendars, policies and on-call shifts are the vendor's, not a tenant's."""

import datetime as dt

from supportdesk.core.access_matrix import World, leads_only, rule
from supportdesk.slas.models import Calendar, OnCallShift, SlaPolicy


def build(world: World) -> None:
    calendar = Calendar.objects.order_by("pk").first()
    policy = SlaPolicy.objects.order_by("pk").first()
    assert calendar is not None, "the default SLA seed is missing"
    assert policy is not None, "the default SLA seed is missing"
    now = dt.datetime.now(dt.UTC)
    shifts = [
        OnCallShift.objects.create(
            user=world.users["agent"], starts_at=now, ends_at=now + dt.timedelta(days=1)
        )
        for _ in range(2)  # the own side's request removes one
    ]
    world.param("calendar_id", own=str(calendar.pk), other=str(calendar.pk))
    world.param("policy_id", own=str(policy.pk), other=str(policy.pk))
    world.param("shift_id", own=str(shifts[0].pk), other=str(shifts[1].pk))


LEADS = leads_only()

RULES = {
    "slas:index": rule(GET=LEADS),
    "slas:calendar_new": rule(GET=LEADS, POST=LEADS),
    "slas:calendar": rule(GET=LEADS, POST=LEADS, tenant=False),
    "slas:calendar_export": rule(GET=LEADS, tenant=False),
    "slas:policy_new": rule(GET=LEADS, POST=LEADS),
    "slas:policy": rule(GET=LEADS, POST=LEADS, tenant=False),
    "slas:on_call": rule(GET=LEADS, POST=LEADS),
    "slas:on_call_remove": rule(POST=LEADS, tenant=False),
    "slas:report": rule(GET=LEADS),
}
