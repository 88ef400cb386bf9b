"""``supportdesk sla due`` and ``supportdesk sla elapsed``: the engine on the command line.

Contract (issue 3): one JSON object on stdout (``due`` in UTC and ``due_local`` in the calendar's
zone; ``business_seconds``), or with ``--batch`` one JSON line per input line, in order, streamed in
chunks so a file of any length runs in constant memory. Bad input exits with status 2 and exactly
one line on stderr saying where (file, line, field, option) and what is wrong; never a traceback.
Lines before a bad batch line are still answered, so the output shows how far the file was good.

These commands run without Django (see ``supportdesk.cli.PURE_COMMANDS``).
"""

from __future__ import annotations

import argparse
import json
import json.scanner
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import IO, Any, NoReturn

import numpy as np

from supportdesk.sla.calendar import BusinessCalendar
from supportdesk.sla.calendar_file import calendar_from_toml
from supportdesk.sla.clock import BusinessClock, EpochPause, clock_for
from supportdesk.sla.durations import DURATION_EXAMPLES, format_duration, parse_duration_seconds
from supportdesk.sla.errors import SlaError
from supportdesk.sla.timeline import Int64Array

EXIT_BAD_INPUT = 2
CHUNK_LINES = 65536
INSTANT_EXAMPLE = "2026-03-06T16:30:00-08:00"


class InputError(Exception):
    """Bad input, already worded as the one line the user will read."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (the contract), not usage + error."""

    def error(self, message: str) -> NoReturn:
        raise InputError(f"{message} (see {self.prog} --help)")


# -- reading values ----------------------------------------------------------------------------


