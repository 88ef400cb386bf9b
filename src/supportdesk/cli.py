"""The ``supportdesk`` console script.

Pure commands (the SLA engine's ``sla due`` / ``sla elapsed`` and ``availability compute``) run
without Django so they start fast and need no database. Everything else is a Django management
command: ``supportdesk migrate``, ``supportdesk demo``, ``supportdesk run`` …
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

# (first word, second word) -> "module:function" taking argv (after the two words) and returning
# an exit status. Loaded lazily so that a pure command never imports Django.
PURE_COMMANDS: dict[tuple[str, str], str] = {
    ("availability", "compute"): "supportdesk.availability.cli:compute_main",
    ("sla", "due"): "supportdesk.sla.cli:due_main",
    ("sla", "elapsed"): "supportdesk.sla.cli:elapsed_main",
}


def _pure_command(argv: Sequence[str]) -> Callable[[list[str]], int] | None:
    if len(argv) < 2:
        return None
    target = PURE_COMMANDS.get((argv[0], argv[1]))
    if target is None:
        return None
    module_name, func_name = target.split(":")
    module = __import__(module_name, fromlist=[func_name])
    func: Callable[[list[str]], int] = getattr(module, func_name)
    return func


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    pure = _pure_command(args)
    if pure is not None:
        return pure(args[2:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["supportdesk", *args])
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
