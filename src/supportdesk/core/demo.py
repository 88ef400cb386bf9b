"""Demo data: organizations for every plan and deployment, staff, customers and a few dozen tickets
with believable conversations, created through the same service functions as real use."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from supportdesk.accounts.models import Role, User
from supportdesk.organizations.models import (
    Contract,
    Deployment,
    EmailDomain,
    ManagedInstance,
    Organization,
    Plan,
)
from supportdesk.slas.demo import (
    create_sla_demo_policies,
    create_sla_demo_tickets,
    settle_demo_clocks,
)
from supportdesk.tickets import services
from supportdesk.tickets.models import Channel, ResolutionKind, Status

DEMO_PASSWORD = "demo"  # noqa: S105 - documented demo credentials

STAFF = [
    ("agent@demo.test", "Avery Agent", Role.AGENT, ""),
    ("lead@demo.test", "Lee Lead", Role.LEAD, ""),
    ("jordan@demo.test", "Jordan Rivera", Role.AGENT, ""),
    ("ce@demo.test", "Casey Engineer", Role.INTERNAL, "Customer Engineering"),
    ("eng@demo.test", "Emery Backend", Role.INTERNAL, "Engineering"),
]


@dataclass(frozen=True)
class DemoOrg:
    name: str
    slug: str
    plan: str
    deployment: str
    domain: str
    version: str
    people: tuple[tuple[str, str, str], ...]  # email, name, role
    instances: tuple[tuple[str, str], ...] = ()
    contract: str = ""
    notes: str = ""
    trial_days: int | None = None


ORGS = [
    DemoOrg(
        "Acme Corporation",
        "acme",
        Plan.ENTERPRISE,
        Deployment.SELF_HOSTED,
        "acme.demo.test",
        "5.9.3",
        (
            ("alice@acme.demo.test", "Alice Anders", Role.ORG_ADMIN),
            ("dave@acme.demo.test", "Dave Diaz", Role.CONTACT),
        ),
        contract="ACME-ENT-2026",
        notes="Runs on Kubernetes (EKS), 3 replicas of frontend. Air-gapped staging.",
    ),
    DemoOrg(
        "Globex",
        "globex",
        Plan.ELITE,
        Deployment.MANAGED,
        "globex.demo.test",
        "6.0.1",
        (
            ("bob@globex.demo.test", "Bob Brandt", Role.ORG_ADMIN),
            ("gina@globex.demo.test", "Gina Grant", Role.CONTACT),
        ),
        instances=(
            ("globex-prod", "https://globex.managed.demo.test"),
            ("globex-staging", "https://globex-staging.managed.demo.test"),
        ),
        contract="GLOBEX-ELITE-2025",
        notes="Elite contract: custom SLA. Maintenance only Tue/Wed 02:00-04:00 UTC.",
    ),
    DemoOrg(
        "Initech",
        "initech",
        Plan.ENTERPRISE_PLUS,
        Deployment.SELF_HOSTED,
        "initech.demo.test",
        "5.8.0",
        (
            ("peter@initech.demo.test", "Peter Gibbons", Role.ORG_ADMIN),
            ("milton@initech.demo.test", "Milton Waddams", Role.CONTACT),
        ),
        contract="INITECH-EP-2026",
        notes="Docker Compose on a single large VM.",
    ),
    DemoOrg(
        "Hooli",
        "hooli",
        Plan.ENTERPRISE,
        Deployment.MANAGED,
        "hooli.demo.test",
        "6.0.1",
        (
            ("gavin@hooli.demo.test", "Gavin Belson", Role.ORG_ADMIN),
            ("nelson@hooli.demo.test", "Nelson Bighetti", Role.CONTACT),
        ),
        instances=(("hooli-prod", "https://hooli.managed.demo.test"),),
        contract="HOOLI-ENT-2026",
    ),
    DemoOrg(
        "Umbrella Labs",
        "umbrella",
        Plan.PROSPECT,
        Deployment.SELF_HOSTED,
        "umbrella.demo.test",
        "6.0.0",
        (("ada@umbrella.demo.test", "Ada Wong", Role.CONTACT),),
        notes="Evaluating against a competitor; trial owner is Casey (CE).",
        trial_days=21,
    ),
]

COMMUNITY = [
    ("sam@community.demo.test", "Sam Open-Source"),
    ("riley@example.org", "Riley Contributor"),
]


@dataclass(frozen=True)
class Story:
    """A believable support conversation: what the customer says, and how an agent answers in
    the handbook's three parts."""

    subject: str
    description: str
    severity: int
    status: str
    next_steps: str
    expectations: str
    followups: tuple[str, ...] = ()
    resolution: str = "The fix is released and confirmed on your side."


