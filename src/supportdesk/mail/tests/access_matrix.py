"""Mail console pages (staff only) in the authorization matrix. Stored mail is not a tenant's
object in the URL sense: customers get 404 for every one of these pages."""

import hashlib

from supportdesk.core.access_matrix import World, rule, staff_only
from supportdesk.mail.models import InboundMessage, SuppressedAddress


def build(world: World) -> None:
    raw = b"From: eve@globex.test\r\nSubject: Globex secret\r\n\r\nsecret\r\n"
    inbound = InboundMessage.objects.create(
        channel="support@supportdesk.test",
        dedupe_key="sha256:" + hashlib.sha256(raw).hexdigest(),
        source=InboundMessage.Source.LMTP,
        raw=raw,
        size=len(raw),
        sha256=hashlib.sha256(raw).hexdigest(),
        state=InboundMessage.State.QUARANTINED,
        error="Refused: That user is deactivated.",
    )
    SuppressedAddress.objects.create(address="gone@acme.test", reason="5.1.1 user unknown")
    world.param("inbound_id", own=str(inbound.pk), other=str(inbound.pk))


RULES = {
    "mail:quarantine": rule(GET=staff_only(), tenant=False),
    "mail:inbound": rule(GET=staff_only(), tenant=False),
    "mail:inbound_raw": rule(GET=staff_only(), tenant=False),
    "mail:inbound_retry": rule(POST=staff_only(), tenant=False),
    "mail:inbound_discard": rule(POST=staff_only(), tenant=False),
    "mail:suppressed": rule(GET=staff_only(), tenant=False),
    "mail:suppression_lift": rule(POST=staff_only(), tenant=False),
}
