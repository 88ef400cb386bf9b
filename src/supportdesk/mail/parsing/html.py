"""HTML bodies: sanitising with nh3, rewriting inline `cid:` images, and converting to text."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Collection
from html.parser import HTMLParser
from urllib.parse import unquote

import nh3

# What agents' browsers may render from customer HTML. Scripts, styles, frames, forms, SVG and
# MathML (mutation-XSS vectors) are removed with their content; other unknown tags are unwrapped.
ALLOWED_TAGS: frozenset[str] = frozenset(nh3.ALLOWED_TAGS | {"font"})
REMOVED_WITH_CONTENT: frozenset[str] = frozenset(
    {
        "script",
        "style",
        "title",
        "head",
        "template",
        "noscript",
        "svg",
        "math",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "textarea",
        "select",
        "button",
        "xml",
    }
)
ALLOWED_URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto", "tel"})
# Inline styles carry most of an email's layout; these properties cannot position content over
# the agent interface or fetch anything (no `position`, no `background-image: url(...)`).
ALLOWED_STYLE_PROPERTIES: frozenset[str] = frozenset(
    {
        "color",
        "background-color",
        "font",
        "font-family",
        "font-size",
        "font-style",
        "font-weight",
        "text-align",
        "text-decoration",
        "text-indent",
        "line-height",
        "letter-spacing",
        "white-space",
        "vertical-align",
        "list-style-type",
        "margin",
        "margin-top",
        "margin-right",
        "margin-bottom",
        "margin-left",
        "padding",
        "padding-top",
        "padding-right",
        "padding-bottom",
        "padding-left",
        "border",
        "border-top",
        "border-right",
        "border-bottom",
        "border-left",
        "border-color",
        "border-style",
        "border-width",
        "border-collapse",
        "width",
        "height",
        "max-width",
    }
)


def _allowed_attributes() -> dict[str, set[str]]:
    attributes = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes.setdefault("*", set()).update({"dir", "lang", "title", "style"})
    for tag in ("table", "td", "th", "tr"):
        attributes.setdefault(tag, set()).update({"width", "height", "valign", "bgcolor"})
    attributes["table"].update({"border", "cellpadding", "cellspacing"})
    attributes.setdefault("img", set()).add("title")
    attributes["font"] = {"color", "face", "size"}
    return attributes


_ALLOWED_ATTRIBUTES = _allowed_attributes()

_CID_REFERENCE = re.compile(
    r"""(?P<attr>\b(?:src|background|href|poster)\s*=\s*)(?P<quote>["']?)\s*cid:(?P<cid>[^"'\s>]+)(?P=quote)""",
    re.IGNORECASE,
)


def rewrite_cid_references(
    html: str, content_ids: Collection[str], cid_url: Callable[[str], str]
) -> str:
    """Point `cid:` references (RFC 2392) at attachment URLs, before sanitising drops the scheme.

    Only references to a Content-ID the message actually carries are rewritten; `cid_url`
    receives the Content-ID without angle brackets and returns the URL to use.
    """
    known = {cid: cid for cid in content_ids}
    folded = {cid.casefold(): cid for cid in content_ids}

    def replace(match: re.Match[str]) -> str:
        wanted = unquote(match.group("cid")).strip("<>")
        cid = known.get(wanted) or folded.get(wanted.casefold())
        if cid is None:
            return match.group(0)
        url = html_lib.escape(cid_url(cid), quote=True)
        return f'{match.group("attr")}"{url}"'

    return _CID_REFERENCE.sub(replace, html)


_UNENCODABLE = re.compile("[\x00\ud800-\udfff]")


def sanitise_html(html: str) -> str:
    """Customer HTML made inert: no scripts, styles, event handlers, frames or javascript: URLs."""
    # Lone surrogates cannot cross into nh3's Rust strings; NUL has no place in HTML.
    html = _UNENCODABLE.sub(lambda m: "" if m.group(0) == "\x00" else "\ufffd", html)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(REMOVED_WITH_CONTENT),
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=set(ALLOWED_URL_SCHEMES),
        filter_style_properties=set(ALLOWED_STYLE_PROPERTIES),
        strip_comments=True,
        link_rel="noopener noreferrer",
    )


# A line the HTML-to-text conversion emits where a mail client's own quote container starts
# (Gmail's div.gmail_quote, Outlook's OLK_SRC_BODY_SECTION...). The reply extractor treats it as
# the start of quoted history; it can never occur in real text (NUL is stripped from input).
QUOTE_MARKER = "\x00quote\x00"

_QUOTE_CONTAINER_CLASSES = frozenset(
    {
        "gmail_quote",
        "gmail_quote_container",
        "moz-cite-prefix",
        "yahoo_quoted",
        "zmail_extra",
        "protonmail_quote",
        "ms-outlook-mobile-reference-message",
    }
)
_QUOTE_CONTAINER_IDS = frozenset(
    {
        "olk_src_body_section",
        "divrplyfwdmsg",
        "x_divrplyfwdmsg",
        "appendonsend",
        "mail-editor-reference-message-container",
        "reply-intro",
    }
)

