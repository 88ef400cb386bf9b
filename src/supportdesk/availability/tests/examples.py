"""How hard the property tests try: a couple of seconds by default, deeper on request."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# The suite's budget is a couple of seconds, so every property runs a modest number of examples;
# set SUPPORTDESK_HYPOTHESIS_EXAMPLES=5000 for a deep run after changing the arithmetic.
EXAMPLES = int(os.environ.get("SUPPORTDESK_HYPOTHESIS_EXAMPLES", "50"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
