"""``supportdesk sla due`` / ``supportdesk sla elapsed``: the JSON contract, batches and errors.

Most tests call ``due_main`` / ``elapsed_main`` in-process (fast); two run the real console entry in
a subprocess to check the dispatcher, the exit status, and that Django is never imported.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from supportdesk.sla.cli import due_main, elapsed_main

CALENDAR = """\
timezone = "America/Los_Angeles"
[hours]
mon = ["09:00-17:00"]
tue = ["09:00-17:00"]
wed = ["09:00-17:00"]
thu = ["09:00-17:00"]
fri = ["09:00-17:00"]
[holidays]
country = "US"
"""

SRC = Path(__file__).resolve().parents[3]


@pytest.fixture
def calendar(tmp_path: Path) -> str:
    path = tmp_path / "team.toml"
    path.write_text(CALENDAR)
    return str(path)


def run(main: object, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    assert callable(main)
    status = main(argv, stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_due_prints_one_json_object_with_due_in_utc_and_local(calendar: str) -> None:
    status, out, err = run(
        due_main,
        ["--calendar", calendar, "--start", "2026-03-06T16:30:00-08:00", "--target", "24h"],
    )
    assert (status, err) == (0, "")
    assert out.count("\n") == 1
    result = json.loads(out)
    assert result["due"] == "2026-03-11T23:30:00Z"
    assert result["due_local"] == "2026-03-11T16:30:00-07:00"
    assert result["target_seconds"] == 86400
    assert result["timezone"] == "America/Los_Angeles"


def test_due_with_pauses_and_an_open_pause(calendar: str) -> None:
    base = ["--calendar", calendar, "--start", "2026-03-09T09:00:00-07:00", "--target", "4h"]
    status, out, _ = run(
        due_main, [*base, "--pause", "2026-03-09T10:00:00-07:00/2026-03-09T11:30:00-07:00"]
    )
    assert status == 0
    assert json.loads(out)["due_local"] == "2026-03-09T14:30:00-07:00"
    status, out, _ = run(due_main, [*base, "--pause", "2026-03-09T11:00:00-07:00/"])
    result = json.loads(out)
    assert status == 0
    assert result["due"] is None
    assert result["paused_since"] == "2026-03-09T18:00:00Z"
    assert result["remaining_seconds"] == 2 * 3600


def test_elapsed_prints_business_seconds(calendar: str) -> None:
    status, out, err = run(
        elapsed_main,
        [
            "--calendar",
            calendar,
            "--start",
            "2026-03-06T16:30:00-08:00",
            "--end",
            "2026-03-11T16:30:00-07:00",
            "--pause",
            "2026-03-09T09:00:00-07:00/2026-03-09T10:00:00-07:00",
        ],
    )
    assert (status, err) == (0, "")
    result = json.loads(out)
    assert result["business_seconds"] == 23 * 3600
    assert result["business_time"] == "23h"


def test_batch_answers_every_line_in_order_across_chunks(calendar: str, tmp_path: Path) -> None:
    lines = [
        {"start": "2026-03-06T16:30:00-08:00", "target": "24h"},
        {"start": "2026-07-02T23:00:00Z", "target": 7200, "id": "T-2"},
        {
            "start": "2026-03-09T09:00:00-07:00",
            "target": "PT4H",
            "pauses": [["2026-03-09T10:00:00-07:00", "2026-03-09T11:30:00-07:00"]],
        },
        {
            "start": "2026-03-09T09:00:00-07:00",
            "target": "4h",
            "pauses": [["2026-03-09T11:00:00-07:00", None]],
            "id": 4,
        },
        {"start": "2026-03-09T16:00:00Z", "target": 0},
    ]
    batch = tmp_path / "in.jsonl"
    batch.write_text("".join(json.dumps(line) + "\n" for line in lines))
    status, out, err = run(
        due_main, ["--calendar", calendar, "--batch", str(batch), "--chunk-lines", "2"]
    )
    assert (status, err) == (0, "")
    answers = [json.loads(line) for line in out.splitlines()]
    assert answers == [
        {"due": "2026-03-11T23:30:00Z", "due_local": "2026-03-11T16:30:00-07:00"},
        {"id": "T-2", "due": "2026-07-06T17:00:00Z", "due_local": "2026-07-06T10:00:00-07:00"},
        {"due": "2026-03-09T21:30:00Z", "due_local": "2026-03-09T14:30:00-07:00"},
        {"id": 4, "due": None, "due_local": None, "paused": True},
        {"due": "2026-03-09T16:00:00Z", "due_local": "2026-03-09T09:00:00-07:00"},
    ]


def test_batch_files_with_a_byte_order_mark_and_crlf_line_ends(
    calendar: str, tmp_path: Path
) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_bytes(
        b'\xef\xbb\xbf{"start": "2026-03-06T16:30:00-08:00", "target": "24h"}\r\n'
        b'{"start": "2026-03-06T16:30:00-08:00", "target": "1h"}\r\n'
    )
    status, out, err = run(due_main, ["--calendar", calendar, "--batch", str(batch)])
    assert (status, err) == (0, "")
    assert [json.loads(line)["due"] for line in out.splitlines()] == [
        "2026-03-11T23:30:00Z",
        "2026-03-09T16:30:00Z",  # 30 min on Friday, 30 min on Monday (PDT by then)
    ]


def test_help_is_printed_and_exits_0(calendar: str) -> None:
    status, out, err = run(due_main, ["--help"])
    assert (status, err) == (0, "")
    assert "--target DURATION" in out


def test_elapsed_batch(calendar: str, tmp_path: Path) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_text(
        '{"start": "2026-03-09T09:00:00-07:00", "end": "2026-03-10T09:00:00-07:00"}\n'
        '{"start": "2026-03-09T09:00:00-07:00", "end": "2026-03-09T17:00:00-07:00",'
        ' "pauses": [["2026-03-09T12:00:00-07:00", "2026-03-09T13:00:00-07:00"]]}\n'
    )
    status, out, _ = run(elapsed_main, ["--calendar", calendar, "--batch", str(batch)])
    assert status == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"business_seconds": 8 * 3600},
        {"business_seconds": 7 * 3600},
    ]


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        (
            '{"start": "2026-03-06T16:30:00", "target": "24h"}',
            "in.jsonl:3: start: '2026-03-06T16:30:00' has no UTC offset; add one or Z",
        ),
        (
            '{"start": "2026-03-06T16:30:00Z", "target": "24 hours"}',
            "in.jsonl:3: target: '24 hours' is not a duration",
        ),
        (
            '{"start": "2026-03-06T16:30:00Z", "target": -5}',
            "in.jsonl:3: target: a target cannot be negative",
        ),
        ('{"start": "2026-03-06T16:30:00Z"}', "in.jsonl:3: 'target' is missing"),
        (
            '{"start": "2026-03-06T16:30:00Z", "target": "1h", "strat": 1}',
            "in.jsonl:3: unknown key 'strat'",
        ),
        ('{"start": "2026-03-06T16:30:00Z", "target": "1h"', "in.jsonl:3: not valid JSON"),
        ("", "in.jsonl:3: empty line"),
        ("[1, 2]", "in.jsonl:3: expected a JSON object"),
        (
            '{"start": "yesterday", "target": "1h"}',
            "in.jsonl:3: start: 'yesterday' is not an ISO 8601 instant",
        ),
        (
            '{"start": "2026-03-06T16:30:00Z", "target": "1h", '
            '"pauses": [["2026-03-06T16:30:00Z"]]}',
            "in.jsonl:3: pauses[0]: expected [start, end]",
        ),
        (
            '{"start": "2300-01-01T00:00:00Z", "target": "1h"}',
            "in.jsonl:3: 2300-01-01T00:00:00Z is outside",
        ),
    ],
)
def test_a_bad_batch_line_is_named_after_answering_the_lines_before_it(
    calendar: str, tmp_path: Path, bad_line: str, message: str
) -> None:
    good = '{"start": "2026-03-06T16:30:00-08:00", "target": "24h"}\n'
    batch = tmp_path / "in.jsonl"
    batch.write_text(good + good + bad_line + "\n" + good)
    status, out, err = run(due_main, ["--calendar", calendar, "--batch", str(batch)])
    assert status == 2
    assert len(out.splitlines()) == 2
    assert err.count("\n") == 1
    assert err.startswith(f"supportdesk sla due: {batch}:3: ")
    assert message.replace("in.jsonl", str(batch)) in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--start", "2026-03-06T16:30:00", "--target", "24h"],
            "--start: '2026-03-06T16:30:00' has no UTC offset",
        ),
        (
            ["--start", "2026-03-06T16:30:00Z", "--target", "1.5h"],
            "--target: '1.5h' is not a duration",
        ),
        (["--start", "2026-03-06T16:30:00Z", "--target", "90"], "write 90s for seconds"),
        (["--start", "2026-03-06T16:30:00Z"], "--start and --target are required"),
        (
            ["--start", "2026-03-06T16:30:00Z", "--target", "1h", "--pause", "x"],
            "--pause: 'x' is not START/END",
        ),
        (
            ["--start", "2026-03-06T16:30:00Z", "--target", "1h", "--batch", "x.jsonl"],
            "--batch reads everything",
        ),
        (
            ["--start", "2026-03-06T16:30:00Z", "--target", "1h", "--colour"],
            "unrecognized arguments: --colour",
        ),
    ],
)
def test_bad_arguments_exit_2_with_one_line(calendar: str, argv: list[str], message: str) -> None:
    status, out, err = run(due_main, ["--calendar", calendar, *argv])
    assert (status, out) == (2, "")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert err.startswith("supportdesk sla due: ")
    assert message in err


@pytest.mark.parametrize(
    ("calendar_text", "message"),
    [
        (
            'timezone = "Mars/Olympus"\n[hours]\nmon = ["09:00-17:00"]\n',
            "team.toml: timezone: unknown time zone 'Mars/Olympus'",
        ),
        (
            'timezone = "UTC"\n[hours]\nmon = ["09:00-13:00", "12:00-17:00"]\n',
            "team.toml: hours.mon: '09:00-13:00' overlaps '12:00-17:00'",
        ),
        (
            'timezone = "UTC"\n[hours]\nmon = ["17:00-09:00"]\n',
            "team.toml: hours.mon[0]: '17:00-09:00': the end must be after the start",
        ),
        (
            'timezone = "UTC"\n[hours]\nmon = ["20:00-24:01"]\n',
            "team.toml: hours.mon[0]: '20:00-24:01': times run from 00:00 to 24:00",
        ),
        (
            'timezone = "UTC"\n[hours]\nmonday = ["09:00-17:00"]\n',
            "team.toml: hours.monday: unknown weekday",
        ),
        ('timezone = "UTC"\n[hours]\n', "team.toml: hours: no working time at all"),
    ],
)
def test_bad_calendar_files_exit_2_naming_the_file_and_field(
    tmp_path: Path, calendar_text: str, message: str
) -> None:
    path = tmp_path / "team.toml"
    path.write_text(calendar_text)
    status, out, err = run(
        elapsed_main,
        [
            "--calendar",
            str(path),
            "--start",
            "2026-03-06T16:30:00Z",
            "--end",
            "2026-03-07T16:30:00Z",
        ],
    )
    assert (status, out) == (2, "")
    assert err.count("\n") == 1
    assert message.replace("team.toml", str(path)) in err


def test_a_missing_calendar_file(tmp_path: Path) -> None:
    status, _, err = run(
        due_main,
        [
            "--calendar",
            str(tmp_path / "nope.toml"),
            "--start",
            "2026-03-06T16:30:00Z",
            "--target",
            "1h",
        ],
    )
    assert status == 2
    assert "nope.toml: cannot read the calendar: No such file or directory" in err


def _console(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    # The real entry point; fail the run if anything imported Django.
    script = (
        "import sys\n"
        "from supportdesk.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "assert 'django' not in sys.modules, 'a pure command imported Django'\n"
        "sys.exit(status)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        check=False,
        timeout=60,
    )


def test_the_console_command_runs_without_django_and_reads_stdin(calendar: str) -> None:
    done = _console(
        ["sla", "due", "--calendar", calendar, "--batch", "-"],
        stdin='{"start": "2026-03-06T16:30:00-08:00", "target": "24h"}\n',
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout)["due"] == "2026-03-11T23:30:00Z"


def test_the_console_command_reports_a_bad_line_without_a_traceback(calendar: str) -> None:
    done = _console(
        ["sla", "due", "--calendar", calendar, "--batch", "-"],
        stdin='{"start": "2026-03-06T16:30:00-08:00", "target": "24h"}\n{"start": 5}\n',
    )
    assert done.returncode == 2
    assert done.stderr == "supportdesk sla due: <stdin>:2: 'target' is missing\n"
    assert len(done.stdout.splitlines()) == 1
