from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

class Kernel:
    def __init__(
        self,
        starts_padded: NDArray[np.int64],
        ends: NDArray[np.int64],
        cum_end: NDArray[np.int64],
        start_buckets: NDArray[np.int64],
        cum_buckets: NDArray[np.int64],
        lo: int,
        hi: int,
        start_shift: int,
        cum_shift: int,
    ) -> None: ...
    def due(self, start: datetime, target: timedelta | int) -> datetime | None: ...
