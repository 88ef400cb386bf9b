"""The shared e-mail corpus, and a terminal summary of the measurements the tests take.

The corpus is kept in the repository (`testdata/email-corpus`, a byte-for-byte copy of the shared
corpus, checked against the SHA-256 sums in its index), or wherever SUPPORTDESK_EMAIL_CORPUS
points. Without it the corpus tests fail: a silent skip would let CI pass while measuring nothing.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from supportdesk.mail.parsing import ParsedMail, parse_message

REPO_ROOT = Path(__file__).resolve().parents[5]
CORPUS_ENV = "SUPPORTDESK_EMAIL_CORPUS"
MEASUREMENT = "mail-measurement"


def corpus_path() -> Path:
    return Path(os.environ.get(CORPUS_ENV) or REPO_ROOT / "testdata" / "email-corpus")


@dataclass(frozen=True)
class Corpus:
    root: Path
    rows: tuple[dict[str, str], ...]
    # sisimai's expectations, keyed by the file's path relative to the corpus root
    expected: dict[str, tuple[dict[str, str], ...]] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.root / name

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def files(self, kind: str) -> list[str]:
        return [row["file"] for row in self.rows if row["kind"] == kind]

    def row(self, name: str) -> dict[str, str]:
        return next(row for row in self.rows if row["file"] == name)


@cache
def load_corpus() -> Corpus:
    root = corpus_path()
    index = root / "index.csv"
    expected_csv = root / "sisimai" / "expected" / "expected.csv"
    if not index.is_file() or not expected_csv.is_file():
        pytest.fail(
            f"The e-mail test corpus is missing: {index} not found. It belongs at "
            f"<repository>/testdata/email-corpus (or point {CORPUS_ENV} at a copy).",
            pytrace=False,
        )
    with index.open(newline="", encoding="utf-8") as handle:
        rows = tuple(csv.DictReader(handle))
    expected: dict[str, list[dict[str, str]]] = {}
    with expected_csv.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            expected.setdefault(f"sisimai/{row['file']}", []).append(row)
    return Corpus(
        root=root,
        rows=rows,
        expected={name: tuple(items) for name, items in expected.items()},
    )


@cache
def parsed_corpus_message(name: str) -> ParsedMail:
    """A corpus message parsed once per test session (for tests that do not time the parse)."""
    return parse_message(load_corpus().read(name))


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return load_corpus()


Report = Callable[[str], None]


@pytest.fixture
def report(record_property: Callable[[str, object], None]) -> Report:
    """`report(line)`: print a measurement in pytest's terminal summary (also under xdist)."""

    def say(line: str) -> None:
        print(line)
        record_property(MEASUREMENT, line)

    return say


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = [
        str(value)
        for reports in terminalreporter.stats.values()
        for item in reports
        if getattr(item, "when", None) == "call"
        for name, value in getattr(item, "user_properties", ())
        if name == MEASUREMENT
    ]
    if lines:
        terminalreporter.section("e-mail parsing measurements")
        for line in lines:
            terminalreporter.write_line(line)
