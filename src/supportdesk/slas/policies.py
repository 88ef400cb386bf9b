"""Which policy applies to a ticket (an explicit, ordered rule), and the services leads use to
edit calendars, policies, contract policies and the on-call rota.

The rule (SPEC §3):
1. the organization's active contract, if a policy is attached to it;
2. else the default of the organization's deployment (self-hosted / managed), for the plans that
   have an SLA (Enterprise, Enterprise Plus, Elite);
3. else none: community users and prospects without a contract get best effort."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from supportdesk.accounts.models import User
from supportdesk.organizations.models import Contract, Deployment, Plan
from supportdesk.sla import CalendarError
from supportdesk.sla import calendar_from_toml as parse_calendar
from supportdesk.slas import engine
from supportdesk.slas.models import (
    TARGET_METRICS,
    Calendar,
    CalendarVersion,
    OnCallShift,
    SlaPolicy,
    SlaTarget,
    TicketSla,
)
from supportdesk.tickets.models import Ticket

PLANS_WITH_SLA = (Plan.ENTERPRISE, Plan.ENTERPRISE_PLUS, Plan.ELITE)
CONTRACT_PLANS = (Plan.ENTERPRISE_PLUS, Plan.ELITE)


@dataclass(frozen=True)
class PolicyChoice:
    policy: SlaPolicy | None
    rule: str
    reason: str


def policy_for(ticket: Ticket, *, on: dt.date | None = None) -> PolicyChoice:
    """The policy that applies to `ticket`, and why, in words shown on the ticket."""
    org = ticket.organization
    if org is None:
        return PolicyChoice(
            None, TicketSla.Rule.NONE, "No SLA: community users get best-effort support"
        )
    day = on or timezone.localdate(ticket.reported_at)
    contract = org.active_contract(day)
    if contract is not None:
        policy = SlaPolicy.objects.filter(contract=contract, is_active=True).first()
        if policy is not None:
            return PolicyChoice(
                policy,
                TicketSla.Rule.CONTRACT,
                f"{policy.name} contract policy, because {org.name}'s contract "
                f"{contract.reference} says so",
            )
    plan = org.get_plan_display()
    if org.plan not in PLANS_WITH_SLA:
        return PolicyChoice(
            None,
            TicketSla.Rule.NONE,
            f"No SLA: {org.name} is on the {plan} plan without a contract policy (best effort)",
        )
    kind = (
        SlaPolicy.Kind.MANAGED
        if org.deployment == Deployment.MANAGED
        else SlaPolicy.Kind.SELF_HOSTED
    )
    policy = SlaPolicy.objects.filter(kind=kind, is_active=True).first()
    if policy is None:
        return PolicyChoice(
            None, TicketSla.Rule.NONE, f"No SLA: the {kind.label} policy is switched off"
        )
    deployment = org.get_deployment_display().lower()
    why = f"{policy.name} policy, because {org.name} is on the {plan} plan, {deployment}"
    if org.plan in CONTRACT_PLANS:
        why += " (no contract policy is attached to its contract)"
    return PolicyChoice(policy, TicketSla.Rule.DEPLOYMENT, why)


def policy_targets(policy: SlaPolicy | None) -> dict[tuple[int, str], SlaTarget]:
    if policy is None:
        return {}
    return {(t.severity, t.metric): t for t in policy.targets.select_related("calendar")}


# ---------------------------------------------------------------------------------------------
# Calendars


def _check_lead(actor: User) -> None:
    if not actor.is_lead:
        raise PermissionDenied("Only support leads change SLA calendars, policies and the rota.")


def _parse_toml(toml: str, source: str) -> None:
    try:
        parse_calendar(toml, source=source)
    except CalendarError as exc:
        raise ValidationError({"toml": str(exc)}) from None


@transaction.atomic
def calendar_create(
    *, actor: User, name: str, toml: str, description: str = "", now: dt.datetime | None = None
) -> Calendar:
    _check_lead(actor)
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Give the calendar a name."})
    if Calendar.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A calendar named {name!r} exists already."})
    _parse_toml(toml, name)
    now = now or timezone.now()
    slug = slugify(name)[:50] or "calendar"
    base, n = slug, 2
    while Calendar.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    calendar = Calendar.objects.create(
        name=name, slug=slug, description=description[:300], created_at=now
    )
    version = CalendarVersion.objects.create(
        calendar=calendar, toml=toml, note="Created", created_by=actor, created_at=now
    )
    calendar.is_24x7 = engine.is_24x7(engine.current_calendar(calendar))
    calendar.save(update_fields=["is_24x7"])
    del version
    return calendar


@transaction.atomic
def calendar_update(
    *,
    actor: User,
    calendar: Calendar,
    toml: str,
    note: str = "",
    now: dt.datetime | None = None,
) -> CalendarVersion | None:
    """Save new hours for `calendar`, in effect from now on: business time already consumed on
    open tickets stays consumed, the remainder follows the new hours. The open clocks on this
    calendar are recomputed in the background. Returns None when nothing changed."""
    _check_lead(actor)
    _parse_toml(toml, calendar.name)
    now = (now or timezone.now()).replace(microsecond=0)
    calendar = Calendar.objects.select_for_update().get(pk=calendar.pk)
    latest = calendar.versions.order_by("-id").first()
    if latest is not None and parse_calendar(latest.toml) == parse_calendar(toml):
        return None
    if latest is not None and latest.effective_from is not None and latest.effective_from >= now:
        now = latest.effective_from + dt.timedelta(seconds=1)
    version = CalendarVersion.objects.create(
        calendar=calendar,
        effective_from=now,
        toml=toml,
        note=note[:200],
        created_by=actor,
        created_at=now,
    )
    calendar.is_24x7 = engine.is_24x7(engine.current_calendar(calendar))
    calendar.save(update_fields=["is_24x7"])
    _recompute_later(calendar_id=calendar.pk)
    return version


def _recompute_later(*, calendar_id: int | None = None, policy_id: int | None = None) -> None:
    from supportdesk.slas.tasks import sla_recompute_task

    transaction.on_commit(
        lambda: sla_recompute_task.enqueue(calendar_id=calendar_id, policy_id=policy_id)
    )


# ---------------------------------------------------------------------------------------------
# Policies


@dataclass(frozen=True)
class TargetSpec:
    severity: int
    metric: str
    seconds: int | None  # None: no timer
    calendar: Calendar | None


@transaction.atomic
def policy_save(
    *,
    actor: User,
    policy: SlaPolicy | None = None,
    name: str,
    targets: list[TargetSpec],
    contract: Contract | None = None,
    description: str = "",
    warn_at_percent: int = 75,
    warn_minutes_before: int = 60,
    is_active: bool = True,
    now: dt.datetime | None = None,
) -> SlaPolicy:
    """Create a contract policy (`policy` None, `contract` given) or edit any policy. The open
    tickets it affects are recomputed in the background, from their original start."""
    _check_lead(actor)
    now = now or timezone.now()
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": "Give the policy a name."})
    same_name = SlaPolicy.objects.filter(name=name)
    if policy is not None:
        same_name = same_name.exclude(pk=policy.pk)
    if same_name.exists():
        raise ValidationError({"name": f"A policy named {name!r} exists already."})
    if not 0 <= warn_at_percent <= 99:
        raise ValidationError({"warn_at_percent": "Warn at 1–99 % of the target (0: off)."})
    if warn_minutes_before < 0:
        raise ValidationError({"warn_minutes_before": "Minutes before cannot be negative."})
    for spec in targets:
        if spec.metric not in TARGET_METRICS or spec.severity not in (1, 2):
            raise ValidationError({"targets": f"Unknown target Sev {spec.severity} {spec.metric}."})
        if spec.seconds is not None and (spec.seconds <= 0 or spec.calendar is None):
            raise ValidationError(
                {
                    "targets": f"Sev {spec.severity} {spec.metric}: give a positive time "
                    "and a calendar."
                }
            )
    if policy is None:
        if contract is None:
            raise ValidationError({"contract": "A new policy belongs to a contract."})
        if contract.organization.plan not in CONTRACT_PLANS:
            raise ValidationError(
                {
                    "contract": f"{contract.organization.name} is on the "
                    f"{contract.organization.get_plan_display()} plan: contract policies are for "
                    "Enterprise Plus and Elite organizations."
                }
            )
        if SlaPolicy.objects.filter(contract=contract).exists():
            raise ValidationError({"contract": f"{contract.reference} has a policy already."})
        policy = SlaPolicy(kind=SlaPolicy.Kind.CONTRACT, contract=contract)
    policy.name = name
    policy.description = description[:300]
    policy.warn_at_percent = warn_at_percent
    policy.warn_minutes_before = warn_minutes_before
    policy.is_active = is_active
    policy.updated_at = now
    policy.save()
    for spec in targets:
        if spec.seconds is None:
            SlaTarget.objects.filter(
                policy=policy, severity=spec.severity, metric=spec.metric
            ).delete()
        elif spec.calendar is not None:
            SlaTarget.objects.update_or_create(
                policy=policy,
                severity=spec.severity,
                metric=spec.metric,
                defaults={"target_seconds": spec.seconds, "calendar": spec.calendar},
            )
    transaction.on_commit(lambda: _resync_later(policy.pk))
    return policy


def _resync_later(policy_id: int) -> None:
    from supportdesk.slas.tasks import sla_policy_resync_task

    sla_policy_resync_task.enqueue(policy_id)


# ---------------------------------------------------------------------------------------------
# On-call rota


@transaction.atomic
def on_call_shift_add(
    *, actor: User, user: User, starts_at: dt.datetime, ends_at: dt.datetime, note: str = ""
) -> OnCallShift:
    _check_lead(actor)
    if not user.is_agent or not user.is_active:
        raise ValidationError({"user": "The on-call person is an active agent or lead."})
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": "A shift ends after it starts."})
    if ends_at - starts_at > dt.timedelta(days=31):
        raise ValidationError({"ends_at": "A shift lasts at most 31 days."})
    return OnCallShift.objects.create(user=user, starts_at=starts_at, ends_at=ends_at, note=note)


def on_call_shift_remove(*, actor: User, shift: OnCallShift) -> None:
    _check_lead(actor)
    shift.delete()


def on_call_at(instant: dt.datetime) -> User | None:
    """Who is on call at `instant` (the shift that started last, if several overlap)."""
    shift = (
        OnCallShift.objects.filter(
            starts_at__lte=instant, ends_at__gt=instant, user__is_active=True
        )
        .select_related("user")
        .order_by("-starts_at")
        .first()
    )
    return shift.user if shift else None
