"""Notifications are personal: anyone's own, nobody else's (staff included)."""

from supportdesk.core.access_matrix import NOT_FOUND, STAFF, rule, signed_in

RULES = {
    "notifications:inbox": rule(GET=signed_in()),
    "notifications:mark_all_read": rule(POST=signed_in()),
    "notifications:open": rule(POST=signed_in(), other=dict.fromkeys(STAFF, NOT_FOUND)),
}
