"""``supportdesk availability compute FILE.json``: output keys, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from supportdesk.availability import AvailabilityConfig, Period, Timeline, parse_instant
from supportdesk.availability.cli import compute_main

GOOD: dict[str, Any] = {
    "interval": 60,
    "failures_to_down": 2,
    "max_gap": 180,
    "period": ["2026-10-01T00:00:00Z", "2026-10-01T01:00:00Z"],
    "probes": [
        [f"2026-10-01T00:{minute:02d}:00Z", not 10 <= minute < 15 and not 40 <= minute < 45]
        for minute in range(0, 50)
    ],
    "windows": [
        {
            "announced_at": "2026-09-29T12:00:00+02:00",
            "start": "2026-10-01T00:40:00Z",
            "end": "2026-10-01T00:44:00Z",
            "emergency": False,
        }
    ],
}
REQUIRED_KEYS = {
    "raw_availability",
    "sla_availability",
    "downtime_seconds",
    "maintenance_seconds",
    "unknown_seconds",
    "budget_remaining_seconds",
}


def run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: object, *, raw: str | None = None
) -> tuple[int, str, str, str]:
    path = tmp_path / "input.json"
    path.write_text(raw if raw is not None else json.dumps(document), encoding="utf-8")
    status = compute_main([str(path)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err, str(path)


def test_a_good_document_prints_the_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err, _ = run(tmp_path, capsys, GOOD)
    assert (status, err) == (0, "")
    result = json.loads(out)
    assert result.keys() >= REQUIRED_KEYS
    # 00:00-00:50 known; down 00:10-00:15 (downtime) and 00:40-00:45, of which 00:40-00:44 is
    # inside the compliant window (maintenance) and 00:44-00:45 an overrun (downtime).
    assert result["known_seconds"] == 3000
    assert result["unknown_seconds"] == 600
    assert result["downtime_seconds"] == 360
    assert result["maintenance_seconds"] == 240
    assert result["eligible_seconds"] == 2760
    assert result["raw_availability"] == pytest.approx(2400 / 3000)
    assert result["sla_availability"] == pytest.approx(2400 / 2760)
    assert result["budget_seconds"] == pytest.approx(13.8)
    assert result["budget_remaining_seconds"] == pytest.approx(13.8 - 360)
    assert [(o["start"], o["seconds"], o["maintenance_seconds"]) for o in result["outages"]] == [
        ("2026-10-01T00:10:00Z", 300, 0),
        ("2026-10-01T00:40:00Z", 300, 240),
    ]
    assert result["windows"][0]["compliant"] is True
    assert result["windows"][0]["announced_at"] == "2026-09-29T10:00:00Z"
    assert (result["probes"], result["runs"]) == (50, 5)


def test_the_cli_agrees_with_the_library(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _, _ = run(tmp_path, capsys, GOOD)
    assert status == 0
    timeline = Timeline.from_probes(
        [int(parse_instant(t).timestamp()) for t, _ in GOOD["probes"]],
        [ok for _, ok in GOOD["probes"]],
        config=AvailabilityConfig(interval=60),
    )
    period = Period(parse_instant(GOOD["period"][0]), parse_instant(GOOD["period"][1]))
    expected = timeline.figures(period).to_dict()
    result = json.loads(out)
    assert result["raw_availability"] == expected["raw_availability"]
    assert result["down_seconds"] == expected["down_seconds"]


def test_unsorted_probes_are_sorted_and_defaults_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = {k: GOOD[k] for k in ("interval", "period", "probes")}
    document["probes"] = list(reversed(GOOD["probes"]))
    status, out, _, _ = run(tmp_path, capsys, document)
    result = json.loads(out)
    assert status == 0
    assert result["parameters"] == {
        "interval": 60,
        "failures_to_down": 2,
        "max_gap": 180,
        "target": 0.995,
    }
    assert result["down_seconds"] == 600
    assert result["windows"] == []


def test_no_known_time_gives_null_ratios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _, _ = run(tmp_path, capsys, {**GOOD, "probes": [], "windows": []})
    result = json.loads(out)
    assert status == 0
    assert result["raw_availability"] is None
    assert result["sla_availability"] is None
    assert result["unknown_seconds"] == 3600


def bad(**changes: Any) -> dict[str, Any]:
    document = {**GOOD, **changes}
    return {k: v for k, v in document.items() if v is not ...}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (bad(interval=...), "interval: missing"),
        (bad(probes=...), "probes: missing"),
        (bad(window=[]), "window: unknown key"),
        (bad(interval=0), "interval: must be between 1 and"),
        (bad(interval=60.5), "interval: must be a whole number of seconds"),
        (bad(interval=True), "interval: must be a whole number"),
        (bad(max_gap=30), "max_gap: must be at least the interval (60)"),
        (bad(failures_to_down="2"), "failures_to_down: must be a whole number"),
        (bad(target=1.5), "target: must be above 0 and at most 1"),
        (bad(target="lots"), "target: must be a number"),
        (bad(period=["2026-10-01T00:00:00Z"]), "period: must be [from, to]"),
        (bad(period=["2026-10-01T00:00:00", "2026-10-02T00:00:00Z"]), "period[0]: "),
        (bad(period=["2026-10-02T00:00:00Z", "2026-10-01T00:00:00Z"]), "period[1]: "),
        (bad(probes={"t": 1}), "probes: must be a JSON array"),
        (bad(probes=[["2026-10-01T00:00:00Z"]]), "probes[0]: must be [time, ok]"),
        (bad(probes=[["2026-10-01T00:00:00", True]]), "probes[0][0]: "),
        (bad(probes=[["2026-10-01T00:00:00.5Z", True]]), "probes[0][0]: "),
        (bad(probes=[["yesterday", True]]), "probes[0][0]: "),
        (bad(probes=[[1727740800, True]]), "probes[0][0]: must be an ISO 8601 time such as"),
        (
            bad(probes=[["2026-10-01T00:00:00", True]]),
            'probes[0][0]: "2026-10-01T00:00:00" has no UTC offset',
        ),
        (bad(probes=[["2026-10-01T00:00:00.5Z", True]]), "has a fraction of a second"),
        (bad(probes=[["yesterday", True]]), 'probes[0][0]: "yesterday" is not an ISO 8601 time'),
        (
            bad(windows=[{**GOOD["windows"][0], "announced_at": "9999-12-31T23:30:00-01:00"}]),
            'windows[0].announced_at: "9999-12-31T23:30:00-01:00" is outside the years 1 to 9999',
        ),
        (bad(probes=[["2026-10-01T00:00:00Z", 1]]), "probes[0][1]: must be true or false"),
        (bad(probes=[["2026-10-01T00:00:00Z", "true"]]), "probes[0][1]: must be true or false"),
        (
            bad(probes=[["2026-10-01T00:00:00Z", True], ["2026-10-01T02:00:00+02:00", False]]),
            "probes[1][0]: same time 2026-10-01T00:00:00Z as probes[0]",
        ),
        (bad(windows=[[]]), "windows[0]: must be an object"),
        (
            bad(windows=[{**GOOD["windows"][0], "end": GOOD["windows"][0]["start"]}]),
            "windows[0].end: ",
        ),
        (bad(windows=[{"start": "2026-10-01T00:00:00Z"}]), "windows[0].announced_at: missing"),
        (bad(windows=[{**GOOD["windows"][0], "reason": "x"}]), "windows[0].reason: unknown key"),
        (bad(windows=[{**GOOD["windows"][0], "emergency": "no"}]), "windows[0].emergency: must be"),
        ([1, 2], "must hold a JSON object"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: object, expected: str
) -> None:
    status, out, err, path = run(tmp_path, capsys, document)
    assert status == 2
    assert out == ""
    assert err.endswith("\n")
    assert err.count("\n") == 1
    assert err.startswith(f"supportdesk availability compute: {path}: ")
    assert expected in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            '{"interval": 60,',
            "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 17",
        ),
        ('{"interval": 60, "interval": 30}', "duplicate key 'interval'"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("", "not valid JSON"),
    ],
)
def test_malformed_json_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], raw: str, expected: str
) -> None:
    status, _, err, _ = run(tmp_path, capsys, None, raw=raw)
    assert status == 2
    assert err.count("\n") == 1
    assert expected in err


def test_unreadable_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert compute_main([str(tmp_path / "missing.json")]) == 2
    assert capsys.readouterr().err.endswith("missing.json: no such file\n")
    assert compute_main([str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes(b'{"interval": "\xe9"}')
    assert compute_main([str(latin1)]) == 2
    assert "not UTF-8 text (byte 14)" in capsys.readouterr().err


def test_usage_errors_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["a.json", "b.json"], ["--verbose"]):
        assert compute_main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "usage: supportdesk availability compute FILE.json" in err
    assert compute_main(["--help"]) == 0
    assert "failures_to_down" in capsys.readouterr().out


def test_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(GOOD)))
    assert compute_main(["-"]) == 0
    assert json.loads(capsys.readouterr().out)["maintenance_seconds"] == 240


def test_the_console_script_runs_it_without_django(tmp_path: Path) -> None:
    """Through ``python -m supportdesk`` and ``PURE_COMMANDS``, and Django is never imported."""
    path = tmp_path / "input.json"
    path.write_text(json.dumps(GOOD), encoding="utf-8")
    script = (
        "import runpy, sys\n"
        f"sys.argv = ['supportdesk', 'availability', 'compute', {str(path)!r}]\n"
        "try:\n"
        "    runpy.run_module('supportdesk', run_name='__main__')\n"
        "except SystemExit as done:\n"
        "    assert 'django' not in sys.modules, 'django was imported'\n"
        "    raise\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["downtime_seconds"] == 360


WORKED_EXAMPLE = (
    Path(__file__).parents[4] / "docs" / "examples" / "availability-worked-example.json"
)


@pytest.mark.skipif(not WORKED_EXAMPLE.exists(), reason="docs/ is not installed with the package")
def test_the_worked_example_in_the_docs(capsys: pytest.CaptureFixture[str]) -> None:
    """docs/managed-instances.md shows this output; if a figure changes, update the page."""
    assert compute_main([str(WORKED_EXAMPLE)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {k: result[k] for k in ("known_seconds", "unknown_seconds", "eligible_seconds")} == {
        "known_seconds": 12_600,
        "unknown_seconds": 1_800,
        "eligible_seconds": 10_800,
    }
    assert (result["downtime_seconds"], result["maintenance_seconds"]) == (2_400, 1_800)
    assert result["raw_availability"] == pytest.approx(2 / 3)
    assert result["sla_availability"] == pytest.approx(7 / 9)
    assert (result["budget_seconds"], result["budget_remaining_seconds"]) == (54.0, -2346.0)
    assert (result["probes"], result["runs"]) == (21, 8)
    assert [w["compliant"] for w in result["windows"]] == [False, True]
    assert result["windows"][0]["earliest_compliant_start"] == "2026-10-05T12:00:00Z"
