"""Every file of the corpus goes through the parser (or the reply extractor) without an error."""

from __future__ import annotations

import re
import time
import traceback

from supportdesk.mail.parsing import (
    automatic_reason,
    detect_bounce,
    extract_reply,
    extract_reply_from_html,
    parse_message,
)
from supportdesk.mail.parsing.model import ParsedMail
from supportdesk.mail.parsing.tests.conftest import Corpus, Report, parsed_corpus_message

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _invariants(parsed: ParsedMail) -> list[str]:
    """What every result must satisfy, whatever the input."""
    problems = []
    texts = [parsed.subject, parsed.text, parsed.reply_text, parsed.new_text, parsed.html or ""]
    texts += [value for _, value in parsed.headers]
    if any(_UNSTORABLE.search(text) for text in texts):
        problems.append("NUL or lone surrogate in decoded text")
    if parsed.date is not None and parsed.date.tzinfo is None:
        problems.append("naive date")
    for attachment in parsed.attachments:
        name = attachment.filename
        if not name or "/" in name or "\\" in name or name.startswith("."):
            problems.append(f"unsafe attachment filename {name!r}")
    if parsed.html and re.search(r"<script|\son\w+\s*=|javascript:", parsed.html, re.I):
        problems.append("active content left in sanitised HTML")
    return problems


def test_every_rfc822_file_parses(corpus: Corpus, report: Report) -> None:
    names = corpus.files("rfc822")
    failures: list[str] = []
    defects = 0
    started = time.perf_counter()
    slowest = (0.0, "")
    for name in names:
        raw = corpus.read(name)
        began = time.perf_counter()
        try:
            parsed = parse_message(raw, cid_url=lambda cid: f"/attachments/cid/{cid}")
            detect_bounce(parsed)
            automatic_reason(parsed, own_addresses=["support@example.com"])
        except Exception:
            failures.append(f"{name}: {traceback.format_exc(limit=3)}")
            continue
        slowest = max(slowest, (time.perf_counter() - began, name))
        defects += bool(parsed.defects)
        failures.extend(f"{name}: {problem}" for problem in _invariants(parsed))
    elapsed = time.perf_counter() - started
    report(
        f"corpus: {len(names)} RFC 822 files parsed (+ bounce and loop classification) in "
        f"{elapsed:.2f} s, {len(failures)} failures, {defects} with recorded defects; "
        f"slowest {slowest[1]} {slowest[0]:.2f} s"
    )
    assert len(names) > 800, "the corpus index lists fewer messages than it should"
    assert not failures, "\n".join(failures)


def test_every_body_file_goes_through_the_reply_extractor(corpus: Corpus, report: Report) -> None:
    failures: list[str] = []
    started = time.perf_counter()
    names = corpus.files("body-text") + corpus.files("html-body")
    for name in names:
        content = corpus.read(name).decode("utf-8", errors="replace")
        try:
            if name.endswith(".html"):
                result = extract_reply_from_html(content)
            else:
                result = extract_reply(content)
        except Exception:
            failures.append(f"{name}: {traceback.format_exc(limit=3)}")
            continue
        if content.strip() and not result.reply.strip():
            failures.append(f"{name}: empty reply from a non-empty body")
        if len(result.new_text) > len(result.reply):
            failures.append(f"{name}: new text longer than the reply")
    elapsed = time.perf_counter() - started
    report(
        f"corpus: {len(names)} body files through the reply extractor in {elapsed:.2f} s, "
        f"{len(failures)} failures"
    )
    assert len(names) == 82
    assert not failures, "\n".join(failures)


def test_hostile_structure_is_bounded_and_recorded(corpus: Corpus) -> None:
    # 3 MB of message/rfc822 nested inside itself, and a 200 KB Subject.
    endless = parsed_corpus_message("flanker/messages/enclosed-endless.eml")
    assert any("MIME parts" in d or "nesting" in d for d in endless.defects)
    long_header = parsed_corpus_message("flanker/messages/long-header.eml")
    assert any("Subject header longer" in d for d in long_header.defects)
    assert long_header.subject.startswith("Die heiße Zypernsonne quälte Max und Victoria")


def test_the_corpus_copy_is_byte_for_byte_the_indexed_one(corpus: Corpus) -> None:
    """The repository's copy of the corpus is test data, never edited: every file matches the
    SHA-256 recorded in index.csv."""
    import hashlib

    changed = [
        row["file"]
        for row in corpus.rows
        if hashlib.sha256(corpus.read(row["file"])).hexdigest() != row["sha256"]
    ]
    assert len(corpus.rows) == 891
    assert changed == []
