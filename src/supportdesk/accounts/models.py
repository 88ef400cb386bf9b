"""People and their roles.

Staff (agents, leads, internal teammates) belong to no organization; customer contacts and org
admins belong to exactly one; community users (open source) to none.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils.timezone import now


class Role(models.TextChoices):
    AGENT = "agent", "Support agent"
    LEAD = "lead", "Support lead / admin"
    INTERNAL = "internal", "Internal teammate"
    CONTACT = "contact", "Customer contact"
    ORG_ADMIN = "org_admin", "Customer org admin"
    COMMUNITY = "community", "Community user"


STAFF_ROLES = frozenset({Role.AGENT, Role.LEAD, Role.INTERNAL})
CUSTOMER_ROLES = frozenset({Role.CONTACT, Role.ORG_ADMIN})


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None


WORK_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def validate_work_days(value: str) -> None:
    days = [d.strip().lower() for d in value.split(",") if d.strip()]
    unknown = [d for d in days if d not in WORK_DAYS]
    if unknown:
        raise ValidationError(
            f"{', '.join(unknown)}: work days are {', '.join(WORK_DAYS)} (comma-separated)"
        )


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("role", Role.LEAD)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(email=normalize_email(username or ""))


def normalize_email(address: str) -> str:
    """Addresses are compared case-insensitively everywhere (mail, login, portal)."""
    return address.strip().lower()


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.COMMUNITY)
    organization = models.ForeignKey(
        "organizations.Organization",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    team = models.CharField(
        max_length=100, blank=True, help_text="For internal teammates: Customer Engineering, …"
    )
    timezone = models.CharField(
        max_length=64, default="America/Los_Angeles", validators=[validate_timezone]
    )
    # Working hours (for staff), in `timezone`: notifications outside them wait until the next
    # start (quiet hours), except what goes to the on-call person.
    work_days = models.CharField(
        max_length=40,
        default="mon,tue,wed,thu,fri",
        help_text="Comma-separated: mon,tue,wed,thu,fri,sat,sun",
        validators=[validate_work_days],
    )
    work_starts = models.TimeField(default=dt.time(9, 0))
    work_ends = models.TimeField(default=dt.time(17, 0))
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=now)
    # Set when mail to this address bounces permanently: nothing is emailed until staff clear it.
    email_disabled_reason = models.CharField(max_length=300, blank=True)
    email_disabled_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["name", "email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.CheckConstraint(
                condition=(
                    models.Q(role__in=["contact", "org_admin"], organization__isnull=False)
                    | models.Q(
                        role__in=["agent", "lead", "internal", "community"],
                        organization__isnull=True,
                    )
                ),
                name="user_role_matches_organization",
                violation_error_message=(
                    "Customer contacts and org admins belong to an organization; staff and "
                    "community users do not."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = normalize_email(self.email)
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]

    @property
    def is_staff(self) -> bool:
        """Vendor staff: agents, leads and internal teammates see the console."""
        return self.role in STAFF_ROLES

    @property
    def is_agent(self) -> bool:
        """Works tickets: replies publicly, assigns, changes status and severity."""
        return self.role in (Role.AGENT, Role.LEAD)

    @property
    def is_lead(self) -> bool:
        return self.role == Role.LEAD

    @property
    def is_customer(self) -> bool:
        return self.role in CUSTOMER_ROLES

    @property
    def is_org_admin(self) -> bool:
        return self.role == Role.ORG_ADMIN

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class SecurityEvent(models.Model):
    """Append-only log of security-relevant events (sign-in, failures, role changes, tokens…).

    Also the source of truth for login throttling, so throttling works across processes."""

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Failed sign-in"
        SIGN_IN_LOCKED = "sign_in_locked", "Sign-in refused (too many failures)"
        SIGN_OUT = "sign_out", "Signed out"
        PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        ROLE_CHANGED = "role_changed", "Role changed"
        TOKEN_CREATED = "token_created", "API token created"
        TOKEN_REVOKED = "token_revoked", "API token revoked"
        EXPORT = "export", "Data exported"

    kind = models.CharField(max_length=40, choices=Kind.choices)
    created_at = models.DateTimeField(default=now, db_index=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="security_events"
    )
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.CharField(max_length=254, blank=True, help_text="The address that was tried")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["kind", "email", "created_at"], name="secevent_email_idx"),
            models.Index(fields=["kind", "ip_address", "created_at"], name="secevent_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.email or self.user_id} at {self.created_at}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Security events are append-only")
        super().save(*args, **kwargs)
