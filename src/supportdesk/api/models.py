"""API tokens, integration accounts, idempotency keys and the shared rate-limit counters."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    READ = "read", "Read: list and read what the user may see"
    WRITE = "write", "Write: open tickets, reply, change tickets"
    ADMIN = "admin", "Admin: webhooks, contacts and roles"


class ApiToken(models.Model):
    """A bearer token that acts as `user`, limited to `scopes`. Only a SHA-256 digest of the token
    is stored: the token itself is shown once, when it is made, and cannot be recovered."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for")
    prefix = models.CharField(max_length=16, help_text="The token's first characters, to tell it")
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="apitoken_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "active"


class IntegrationAccount(models.Model):
    """Marks a user that is a machine, not a person: it has no password (it cannot sign in), gets
    no mail, and acts only through API tokens a lead made for it. Its role and organization decide
    what it sees, exactly as for a person (an org admin of Acme for Acme's monitoring, an agent for
    a CRM sync)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="integration"
    )
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.user)


class IdempotencyKey(models.Model):
    """A ticket creation request made with an Idempotency-Key header, and its response. The unique
    constraint makes a concurrent retry wait for (PostgreSQL) or follow (SQLite) the first request
    and then replay its response instead of creating a second ticket."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request")
    response_status = models.PositiveSmallIntegerField(default=201)
    response_body = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.user_id})"


class RateLimitCounter(models.Model):
    """Requests counted per key (a token, a user, an IP) per fixed one-minute window. Written with
    one INSERT … ON CONFLICT DO UPDATE … RETURNING, so every web process shares the counts."""

    key = models.CharField(max_length=100)
    window_start = models.BigIntegerField(help_text="Unix time of the window's start")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="ratelimit_key_window")
        ]
        indexes = [models.Index(fields=["window_start"], name="ratelimit_window_idx")]

    def __str__(self) -> str:
        return f"{self.key}@{self.window_start}: {self.count}"