_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    }
)
_PARAGRAPH_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre"})
_SKIPPED_TAGS = frozenset(REMOVED_WITH_CONTENT)
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


class _TextExtractor(HTMLParser):
    def __init__(self, *, mark_quotes: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.mark_quotes = mark_quotes
        self.lines: list[tuple[int, str]] = []  # (quote depth, text)
        self.current: list[str] = []
        self.current_depth = 0
        self.quote_depth = 0
        self.skip_depth = 0
        self.pre_depth = 0
        self.pending_href: list[str | None] = []

    # Lines -------------------------------------------------------------------------------

    def _break(self, blank: bool = False) -> None:
        text = "".join(self.current).replace("\xa0", " ")
        if self.pre_depth == 0:
            text = _SPACES.sub(" ", text)
        text = text.strip()
        if text:
            self.lines.append((self.current_depth, text))
        if blank and self.lines and self.lines[-1][1] != "":
            self.lines.append((self.quote_depth, ""))
        self.current = []
        self.current_depth = self.quote_depth

    def _marker(self) -> None:
        self._break()
        self.lines.append((0, QUOTE_MARKER))

    # Parser callbacks --------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            if tag not in _VOID_TAGS:
                self.skip_depth += 1
            return
        if tag == "body":
            self.skip_depth = 0  # an unclosed <head> or <title> must not swallow the body
        if self.skip_depth:
            return
        if self.mark_quotes and tag in {"div", "span", "section", "blockquote"}:
            values = dict(attrs)
            classes = set((values.get("class") or "").casefold().split())
            element_id = (values.get("id") or "").casefold()
            if classes & _QUOTE_CONTAINER_CLASSES or element_id in _QUOTE_CONTAINER_IDS:
                self._marker()
        if tag == "br":
            # A <br> on an empty line is a blank line (the usual paragraph break in mail HTML).
            self._break(blank=not "".join(self.current).strip())
        elif tag == "blockquote":
            self._break()
            self.quote_depth += 1
            self.current_depth = self.quote_depth
        elif tag in _BLOCK_TAGS:
            self._break(blank=tag in _PARAGRAPH_TAGS)
            if tag == "li":
                self.current.append("- ")
            elif tag == "pre":
                self.pre_depth += 1
        elif tag in {"td", "th"}:
            self.current.append(" ")
        elif tag == "a":
            href = dict(attrs).get("href")
            self.pending_href.append(href)
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self.current.append(f" {alt} ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            return
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            if self.skip_depth:
                self.skip_depth -= 1
            return
        if tag == "head":
            self.skip_depth = 0
        if self.skip_depth:
            return
        if tag == "blockquote":
            self._break()
            self.quote_depth = max(0, self.quote_depth - 1)
            self.current_depth = self.quote_depth
        elif tag in _BLOCK_TAGS:
            if tag == "pre":
                self.pre_depth = max(0, self.pre_depth - 1)
            self._break(blank=tag in _PARAGRAPH_TAGS)
        elif tag == "a" and self.pending_href:
            href = self.pending_href.pop()
            if href and href.lower().startswith(("http://", "https://")):
                shown = "".join(self.current)
                if href not in shown:
                    self.current.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        if not self.current:
            self.current_depth = self.quote_depth
        if self.pre_depth:
            parts = data.split("\n")
            for index, part in enumerate(parts):
                if index:
                    self._break()
                self.current.append(part)
        else:
            self.current.append(data)

    def text(self) -> str:
        self._break()
        out: list[str] = []
        for depth, line in self.lines:
            if line == QUOTE_MARKER:
                out.append(line)
            elif line == "":
                if out and out[-1] != "":
                    out.append("> " * depth if depth else "")
            else:
                out.append(("> " * depth) + line)
        return "\n".join(out).strip("\n")


_TAG = re.compile(r"<[^>]*>")
_HEAD = re.compile(r"<(script|style|head|title)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def html_to_text(html: str, *, mark_quotes: bool = False) -> str:
    """Readable plain text from HTML: blocks become lines, `<blockquote>` becomes `> ` quoting.

    With `mark_quotes`, a `QUOTE_MARKER` line is emitted where a mail client's own quote container
    begins, for the reply extractor. Never raises: if the parser gives up, tags are stripped.
    """
    html = html.replace("\x00", "")
    extractor = _TextExtractor(mark_quotes=mark_quotes)
    try:
        extractor.feed(html)
        extractor.close()
        return extractor.text()
    except Exception:
        stripped = _TAG.sub(" ", _HEAD.sub(" ", html))
        lines = (_SPACES.sub(" ", line).strip() for line in html_lib.unescape(stripped).split("\n"))
        return "\n".join(line for line in lines if line)
