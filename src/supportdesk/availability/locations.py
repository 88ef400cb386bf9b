"""Several probe locations: down needs a quorum of the locations that are reporting.

Each location probes on its own and its probes are folded into its own runs, so each location has
its own :class:`Timeline` under the single-location definitions. The instance's timeline combines
them second by second:

* ``K`` = the locations whose own timeline covers the instant (they are reporting);
  ``D`` = those whose own timeline is down there.
* ``K = 0``: unknown. Otherwise down when ``D ≥ min(quorum, K)``, else up.

With one location (or a quorum of 1 and locations that never overlap, such as imported history
followed by live probing) this is exactly the single-location definitions. ``min(quorum, K)``
keeps the figures known while some locations are not running: the locations that are reporting
decide, and a quorum of 2 out of 3 still needs two of them to agree while all three report. The
result is an ordinary :class:`Timeline`, so figures, outages, states and compliance work as for
one location.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from supportdesk.availability.maintenance import MaintenanceWindow
from supportdesk.availability.timeline import AvailabilityConfig, Timeline


def combine_locations(
    timelines: Sequence[Timeline],
    *,
    quorum: int,
    config: AvailabilityConfig | None = None,
    windows: Sequence[MaintenanceWindow] | None = None,
) -> Timeline:
    """One timeline from the per-location timelines (same windows; see the module docstring).

    ``config`` and ``windows`` default to the first timeline's.
    """
    if isinstance(quorum, bool) or not isinstance(quorum, int) or quorum < 1:
        raise ValueError(f"quorum must be a whole number of at least 1, not {quorum!r}")
    if config is None or windows is None:
        if not timelines:
            raise ValueError("with no timelines, give config and windows")
        config = config or timelines[0].config
        windows = timelines[0].windows if windows is None else windows
    if len(timelines) == 1 and timelines[0].windows == tuple(windows):
        return timelines[0]
    cuts = [t.coverage()[0] for t in timelines]
    points = np.unique(np.concatenate(cuts)) if cuts else np.zeros(0, dtype=np.int64)
    if points.size < 2:
        return Timeline.from_spans([], [], [], config=config, windows=windows)
    left = points[:-1]
    reporting = np.zeros(left.size, dtype=np.int64)
    failing = np.zeros(left.size, dtype=np.int64)
    for timeline in timelines:
        own_points, covered, down = timeline.coverage()
        segments = own_points.size - 1
        if segments < 1:
            continue
        index = np.searchsorted(own_points, left, side="right") - 1
        inside = (index >= 0) & (index < segments)
        safe = np.clip(index, 0, segments - 1)
        reporting += inside & covered[safe]
        failing += inside & down[safe]
    known = reporting >= 1
    is_down = known & (failing >= np.minimum(quorum, reporting))
    starts, ends, state = left[known], points[1:][known], is_down[known]
    if starts.size > 1:
        # Merge touching segments in the same state.
        joined = (starts[1:] == ends[:-1]) & (state[1:] == state[:-1])
        keep_start = np.concatenate(([True], ~joined))
        keep_end = np.concatenate((~joined, [True]))
        starts, state, ends = starts[keep_start], state[keep_start], ends[keep_end]
    return Timeline.from_spans(starts, ends, state, config=config, windows=windows)
