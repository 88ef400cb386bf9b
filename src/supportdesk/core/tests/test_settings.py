from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supportdesk", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            # The chromium fixture sets DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment
            # never has it (check --deploy refuses it).
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "DATABASE_URL": "sqlite://",
            **env,
        },
    )


def test_production_settings_pass_check_deploy():
    result = _run(
        ["check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_SETTINGS_MODULE="supportdesk.settings.production",
        SECRET_KEY="x" * 20 + "A-very-long-random-production-secret-key-0123456789",
        ALLOWED_HOSTS="support.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_real_secret_key():
    result = _run(
        ["check"], DJANGO_SETTINGS_MODULE="supportdesk.settings.production", SECRET_KEY=""
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(("name", "value"), [("DEBUG", "maybe"), ("EMAIL_PORT", "twenty-five")])
def test_a_bad_environment_value_is_named_in_the_error(name: str, value: str):
    result = _run(["check"], DJANGO_SETTINGS_MODULE="supportdesk.settings.dev", **{name: value})
    assert result.returncode != 0
    assert f"{name}={value!r}" in result.stderr
