"""Turning untrusted text and HTML into something safe to show.

All customer-supplied HTML passes through nh3 (an allow-list sanitiser); plain text is escaped and
only ever gains paragraphs, line breaks and links."""

from __future__ import annotations

import re

import nh3
from django.utils.html import escape

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "abbr": {"title"},
}
_URL = re.compile(r"(?P<url>https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]])")


def sanitize_html(html: str) -> str:
    """Keep formatting, drop anything active: scripts, styles, event handlers, javascript: URLs."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def text_to_html(text: str) -> str:
    """Plain text → paragraphs with line breaks and clickable links, then sanitised."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()) if p]
    parts = []
    for paragraph in paragraphs:
        escaped = escape(paragraph)
        linked = _URL.sub(lambda m: f'<a href="{m.group("url")}">{m.group("url")}</a>', escaped)
        parts.append("<p>" + linked.replace("\n", "<br>") + "</p>")
    return sanitize_html("\n".join(parts))
