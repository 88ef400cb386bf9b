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
from typing import IO, TYPE_CHECKING, Any, NoReturn

import numpy as np

from supportdesk.sla.calendar import BusinessCalendar
from supportdesk.sla.calendar_file import calendar_from_toml
from supportdesk.sla.clock import BusinessClock, EpochPause, clock_for
from supportdesk.sla.durations import DURATION_EXAMPLES, format_duration, parse_duration_seconds
from supportdesk.sla.errors import SlaError
from supportdesk.sla.timeline import Int64Array

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

EXIT_BAD_INPUT = 2
CHUNK_LINES = 16384
INSTANT_EXAMPLE = "2026-03-06T16:30:00-08:00"


class InputError(Exception):
    """Bad input, already worded as the one line the user will read."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (the contract), not usage + error, and
    ``--help`` goes to the command's own output stream."""

    out: IO[str] | None = None

    def error(self, message: str) -> NoReturn:
        raise InputError(f"{message} (see {self.prog} --help)")

    def print_help(self, file: SupportsWrite[str] | None = None) -> None:
        super().print_help(file or self.out)


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
        with open(path, encoding="utf-8-sig") as handle:  # -sig: tolerate a BOM
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


def _common_parser(
    prog: str, description: str, second: tuple[str, str, str], epilog: str
) -> _Parser:
    parser = _Parser(
        prog=prog,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--calendar", required=True, metavar="FILE", help="calendar file (TOML)")
    parser.add_argument(
        "--start", metavar="ISO8601", help=f"e.g. {INSTANT_EXAMPLE} (offset or Z required)"
    )
    flag, metavar, help_text = second
    parser.add_argument(flag, metavar=metavar, help=help_text)
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
    result: dict[str, Any] = {}
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
    result.update(
        start=utc_texts(np.array([start], dtype=np.int64))[0],
        target_seconds=target,
        timezone=str(clock.zone_at(start if due is None else due).key),
    )
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


_KEYS = {
    "due": frozenset({"start", "target", "pauses", "id"}),
    "elapsed": frozenset({"start", "end", "pauses", "id"}),
}
# The C scanner that json.loads ends up in (typeshed mistypes make_scanner's argument).
_scan_json: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(
    json.JSONDecoder()  # type: ignore[arg-type]
)


def _decode_line(line: str) -> Any:
    """The JSON value of one line; ``json.JSONDecodeError`` if it is not exactly one value.

    The C scanner is about twice as fast as ``json.loads`` per line; anything unusual (leading
    blanks, trailing data, bad JSON) goes through ``json.loads`` for its exact error message. Each
    line is decoded on its own (not the chunk as one array) so that an answer can never be
    attributed to the wrong line.
    """
    try:
        value, end = _scan_json(line, 0)
    except StopIteration:
        return json.loads(line)
    if end != len(line) and line[end:].strip():
        return json.loads(line)
    return value


def _parse_line(
    line: str, kind: str, keys: frozenset[str]
) -> tuple[int, int, list[EpochPause] | None, object]:
    """``(start, target or end, pauses, id)`` of one batch line; InputError says what is wrong
    (the caller adds the file and line number)."""
    if not line.strip():
        raise InputError("empty line (expected a JSON object)")
    try:
        obj = _decode_line(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise InputError("JSON nested too deeply") from None
    if type(obj) is not dict:
        raise InputError(f"expected a JSON object, got {json.dumps(obj)[:60]}")
    if len(obj) != 2 and not keys.issuperset(obj):
        unknown = sorted(set(obj) - keys)[0]
        raise InputError(f"unknown key {unknown!r} (expected {', '.join(sorted(keys))})")
    second_key = "target" if kind == "due" else "end"
    try:
        first_value, second_value = obj["start"], obj[second_key]
    except KeyError as exc:
        raise InputError(f"{exc.args[0]!r} is missing") from None
    first = parse_instant(first_value, "start")
    if kind == "due":
        second = parse_target(second_value, "target")
    else:
        second = parse_instant(second_value, "end")
        if second < first:
            raise InputError("end is before start")
    pauses: list[EpochPause] | None = None
    ident: object = None
    if len(obj) > 2:
        raw_pauses = obj.get("pauses")
        if raw_pauses is not None:
            pauses = parse_pause_list(raw_pauses, "pauses") or None
        ident = obj.get("id")
    return first, second, pauses, ident


def _read_lines(stream: IO[str], chunk: int) -> Iterator[list[str]]:
    while True:
        lines = list(islice(stream, chunk))
        if not lines:
            return
        yield lines


@dataclass(slots=True)
class _Chunk:
    """The parsed lines of one chunk as parallel lists (the batch engine wants arrays)."""

    firsts: list[int]
    seconds: list[int]
    pauses: dict[int, list[EpochPause]]
    idents: dict[int, object]

    def row(self, k: int) -> _Chunk:
        """Row ``k`` alone (to find which row the engine refuses)."""
        pauses = {0: self.pauses[k]} if k in self.pauses else {}
        return _Chunk(self.firsts[k : k + 1], self.seconds[k : k + 1], pauses, {})

    def head(self, count: int) -> _Chunk:
        return _Chunk(
            self.firsts[:count],
            self.seconds[:count],
            {k: v for k, v in self.pauses.items() if k < count},
            {k: v for k, v in self.idents.items() if k < count},
        )


def run_batch(
    clock: BusinessClock,
    stream: IO[str],
    name: str,
    out: IO[str],
    *,
    kind: str,
    chunk: int = CHUNK_LINES,
) -> None:
    """Answer a JSON-lines stream chunk by chunk (constant memory). At a bad line, write the
    answers to every line before it, then raise InputError naming the line."""
    keys = _KEYS[kind]
    first_line = 1
    for lines in _read_lines(stream, chunk):
        if first_line == 1 and lines[0].startswith("\ufeff"):
            lines[0] = lines[0][1:]  # a byte-order mark, as some Windows tools write
        parsed = _Chunk([], [], {}, {})
        error: InputError | None = None
        for k, line in enumerate(lines):
            try:
                first, second, pauses, ident = _parse_line(line, kind, keys)
            except InputError as exc:
                error = InputError(f"{name}:{first_line + k}: {exc}")
                break
            parsed.firsts.append(first)
            parsed.seconds.append(second)
            if pauses is not None:
                parsed.pauses[k] = pauses
            if ident is not None:
                parsed.idents[k] = ident
        try:
            out.write(_answer(clock, parsed, kind))
        except SlaError:
            # The engine refused a row (e.g. beyond its horizon): answer the rows before it,
            # then name it.
            for k in range(len(parsed.firsts)):
                try:
                    _answer(clock, parsed.row(k), kind)
                except SlaError as row_error:
                    out.write(_answer(clock, parsed.head(k), kind))
                    raise InputError(f"{name}:{first_line + k}: {row_error}") from None
            raise  # pragma: no cover - some single row must have failed
        if error is not None:
            raise error
        first_line += len(lines)


def _answer(clock: BusinessClock, rows: _Chunk, kind: str) -> str:
    """The output lines for a chunk's rows: rows without pauses in one batch call, the others one
    at a time."""
    count = len(rows.firsts)
    if not count:
        return ""
    firsts = np.array(rows.firsts, dtype=np.int64)
    seconds = np.array(rows.seconds, dtype=np.int64)
    plain = np.ones(count, dtype=bool)
    plain[list(rows.pauses)] = False
    if kind == "due":
        results = np.empty(count, dtype=np.int64)
        results[plain] = clock.due_batch(firsts[plain], seconds[plain])
        undefined = []
        for k, pauses in rows.pauses.items():
            due = clock.due_epoch(rows.firsts[k], rows.seconds[k], pauses)
            results[k] = rows.firsts[k] if due is None else due
            if due is None:
                undefined.append(k)
        texts = [
            f'{{"due": "{utc}", "due_local": "{local}"}}\n'
            for utc, local in zip(utc_texts(results), local_texts(clock, results), strict=True)
        ]
        for k in undefined:
            texts[k] = '{"due": null, "due_local": null, "paused": true}\n'
    else:
        results = np.empty(count, dtype=np.int64)
        results[plain] = clock.elapsed_batch(firsts[plain], seconds[plain])
        for k, pauses in rows.pauses.items():
            results[k] = clock.elapsed_epoch(rows.firsts[k], rows.seconds[k], pauses)
        texts = [f'{{"business_seconds": {value}}}\n' for value in results.tolist()]
    for k, ident in rows.idents.items():
        texts[k] = '{"id": ' + json.dumps(ident) + ", " + texts[k][1:]
    return "".join(texts)


def _open_batch(path: str) -> IO[str]:
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8-sig")
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
    parser.out = out
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
    parser = _common_parser(
        prog,
        "When is a target of business time used up? Prints one JSON object (due in UTC and\n"
        "due_local in the calendar's zone), or one JSON line per input line with --batch.",
        ("--target", "DURATION", f"business time: {DURATION_EXAMPLES}"),
        "examples:\n"
        f"  {prog} --calendar team.toml --start 2026-03-06T16:30:00-08:00 --target 24h\n"
        f"  {prog} --calendar team.toml --batch tickets.jsonl\n"
        '      (lines like {"start": "...", "target": "24h", "pauses": [["...", "..."]]})\n'
        "See docs/sla.md.",
    )
    return _run(prog, argv, parser, _due_single, "due", stdout, stderr)


def elapsed_main(
    argv: list[str], *, stdout: IO[str] | None = None, stderr: IO[str] | None = None
) -> int:
    """``supportdesk sla elapsed --calendar FILE --start ISO8601 --end ISO8601 [--pause S/E …]``
    or ``… --batch IN.jsonl``."""
    prog = "supportdesk sla elapsed"
    parser = _common_parser(
        prog,
        "How much business time passed between two instants? Prints one JSON object with\n"
        "business_seconds, or one JSON line per input line with --batch.",
        ("--end", "ISO8601", f"e.g. {INSTANT_EXAMPLE}"),
        "examples:\n"
        f"  {prog} --calendar team.toml --start 2026-03-06T16:30:00-08:00 "
        "--end 2026-03-11T16:30:00-07:00\n"
        f"  {prog} --calendar team.toml --batch spans.jsonl\n"
        '      (lines like {"start": "...", "end": "...", "pauses": [["...", "..."]]})\n'
        "See docs/sla.md.",
    )
    return _run(prog, argv, parser, _elapsed_single, "elapsed", stdout, stderr)
