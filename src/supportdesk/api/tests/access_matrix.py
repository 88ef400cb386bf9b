"""The REST API and the token pages in the authorization matrix. API requests are made with each
role's token (all the scopes its role may hold); anonymous requests get 401."""

import datetime as dt

from django.utils import timezone

from supportdesk.accounts.models import Role, User
from supportdesk.api.models import ApiToken
from supportdesk.api.tokens import api_token_create, integration_account_create
from supportdesk.core.access_matrix import (
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    OK,
    ROLES,
    STAFF,
    World,
    everyone,
    leads_only,
    roles,
    rule,
    signed_in,
    staff_only,
)


def build(world: World) -> None:
    lead = world.users["lead"]
    expires = timezone.now() + dt.timedelta(days=30)

    def token_of(user: User, name: str = "revocable") -> ApiToken:
        return api_token_create(actor=user, name=name, scopes=["read"], expires_at=expires).token

    # A second token per role for the revoke page (the first is the one the matrix sends).
    revocable = {role: token_of(user) for role, user in world.users.items()}
    foreign = token_of(world.outsider, "Globex secret")
    world.param(
        "token_id",
        own=lambda role: str(revocable[role].pk if role in revocable else foreign.pk),
        other=str(foreign.pk),
    )
    own_bot = integration_account_create(
        actor=lead, name="Acme monitoring", role=Role.ORG_ADMIN, organization=world.own_org
    )
    other_bot = integration_account_create(
        actor=lead, name="Globex sync", role=Role.ORG_ADMIN, organization=world.other_org
    )
    world.param("account_id", own=str(own_bot.integration.pk), other=str(other_bot.integration.pk))
    world.param("user_id", own=str(world.users["contact"].pk), other=str(world.outsider.pk))


# Leads manage every webhook; an org admin their organization's; for others they are not there.
webhook_managers = roles(customers=NOT_FOUND, staff=NOT_FOUND, org_admin=OK, lead=OK)

# Maintenance: agents and the organization's admins; contacts and internal teammates may not.
maintainers = signed_in(community=NOT_FOUND, contact=FORBIDDEN, internal=FORBIDDEN)

RULES = {
    "api:schema": rule(GET=everyone()),
    "api:docs": rule(GET=everyone()),
    "api:not-found": rule(GET=everyone(NOT_FOUND), path="/api/v1/no-such-endpoint/"),
    "api_not_found": rule(GET=everyone(NOT_FOUND), path="/api/v2/tickets/"),
    "api:me": rule(GET=signed_in()),
    "api:ticket-list": rule(GET=signed_in(), POST=signed_in()),
    # Customers read their tickets; only agents and leads change them.
    "api:ticket-detail": rule(
        GET=signed_in(), PATCH=roles(customers=FORBIDDEN, internal=FORBIDDEN)
    ),
    # Internal teammates add notes, not public replies (an empty POST is a reply).
    "api:message-list": rule(GET=signed_in(), POST=signed_in(internal=FORBIDDEN)),
    "api:message-detail": rule(GET=signed_in()),
    "api:attachment-list": rule(GET=signed_in()),
    "api:attachment-detail": rule(GET=signed_in()),
    "api:attachment-download": rule(GET=signed_in()),
    # A ticket's SLA: whoever reads the ticket (customers without the staff's internals).
    "api:ticket-sla": rule(GET=signed_in()),
    # The console's SLA report is for leads; so is this.
    "api:report-sla": rule(GET=leads_only()),
    # Managed instances (the parameters come from instances/tests/access_matrix.py): customers
    # see their organization's (community users have none); agents and the organization's admins
    # manage maintenance; agents and leads open and update incidents.
    "api:instance-list": rule(GET=signed_in()),
    "api:instance-detail": rule(GET=signed_in(community=NOT_FOUND)),
    "api:instance-maintenance": rule(GET=signed_in(community=NOT_FOUND), POST=maintainers),
    "api:maintenance-list": rule(GET=signed_in()),
    "api:maintenance-detail": rule(GET=signed_in(community=NOT_FOUND)),
    "api:maintenance-confirm": rule(POST=maintainers),
    "api:maintenance-reschedule": rule(POST=maintainers),
    "api:maintenance-cancel": rule(POST=maintainers),
    "api:incident-list": rule(
        GET=signed_in(), POST=signed_in(customers=FORBIDDEN, internal=FORBIDDEN)
    ),
    "api:incident-detail": rule(GET=signed_in(community=NOT_FOUND)),
    "api:incident-updates": rule(
        POST=signed_in(
            community=NOT_FOUND, contact=FORBIDDEN, org_admin=FORBIDDEN, internal=FORBIDDEN
        )
    ),
    # Customers: their organization's report (community users have none); staff name one.
    "api:availability": rule(GET=signed_in(community=NOT_FOUND)),
    "api:organization-list": rule(GET=staff_only()),
    "api:organization-detail": rule(GET=staff_only()),
    "api:user-list": rule(GET=staff_only()),
    # Role changes need the admin scope, which only leads' tokens (of staff) can hold.
    "api:user-detail": rule(
        GET=staff_only(), PATCH=staff_only(internal=FORBIDDEN, agent=FORBIDDEN)
    ),
    "api:webhook-list": rule(GET=webhook_managers, POST=webhook_managers),
    "api:webhook-event-types": rule(GET=webhook_managers),
    "api:webhook-detail": rule(
        GET=webhook_managers, PATCH=webhook_managers, DELETE=webhook_managers
    ),
    "api:webhook-deliveries": rule(GET=webhook_managers),
    "api:webhook-delivery-replay": rule(POST=webhook_managers),
    # Token pages: your own tokens; leads also integration accounts'. Nobody another's.
    "api_pages:tokens": rule(GET=signed_in(), POST=signed_in()),
    "api_pages:token_revoke": rule(
        POST=signed_in(), other={r: (LOGIN if r == "anonymous" else NOT_FOUND) for r in ROLES}
    ),
    "api_pages:integrations": rule(GET=leads_only(), POST=leads_only()),
    "api_pages:integration_token_new": rule(POST=leads_only()),
}

assert set(STAFF) <= set(ROLES)