def parse_instant(text: object, where: str) -> int:
    """Epoch seconds (floored) of an ISO 8601 instant that carries an offset or ``Z``."""
    if not isinstance(text, str):
        raise InputError(f"{where}: expected an ISO 8601 instant string, got {json.dumps(text)}")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{where}: {text!r} is not an ISO 8601 instant (e.g. {INSTANT_EXAMPLE})"
        ) from None
    if moment.tzinfo is None:
        raise InputError(
            f"{where}: {text!r} has no UTC offset; add one or Z (e.g. {INSTANT_EXAMPLE})"
        )
    return int(moment.timestamp() // 1)


def parse_target(value: object, where: str) -> int:
    """A target: a duration string, or (in batch input) a whole number of seconds."""
    if type(value) is int:
        if value < 0:
            raise InputError(f"{where}: a target cannot be negative (got {value})")
        return value
    if isinstance(value, str):
        try:
            return parse_duration_seconds(value)
        except SlaError as exc:
            raise InputError(f"{where}: {exc}") from None
    raise InputError(
        f"{where}: expected a duration ({DURATION_EXAMPLES}) or whole seconds, "
        f"got {json.dumps(value)}"
    )


def parse_pause_option(text: str) -> EpochPause:
    """``--pause START/END``; ``START/`` is a pause that has not ended yet."""
    begin, slash, end = text.partition("/")
    if not slash:
        raise InputError(
            f"--pause: {text!r} is not START/END (e.g. {INSTANT_EXAMPLE}/…; END may be empty)"
        )
    since = parse_instant(begin, "--pause start")
    until = parse_instant(end, "--pause end") if end else None
    if until is not None and until < since:
        raise InputError(f"--pause: {text!r} ends before it starts")
    return since, until


def parse_pause_list(value: object, where: str) -> list[EpochPause]:
    if not isinstance(value, list):
        raise InputError(f"{where}: expected a list of [start, end] pairs, got {json.dumps(value)}")
    pauses: list[EpochPause] = []
    for k, pair in enumerate(value):
        here = f"{where}[{k}]"
        if not isinstance(pair, list) or len(pair) != 2:
            raise InputError(
                f"{here}: expected [start, end] (end may be null), got {json.dumps(pair)}"
            )
        since = parse_instant(pair[0], f"{here}[0]")
        until = None if pair[1] is None else parse_instant(pair[1], f"{here}[1]")
        if until is not None and until < since:
            raise InputError(f"{here}: the pause ends before it starts")
        pauses.append((since, until))
    return pauses


def load_calendar(path: str) -> BusinessCalendar:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the calendar: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    try:
        return calendar_from_toml(text, source=path)
    except SlaError as exc:
        raise InputError(str(exc)) from None


# -- formatting --------------------------------------------------------------------------------


def _offset_text(offset: int) -> str:
    sign = "-" if offset < 0 else "+"
    hours, rest = divmod(abs(offset), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{seconds:02d}" if seconds else "")


def utc_texts(epochs: Int64Array) -> list[str]:
    """``2026-03-11T23:30:00Z`` for each epoch second, vectorised."""
    texts: list[str] = np.datetime_as_string(epochs.astype("datetime64[s]"), unit="s").tolist()
    return [t + "Z" for t in texts]


def local_texts(clock: BusinessClock, epochs: Int64Array) -> list[str]:
    """``2026-03-11T16:30:00-07:00`` for each epoch second in the calendar's zone, vectorised."""
    offsets = clock.utc_offsets(epochs)
    walls: list[str] = np.datetime_as_string(
        (epochs + offsets).astype("datetime64[s]"), unit="s"
    ).tolist()
    suffix = {int(o): _offset_text(int(o)) for o in np.unique(offsets)}
    return [w + suffix[o] for w, o in zip(walls, offsets.tolist(), strict=True)]


def _write(out: IO[str], obj: dict[str, Any]) -> None:
    out.write(json.dumps(obj) + "\n")


# -- single commands ---------------------------------------------------------------------------


def _common_parser(prog: str, description: str) -> _Parser:
    parser = _Parser(prog=prog, description=description)
    parser.add_argument("--calendar", required=True, metavar="FILE", help="calendar file (TOML)")
    parser.add_argument(
        "--start", metavar="ISO8601", help=f"e.g. {INSTANT_EXAMPLE} (offset or Z required)"
    )
    parser.add_argument(
        "--pause",
        action="append",
        default=[],
        metavar="START/END",
        help="a pause (repeatable); START/ for a pause that has not ended",
    )
    parser.add_argument(
        "--batch",
        metavar="IN.jsonl",
        help="answer one JSON line per input line ('-' reads stdin); streams in chunks",
    )
    parser.add_argument("--chunk-lines", type=int, default=CHUNK_LINES, help=argparse.SUPPRESS)
    return parser


def _due_single(clock: BusinessClock, args: argparse.Namespace, out: IO[str]) -> None:
    if args.start is None or args.target is None:
        raise InputError("--start and --target are required (or use --batch)")
    start = parse_instant(args.start, "--start")
    target = parse_target(args.target, "--target")
    pauses = [parse_pause_option(p) for p in args.pause]
    due = clock.due_epoch(start, target, pauses)
    start_arr = np.array([start], dtype=np.int64)
    result: dict[str, Any] = {"start": utc_texts(start_arr)[0], "target_seconds": target}
    if due is None:
        since = min(b for b, e in pauses if e is None)
        used = clock.elapsed_epoch(start, max(start, since), pauses)
        result.update(
            due=None,
            due_local=None,
            paused_since=utc_texts(np.array([since], dtype=np.int64))[0],
            remaining_seconds=target - used,
        )
    else:
        due_arr = np.array([due], dtype=np.int64)
        result.update(due=utc_texts(due_arr)[0], due_local=local_texts(clock, due_arr)[0])
    result["timezone"] = str(clock.zone_at(start if due is None else due).key)
    _write(out, result)


def _elapsed_single(clock: BusinessClock, args: argparse.Namespace, out: IO[str]) -> None:
    if args.start is None or args.end is None:
        raise InputError("--start and --end are required (or use --batch)")
    start = parse_instant(args.start, "--start")
    end = parse_instant(args.end, "--end")
    if end < start:
        raise InputError(f"--end: {args.end} is before --start {args.start}")
    seconds = clock.elapsed_epoch(start, end, [parse_pause_option(p) for p in args.pause])
    _write(
        out,
        {
            "business_seconds": seconds,
            "business_time": format_duration(seconds),
            "start": utc_texts(np.array([start], dtype=np.int64))[0],
            "end": utc_texts(np.array([end], dtype=np.int64))[0],
            "timezone": str(clock.zone_at(start).key),
        },
    )


# -- batches -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    first: int  # start
    second: int  # target (due) or end (elapsed)
    pauses: list[EpochPause] | None
    ident: object


_DUE_KEYS = frozenset({"start", "target", "pauses", "id"})
_ELAPSED_KEYS = frozenset({"start", "end", "pauses", "id"})


def _due_row(obj: dict[str, Any], where: str) -> _Row:
    if "start" not in obj or "target" not in obj:
        missing = "start" if "start" not in obj else "target"
        raise InputError(f"{where}: {missing!r} is missing")
    pauses = obj.get("pauses")
    return _Row(
        parse_instant(obj["start"], f"{where}: start"),
        parse_target(obj["target"], f"{where}: target"),
        parse_pause_list(pauses, f"{where}: pauses") if pauses else None,
        obj.get("id"),
    )


def _elapsed_row(obj: dict[str, Any], where: str) -> _Row:
    if "start" not in obj or "end" not in obj:
        missing = "start" if "start" not in obj else "end"
        raise InputError(f"{where}: {missing!r} is missing")
    start = parse_instant(obj["start"], f"{where}: start")
    end = parse_instant(obj["end"], f"{where}: end")
    if end < start:
        raise InputError(f"{where}: end is before start")
    pauses = obj.get("pauses")
    return _Row(
        start, end, parse_pause_list(pauses, f"{where}: pauses") if pauses else None, obj.get("id")
    )


# The C scanner that json.loads ends up in (typeshed mistypes make_scanner's argument).
_scan_json: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(
    json.JSONDecoder()  # type: ignore[arg-type]
)


def _decode_line(line: str) -> Any:
    """The JSON value of one line; ``json.JSONDecodeError`` if it is not exactly one value.

    The C scanner is about twice as fast as ``json.loads`` per line; anything unusual (leading
    blanks, trailing data, bad JSON) goes through ``json.loads`` for its exact error message. Each
    line is decoded on its own so that an answer can never be attributed to the wrong line.
    """
    try:
        value, end = _scan_json(line, 0)
    except StopIteration:
        return json.loads(line)
    if end != len(line) and line[end:].strip():
        return json.loads(line)
    return value


def _decode_chunk(
    lines: list[str], where: Callable[[int], str]
) -> tuple[list[Any], InputError | None]:
    """JSON values of the lines, up to the first bad one, and that line's error (if any)."""
    decoded: list[Any] = []
    for k, line in enumerate(lines):
        if not line.strip():
            return decoded, InputError(f"{where(k)}: empty line (expected a JSON object)")
        try:
            decoded.append(_decode_line(line))
        except json.JSONDecodeError as exc:
            return decoded, InputError(
                f"{where(k)}: not valid JSON: {exc.msg} (column {exc.colno})"
            )
        except RecursionError:
            return decoded, InputError(f"{where(k)}: JSON nested too deeply")
    return decoded, None


def _read_lines(stream: IO[str], chunk: int) -> Iterator[list[str]]:
    while True:
        lines = list(islice(stream, chunk))
        if not lines:
            return
        yield lines


def run_batch(
    clock: BusinessClock,
    stream: IO[str],
    name: str,
    out: IO[str],
    *,
    kind: str,
    chunk: int = CHUNK_LINES,
) -> None:
    """Answer a JSON-lines stream chunk by chunk (constant memory); raise InputError at a bad line
    after writing the answers to every line before it."""
    keys, make_row = (_DUE_KEYS, _due_row) if kind == "due" else (_ELAPSED_KEYS, _elapsed_row)
    first_line = 1
    for lines in _read_lines(stream, chunk):

        def where(k: int, base: int = first_line) -> str:
            return f"{name}:{base + k}"

        values, error = _decode_chunk(lines, where)
        rows: list[_Row] = []
        for k, obj in enumerate(values):
            try:
                if type(obj) is not dict:
                    raise InputError(
                        f"{where(k)}: expected a JSON object, got {json.dumps(obj)[:60]}"
                    )
                if not keys.issuperset(obj):
                    unknown = sorted(set(obj) - keys)[0]
                    raise InputError(
                        f"{where(k)}: unknown key {unknown!r} (expected {', '.join(sorted(keys))})"
                    )
                rows.append(make_row(obj, where(k)))
            except InputError as exc:
                error = exc
                break
        try:
            _answer_rows(clock, rows, out, kind)
        except SlaError:
            # The engine refused a row (e.g. a start beyond its horizon): answer the rows before
            # it, then name it.
            for k, row in enumerate(rows):
                try:
                    _answer_rows(clock, [row], _NullOut(), kind)
                except SlaError as row_exc:
                    _answer_rows(clock, rows[:k], out, kind)
                    raise InputError(f"{where(k)}: {row_exc}") from None
            raise  # pragma: no cover - some single row must have failed
        if error is not None:
            raise error
        first_line += len(lines)


class _NullOut:
    def write(self, text: str) -> int:
        return len(text)


def _answer_rows(
    clock: BusinessClock, rows: list[_Row], out: IO[str] | _NullOut, kind: str
) -> None:
    if not rows:
        return
    plain = [k for k, row in enumerate(rows) if row.pauses is None]
    firsts = np.fromiter((rows[k].first for k in plain), dtype=np.int64, count=len(plain))
    seconds = np.fromiter((rows[k].second for k in plain), dtype=np.int64, count=len(plain))
    results: list[int | None] = [None] * len(rows)
    if kind == "due":
        for k, value in zip(plain, clock.due_batch(firsts, seconds).tolist(), strict=True):
            results[k] = value
        for k, row in enumerate(rows):
            if row.pauses is not None:
                results[k] = clock.due_epoch(row.first, row.second, row.pauses)
        known = [k for k, r in enumerate(results) if r is not None]
        epochs = np.array([results[k] for k in known], dtype=np.int64)
        texts = ["null"] * len(rows)
        for k, utc, local in zip(known, utc_texts(epochs), local_texts(clock, epochs), strict=True):
            texts[k] = f'"due": "{utc}", "due_local": "{local}"'
        for k, text in enumerate(texts):
            if text == "null":
                texts[k] = '"due": null, "due_local": null, "paused": true'
    else:
        for k, value in zip(plain, clock.elapsed_batch(firsts, seconds).tolist(), strict=True):
            results[k] = value
        for k, row in enumerate(rows):
            if row.pauses is not None:
                results[k] = clock.elapsed_epoch(row.first, row.second, row.pauses)
        texts = [f'"business_seconds": {r}' for r in results]
    body = [
        "{" + text + "}\n"
        if row.ident is None
        else '{"id": ' + json.dumps(row.ident) + ", " + text + "}\n"
        for row, text in zip(rows, texts, strict=True)
    ]
    out.write("".join(body))


def _open_batch(path: str) -> IO[str]:
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the batch file: {exc.strerror or exc}") from None


def _run(
    prog: str,
    argv: Sequence[str],
    parser: _Parser,
    single: Callable[[BusinessClock, argparse.Namespace, IO[str]], None],
    kind: str,
    stdout: IO[str] | None,
    stderr: IO[str] | None,
) -> int:
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    try:
        args = parser.parse_args(list(argv))
        clock = clock_for(load_calendar(args.calendar))
        if args.batch is None:
            single(clock, args, out)
        else:
            extra = [o for o in ("start", "target", "end") if getattr(args, o, None) is not None]
            if extra or args.pause:
                used = ", ".join(f"--{o}" for o in extra) or "--pause"
                raise InputError(f"--batch reads everything from the file; drop {used}")
            if args.chunk_lines < 1:
                raise InputError("--chunk-lines must be at least 1")
            stream = _open_batch(args.batch)
            name = "<stdin>" if args.batch == "-" else args.batch
            try:
                run_batch(clock, stream, name, out, kind=kind, chunk=args.chunk_lines)
            except UnicodeDecodeError:
                raise InputError(f"{name}: not UTF-8 text") from None
            finally:
                if stream is not sys.stdin:
                    stream.close()
        out.flush()
    except InputError as exc:
        err.write(f"{prog}: {exc}\n")
        return EXIT_BAD_INPUT
    except SlaError as exc:
        err.write(f"{prog}: {exc}\n")
        return EXIT_BAD_INPUT
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return 0


def due_main(
    argv: list[str], *, stdout: IO[str] | None = None, stderr: IO[str] | None = None
) -> int:
    """``supportdesk sla due --calendar FILE --start ISO8601 --target DURATION [--pause S/E …]``
    or ``… --batch IN.jsonl``."""
    prog = "supportdesk sla due"
    parser = _common_parser(prog, "When is a target of business time used up?")
    parser.add_argument("--target", metavar="DURATION", help=f"business time: {DURATION_EXAMPLES}")
    return _run(prog, argv, parser, _due_single, "due", stdout, stderr)


def elapsed_main(
    argv: list[str], *, stdout: IO[str] | None = None, stderr: IO[str] | None = None
) -> int:
    """``supportdesk sla elapsed --calendar FILE --start ISO8601 --end ISO8601 [--pause S/E …]``
    or ``… --batch IN.jsonl``."""
    prog = "supportdesk sla elapsed"
    parser = _common_parser(prog, "How much business time passed between two instants?")
    parser.add_argument("--end", metavar="ISO8601", help=f"e.g. {INSTANT_EXAMPLE}")
    return _run(prog, argv, parser, _elapsed_single, "elapsed", stdout, stderr)
