from __future__ import annotations

from django import forms

from supportdesk.core.forms import AttachmentsField, parse_addresses, severity_field


class TicketCreateForm(forms.Form):
    subject = forms.CharField(max_length=250)
    severity = severity_field()
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="What happened, what you expected, and anything you already tried.",
    )
    ccs = forms.CharField(
        label="CC colleagues",
        required=False,
        help_text="Email addresses of colleagues in your organization, separated by commas.",
    )
    attachments = AttachmentsField(help_text="Logs, screenshots, configuration.")

    def cleaned_ccs(self) -> list[str]:
        return parse_addresses(self.cleaned_data.get("ccs", ""))


class ReplyForm(forms.Form):
    body = forms.CharField(label="Your reply", widget=forms.Textarea(attrs={"rows": 5}))
    attachments = AttachmentsField()
