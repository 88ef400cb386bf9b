"""Customer organizations: plan, deployment, contract, email domains and managed instances."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class Plan(models.TextChoices):
    PROSPECT = "prospect", "Prospect (trial)"
    COMMUNITY = "community", "Community"
    ENTERPRISE = "enterprise", "Enterprise"
    ENTERPRISE_PLUS = "enterprise_plus", "Enterprise Plus"
    ELITE = "elite", "Elite"


class Deployment(models.TextChoices):
    SELF_HOSTED = "self_hosted", "Self-hosted"
    MANAGED = "managed", "Managed instance"


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.PROSPECT)
    deployment = models.CharField(
        max_length=20, choices=Deployment.choices, default=Deployment.SELF_HOSTED
    )
    product_version = models.CharField(
        max_length=50, blank=True, help_text="The product version the customer runs, if known"
    )
    trial_ends_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True, help_text="What the support team should know")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_managed(self) -> bool:
        return self.deployment == Deployment.MANAGED

    def active_contract(self, on: dt.date | None = None) -> Contract | None:
        day = on or timezone.localdate()
        for contract in self.contracts.all():
            if contract.covers(day):
                return contract
        return None


class EmailDomain(models.Model):
    """Mail from an unknown sender at this domain joins the organization as a contact."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="email_domains"
    )
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.domain = self.domain.strip().lower().lstrip("@")
        super().save(*args, **kwargs)


class Contract(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="contracts"
    )
    reference = models.CharField(max_length=100, help_text="The contract's number or name")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True, help_text="Empty: open-ended")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True)
                | models.Q(ends_on__gte=models.F("starts_on")),
                name="contract_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        end = self.ends_on.isoformat() if self.ends_on else "open-ended"
        return f"{self.reference} ({self.starts_on.isoformat()} – {end})"

    def clean(self) -> None:
        if self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": "A contract cannot end before it starts."})

    def covers(self, day: dt.date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


class ManagedInstance(models.Model):
    """An instance of the product the vendor operates for the customer."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="instances"
    )
    name = models.SlugField(max_length=100, unique=True, help_text="e.g. globex-prod")
    url = models.URLField()
    health_url = models.URLField(blank=True)
    product_version = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