STORIES = [
    Story(
        "Search returns no results for our monorepo after upgrading",
        "Since upgrading to {version} this morning, searches scoped to repo:^monorepo$ return "
        "zero results. Other repositories work. Indexing status shows the repo as indexed two "
        "hours ago. This blocks about 400 engineers.",
        1,
        "I reproduced it on a {version} test instance: the monorepo's index was built with the old "
        "shard format, which the new searcher skips.",
        "Re-index the repository from Site admin > Repositories > monorepo > Reindex; that is a "
        "safe workaround. Engineering is preparing a patch so it cannot happen again.",
        "I will update you by {when} with the patch release, or sooner if the re-index does not "
        "bring results back.",
        ("Re-index finished and searches work again, thank you.",),
    ),
    Story(
        "SSO login loop with Okta SAML",
        "Users get redirected back to the Okta login page after authenticating. Started after we "
        "rotated the SAML signing certificate yesterday.",
        1,
        "The loop comes from the old certificate still being configured as the only trusted "
        "one: every SAML response signed with the new certificate is rejected.",
        "Add the new certificate to auth.providers > identityProviderMetadata (keep the old one "
        "until the rotation is complete), then save the site configuration.",
        "I will stay on this ticket; expect my next update by {when}.",
        ("Here is the new certificate fingerprint from Okta.", "Logins work again."),
    ),
    Story(
        "How do we configure repository permissions sync for GitHub Enterprise?",
        "We want users to only see repositories they can access on GitHub Enterprise Server. "
        "What is the recommended configuration and how long does the first sync take for ~8,000 "
        "repositories?",
        2,
        "This is configuration rather than a bug: permissions sync needs a GitHub App (or an "
        "OAuth token) with read access to the organization's members.",
        "Follow Admin > Permissions > GitHub in our docs; for 8,000 repositories the first full "
        "sync usually takes 2–4 hours. Reply here once it has started.",
        "Nothing else is needed from us now; I will check back on {when} to see how it went.",
    ),
    Story(
        "Batch change stuck in 'processing' for two days",
        "Our batch change 'bump-log4j' has been processing for 48 hours with 212 changesets. "
        "Nothing in the UI shows an error.",
        2,
        "A changeset job crashed on one repository with an unusual default branch name and "
        "blocked the queue behind it.",
        "I retried the stuck job; the remaining changesets should publish within the hour. "
        "Please confirm on your side.",
        "If it is not done by {when}, I will escalate to the Batch Changes team.",
        ("Any update? The security team is asking.",),
    ),
    Story(
        "gitserver disk almost full",
        "gitserver-0 is at 92% disk usage and growing about 1% a day. Is it safe to run the "
        "janitor manually, or should we just resize the volume?",
        2,
        "Growth of 1% a day matches your clone volume; the janitor already runs hourly, so "
        "running it by hand will not free much.",
        "Resize the volume to at least 1.5× the current size (online resizing works on your "
        "storage class); I attached the sizing formula from our docs.",
        "You don't need to wait for us; I will look in on {when} to confirm usage dropped.",
    ),
    Story(
        "Code Insights dashboard shows blank charts",
        "All insights on the 'Migration progress' dashboard render empty since Monday. Creating "
        "a new insight also shows no data points.",
        2,
        "The insights background job stopped after Monday's database failover and was never "
        "restarted, so no series were recorded since.",
        "Restart the worker deployment; backfilling the missed days takes about an hour.",
        "I will confirm the charts are filled by {when}.",
        ("Browser console shows a GraphQL error: insight series not found.",),
    ),
    Story(
        "Managed instance very slow since this morning",
        "Search takes 20–30 seconds on our managed instance; it usually takes under a second. "
        "Our developers are effectively blocked.",
        1,
        "We found a runaway re-index on your instance that saturated its search replicas.",
        "We have throttled the re-index and added a replica; search latency is back under a "
        "second on our dashboards. Please confirm on your side.",
        "We keep watching it; next update by {when} or immediately if it degrades again.",
        ("Still slow as of now.", "Thanks, it is back to normal for us."),
    ),
    Story(
        "Feature request: export search results to CSV",
        "Our compliance team would like to export the list of files matching a search as CSV for "
        "audits. Is this on the roadmap?",
        2,
        "Exporting results is not available yet; I filed it with Product with your use case "
        "(compliance audits).",
        "Meanwhile the GraphQL API can return the same results; I attached a script that writes "
        "them as CSV.",
        "I will tell you here when Product schedules it; no action needed from you.",
    ),
    Story(
        "License key expired warning on staging",
        "Staging shows 'license expired' even though we renewed last week. Production is fine.",
        2,
        "Your renewal created a new key; staging still has the old one.",
        "Paste the new key (sent to your admin on the 12th) into Site admin > License on staging.",
        "The warning disappears at once; tell me if it doesn't.",
    ),
    Story(
        "Precise code navigation missing for Go repositories",
        "Go-to-definition falls back to search-based for all our Go repos. We run the "
        "auto-indexing policy from the docs.",
        2,
        "Auto-indexing is enabled, but the indexer image cannot reach your module proxy, so every "
        "Go index job fails.",
        "Set GOPROXY for the executors to your internal proxy; I included the configuration "
        "snippet.",
        "Index jobs run every few hours; I will verify the first successful ones by {when}.",
        ("We use Go 1.23 and modules; no vendoring.",),
    ),
    Story(
        "Outage: instance returns 502 for all users",
        "Since 14:05 our instance answers 502 Bad Gateway to everyone. Production is down.",
        1,
        "The frontend pods are crash-looping after running out of memory on start-up.",
        "Raise the frontend memory limit to 4 GiB (the default was lowered in your Helm values); "
        "I am on a call with your admin now if you want to join.",
        "I will post an update every hour until it is resolved; the next by {when}.",
    ),
    Story(
        "Question about upgrade path from 5.5 to 6.0",
        "Can we jump directly from 5.5.x to 6.0, or do we need intermediate versions? We have a "
        "maintenance window next Thursday.",
        2,
        "Multi-version upgrades from 5.5 to 6.0 are supported, with one database migration that "
        "takes about 20 minutes for an instance of your size.",
        "Run the upgrade with the migrator's multi-version mode and take a database backup first; "
        "the docs page on multi-version upgrades has the exact commands.",
        "Thursday works; I will be available during your window if you want someone on hand.",
    ),
]


