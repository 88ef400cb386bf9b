"""The webhook verification example in docs/api.md is the file docs/examples/verify_webhook.py,
and it accepts what supportdesk really sends (and nothing else)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from supportdesk.core.testing import make_ticket
from supportdesk.webhooks.models import WebhookSubscription
from supportdesk.webhooks.services import sign
from supportdesk.webhooks.tests.test_webhooks import Receiver

ROOT = Path(__file__).resolve().parents[4]
EXAMPLE = ROOT / "docs" / "examples" / "verify_webhook.py"


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("verify_webhook", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_show_the_example_file_verbatim():
    docs = (ROOT / "docs" / "api.md").read_text()
    code = EXAMPLE.read_text().split('if __name__ == "__main__":')[0].strip()
    assert code in docs


def test_the_example_runs():
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, check=True, timeout=30
    )
    assert "valid: True" in result.stdout
    assert "tampered body: False" in result.stdout
    assert "an hour later: False" in result.stdout


@pytest.mark.django_db
def test_the_example_verifies_real_deliveries(org, contact, after_commit):
    verify = load_example().verify
    receiver = Receiver()
    try:
        subscription = WebhookSubscription.objects.create(
            url=receiver.url, organization=org, events=["*"]
        )
        with after_commit():
            make_ticket(contact, subject="Ünïcödé subject ✓")
        [request] = receiver.requests
    finally:
        receiver.server.shutdown()
    header = request["headers"]["Supportdesk-Signature"]
    assert verify(subscription.secret, header, request["body"])
    assert json.loads(request["body"])["data"]["ticket"]["subject"] == "Ünïcödé subject ✓"
    assert not verify(subscription.secret, header, request["body"].replace(b"\\u00dc", b"U"))
    assert not verify("whsec_wrong", header, request["body"])
    t = int(header.split(",")[0][2:])
    assert sign(subscription.secret, t, request["body"]) == header
    assert not verify(subscription.secret, header, request["body"], now=t + 301)
