from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _sla_defaults(request: Any) -> None:
    """The seeded calendars and policies, even after a transactional test (in this process)
    emptied the tables that the data migration filled."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    transactional = marker.kwargs.get("transaction", False)
    request.getfixturevalue("transactional_db" if transactional else "db")
    from supportdesk.slas.defaults import seed_defaults

    seed_defaults()
