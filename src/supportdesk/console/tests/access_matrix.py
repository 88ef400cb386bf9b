"""The agent console in the authorization matrix: staff only; customers get 404."""

from supportdesk.core.access_matrix import rule, staff_only

RULES = {
    "console:queue": rule(GET=staff_only()),
    "console:search": rule(GET=staff_only()),
    "console:ticket_new": rule(GET=staff_only(), POST=staff_only()),
    "console:ticket": rule(GET=staff_only()),
    "console:ticket_reply": rule(POST=staff_only()),
    "console:ticket_note": rule(POST=staff_only()),
    "console:ticket_update": rule(POST=staff_only()),
    "console:ticket_ccs": rule(POST=staff_only()),
    "console:organizations": rule(GET=staff_only()),
    "console:organization": rule(GET=staff_only()),
}
