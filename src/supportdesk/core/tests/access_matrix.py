"""The home redirect, the health check and attachment downloads in the authorization matrix."""

from supportdesk.core.access_matrix import REDIRECT, everyone, roles, rule, signed_in

RULES = {
    "home": rule(GET=roles(customers=REDIRECT, staff=REDIRECT)),
    "healthz": rule(GET=everyone()),
    "attachment_download": rule(GET=signed_in()),
}
