from __future__ import annotations

from fractions import Fraction

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from supportdesk.availability.timebase import format_duration

register = template.Library()

_STATUS_TONE = {
    "up": "ok",
    "down": "bad",
    "maintenance": "info",
    "unknown": "muted",
    "investigating": "bad",
    "identified": "warn",
    "monitoring": "info",
    "resolved": "ok",
    "proposed": "warn",
    "scheduled": "accent",
    "in_progress": "info",
    "overrunning": "bad",
    "completed": "ok",
    "cancelled": "muted",
}


@register.filter
def percent(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "no data"
    return f"{value * 100:.{digits}f} %"


@register.filter
def duration(seconds: int | float | Fraction | None) -> str:
    if seconds is None:
        return "—"
    whole = int(seconds)
    return ("−" if whole < 0 else "") + format_duration(abs(whole))


@register.simple_tag
def state_badge(value: str, label: str = "") -> SafeString:
    return format_html(
        '<span class="badge badge-{}">{}</span>',
        _STATUS_TONE.get(str(value), "muted"),
        label or str(value).replace("_", " ").capitalize(),
    )


@register.filter
def budget_share(figures: object) -> int:
    """Remaining error budget as a percentage of the budget (0–100), for the gauge."""
    budget = getattr(figures, "budget_seconds", 0)
    remaining = getattr(figures, "budget_remaining_seconds", 0)
    if not budget:
        return 0
    return max(0, min(100, int(100 * remaining / budget)))


@register.filter
def duration_td(value: object) -> str:
    from datetime import timedelta

    if not isinstance(value, timedelta):
        return ""
    return format_duration(value)


@register.filter
def target_percent(value: object) -> str:
    """0.995 → 99.5 %."""
    from decimal import Decimal

    try:
        if isinstance(value, Fraction):
            number = Decimal(value.numerator) / Decimal(value.denominator) * 100
        else:
            number = Decimal(str(value)) * 100
    except ArithmeticError:
        return str(value)
    return f"{number.normalize():f} %"