def _at(base: dt.datetime, hours: float) -> dt.datetime:
    return base + dt.timedelta(hours=hours)


@transaction.atomic
def create_demo_data(*, seed: int = 7, now: dt.datetime | None = None) -> dict[str, int]:
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    now = now or timezone.now()
    staff = {}
    for email, name, role, team in STAFF:
        user = User.objects.create_user(email, None, name=name, role=role, team=team)
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        staff[email] = user
    agents = [staff["agent@demo.test"], staff["jordan@demo.test"], staff["lead@demo.test"]]

    customers: list[User] = []
    for spec in ORGS:
        org = Organization.objects.create(
            name=spec.name,
            slug=spec.slug,
            plan=spec.plan,
            deployment=spec.deployment,
            product_version=spec.version,
            notes=spec.notes,
            trial_ends_on=(now + dt.timedelta(days=spec.trial_days)).date()
            if spec.trial_days
            else None,
        )
        EmailDomain.objects.create(organization=org, domain=spec.domain)
        if spec.contract:
            Contract.objects.create(
                organization=org,
                reference=spec.contract,
                starts_on=(now - dt.timedelta(days=200)).date(),
                ends_on=(now + dt.timedelta(days=165)).date(),
            )
        for name, url in spec.instances:
            ManagedInstance.objects.create(
                organization=org,
                name=name,
                url=url,
                health_url=url + "/healthz",
                product_version=spec.version,
            )
        for email, name, person_role in spec.people:
            user = User.objects.create_user(
                email, None, name=name, role=person_role, organization=org
            )
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            customers.append(user)
    for email, name in COMMUNITY:
        user = User.objects.create_user(email, None, name=name, role=Role.COMMUNITY)
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        customers.append(user)

    create_sla_demo_policies(now=now)

    tickets = 0
    for i in range(36):
        requester = customers[i % len(customers)]
        story = STORIES[i % len(STORIES)]
        version = requester.organization.product_version if requester.organization else "6.0.0"
        opened = now - dt.timedelta(days=rng.uniform(0.2, 28), minutes=rng.randint(0, 59))
        by_staff = i % 9 == 4 and requester.organization is not None
        ticket = services.ticket_create(
            actor=staff["ce@demo.test"] if by_staff else requester,
            requester=requester,
            subject=story.subject,
            description=story.description.format(version=version),
            severity=story.severity if requester.organization else 2,
            channel=Channel.CONSOLE
            if by_staff
            else rng.choice([Channel.PORTAL, Channel.EMAIL, Channel.PORTAL, Channel.API]),
            reported_at=opened - dt.timedelta(hours=3) if by_staff else None,
            tags=rng.sample(
                [
                    "upgrade",
                    "search",
                    "auth",
                    "performance",
                    "batch-changes",
                    "insights",
                    "licensing",
                ],
                k=rng.randint(0, 2),
            ),
            now=opened,
        )
        tickets += 1
        phase = i % 6  # how far the conversation got
        agent = agents[i % len(agents)]
        clock = opened
        if phase >= 1:
            clock = _at(clock, rng.uniform(0.3, 6))
            services.ticket_update(actor=agent, ticket=ticket, assignee=agent, now=clock)
            when = timezone.localtime(_at(clock, 24), agent.tzinfo).strftime("%a %H:%M %Z")
            services.ticket_reply_add(
                actor=agent,
                ticket=ticket,
                body=f"Hi {requester.display_name.split()[0]}, thanks for the details.",
                status_part=story.status.format(version=version),
                next_steps_part=story.next_steps,
                expectations_part=story.expectations.format(when=when),
                new_status=Status.WAITING_ON_CUSTOMER if phase in (2, 5) else None,
                channel=Channel.CONSOLE,
                next_update_by=_at(clock, 24)
                if "{when}" in story.expectations and _at(clock, 24) > now
                else None,
                now=clock,
            )
        if phase >= 2 and i % 4 == 0:
            clock = _at(clock, rng.uniform(0.2, 2))
            services.ticket_reply_add(
                actor=staff["eng@demo.test"],
                ticket=ticket,
                internal=True,
                body="Checked the logs they sent: this matches a known issue fixed in the next "
                "patch. The workaround is in the runbook.",
                channel=Channel.CONSOLE,
                now=clock,
            )
        if phase >= 3:
            for text in story.followups[:2] or ("Thanks, that worked for us.",):
                clock = _at(clock, rng.uniform(1, 20))
                services.ticket_reply_add(
                    actor=requester, ticket=ticket, body=text, channel=Channel.EMAIL, now=clock
                )
        if phase == 4:
            clock = _at(clock, rng.uniform(0.5, 8))
            services.ticket_reply_add(
                actor=agent,
                ticket=ticket,
                status_part=story.resolution,
                next_steps_part="Nothing more is needed from you.",
                expectations_part="I am marking this solved; reply within 7 days if anything is "
                "still wrong and the ticket reopens.",
                new_status=Status.SOLVED,
                resolution_kind=rng.choice(
                    [ResolutionKind.FIX, ResolutionKind.WORKAROUND, ResolutionKind.ANSWER]
                ),
                channel=Channel.CONSOLE,
                now=clock,
            )
        if phase == 3 and i % 2:
            services.ticket_update(
                actor=agent, ticket=ticket, status=Status.WAITING_ON_US, now=_at(clock, 0.1)
            )
    from supportdesk.instances.demo import create_demo_monitoring

    create_demo_monitoring(agent=staff["agent@demo.test"], now=now, seed=seed)
    tickets += create_sla_demo_tickets(now=now)
    settle_demo_clocks(now=now)
    return {"users": User.objects.count(), "organizations": len(ORGS), "tickets": tickets}
