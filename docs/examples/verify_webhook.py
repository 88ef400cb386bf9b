"""Verify a supportdesk webhook: the receiver's side, standard library only.

The Supportdesk-Signature header is `t=<unix time>,v1=<hex HMAC-SHA256>`, where the HMAC is taken
with the subscription's secret over `<t>.` followed by the raw request body. Check it against the
raw bytes you received (before any JSON parsing), in constant time, and refuse old timestamps so a
captured request cannot be replayed later.
"""

import hashlib
import hmac
import time


def verify(secret: str, header: str, body: bytes, tolerance: int = 300, now: float | None = None):
    """True when `header` is a valid signature of `body` made within `tolerance` seconds."""
    try:
        fields = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, given)


if __name__ == "__main__":
    # A worked example: sign as supportdesk does, then verify.
    secret = "whsec_example"
    body = b'{"id":"0b6f2c1e","type":"ticket.created"}'
    t = int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    header = f"t={t},v1={mac}"
    print(header)
    print("valid:", verify(secret, header, body))
    print("tampered body:", verify(secret, header, body + b" "))
    print("wrong secret:", verify("whsec_other", header, body))
    print("an hour later:", verify(secret, header, body, now=t + 3600))
