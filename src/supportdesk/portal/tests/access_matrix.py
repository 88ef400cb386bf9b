"""The customer portal in the authorization matrix: customers and community users; staff are sent
to the console; another organization's tickets are 404."""

from supportdesk.core.access_matrix import customers_only, rule

RULES = {
    "portal:tickets": rule(GET=customers_only()),
    "portal:search": rule(GET=customers_only()),
    "portal:ticket_new": rule(GET=customers_only(), POST=customers_only()),
    "portal:ticket": rule(GET=customers_only()),
    "portal:ticket_reply": rule(POST=customers_only()),
}
