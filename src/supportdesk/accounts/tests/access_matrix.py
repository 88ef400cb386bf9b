"""Sign-in, password reset and the audit log, in the authorization matrix."""

from supportdesk.core.access_matrix import (
    LOGIN,
    OK,
    REDIRECT,
    World,
    everyone,
    leads_only,
    roles,
    rule,
)


def build(world: World) -> None:
    # A reset link's parameters are a signed proof, not a tenant object: a bad one shows a page.
    world.param("uidb64", own="MQ", other="Mg")
    world.param("token", own="set-password", other="abc-123")


signed_in_redirects = roles(anonymous=OK, customers=REDIRECT, staff=REDIRECT)

RULES = {
    "accounts:login": rule(GET=signed_in_redirects, POST=signed_in_redirects),
    "accounts:logout": rule(POST=everyone(LOGIN)),
    "accounts:password_reset": rule(GET=everyone(), POST=everyone()),
    "accounts:password_reset_done": rule(GET=everyone()),
    "accounts:password_reset_confirm": rule(GET=everyone(), tenant=False),
    "accounts:password_reset_complete": rule(GET=everyone()),
    "accounts:audit_log": rule(GET=leads_only()),
    "accounts:audit_log_export": rule(GET=leads_only()),
}
