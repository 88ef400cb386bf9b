"""Form pieces shared by the console and the portal."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from supportdesk.tickets.models import SEVERITY_DEFINITIONS, Severity
from supportdesk.tickets.services import UploadedAttachment, safe_filename


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Zero or more files, read into UploadedAttachment values for the services."""

    widget = MultipleFileInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedAttachment]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        uploads = []
        for f in files:
            super().clean(f, initial)
            uploads.append(UploadedAttachment(filename=safe_filename(f.name), content=f.read()))
        return uploads


class SeverityWidget(forms.RadioSelect):
    template_name = "core/widgets/severity.html"


def severity_field(**kwargs: Any) -> forms.TypedChoiceField:
    """Severity, with the handbook's definition shown beside each choice."""
    return forms.TypedChoiceField(
        choices=[(s.value, s.label) for s in Severity],
        coerce=int,
        widget=SeverityWidget,
        initial=Severity.SEV2,
        help_text=severity_help(),
        **kwargs,
    )


def severity_help() -> SafeString:
    return format_html(
        "<dl class='severity-help'>{}</dl>",
        format_html_join(
            "", "<dt>Severity {}</dt><dd>{}</dd>", sorted(SEVERITY_DEFINITIONS.items())
        ),
    )


def parse_addresses(raw: str) -> list[str]:
    return [a.strip() for a in raw.replace(";", ",").replace("\n", ",").split(",") if a.strip()]


class LocalDateTimeField(forms.DateTimeField):
    """A datetime-local input read in the user's own time zone (the form gets it explicitly)."""

    widget = forms.DateTimeInput(
        attrs={"type": "datetime-local", "step": 60}, format="%Y-%m-%dT%H:%M"
    )

    def __init__(self, *args: Any, tz: zoneinfo.ZoneInfo | None = None, **kwargs: Any) -> None:
        self.tz = tz
        kwargs.setdefault("input_formats", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> dt.datetime | None:
        result = super().to_python(value)
        if result is not None and self.tz is not None and result.tzinfo is None:
            result = result.replace(tzinfo=self.tz)
        return result

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dt.datetime) and self.tz is not None and value.tzinfo is not None:
            return value.astimezone(self.tz).strftime("%Y-%m-%dT%H:%M")
        return super().prepare_value(value)


def apply_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Show a service's ValidationError on the form, on the field it names when there is one."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
