"""The limit that stops a broken deploy from pouring the whole stream into the dead-letter queue.

Real files have bad rows, but when most recent records are rejected the likelier cause is the
consumer's own code (a bad validation rule, a missing reference file). Then the right move is to
stop loudly without committing, so that after the fix the same records are processed again,
rather than to dead-letter them all.
"""

from __future__ import annotations

from collections import deque


class InvalidShareExceeded(RuntimeError):
    """Too many of the recent records were invalid: stop without committing."""


class InvalidShareGuard:
    """Tracks the last `window` outcomes; trips once the window is full and the share is over `max_share`.

    Waiting for a full window keeps a small file that happens to be mostly bad from stopping the
    consumer: the limit is about the stream, not one load.
    """

    def __init__(self, window: int, max_share: float) -> None:
        self._outcomes: deque[bool] = deque(maxlen=window)
        self._invalid = 0
        self.window, self.max_share = window, max_share

    def check(self, valid: int, invalid: int) -> None:
        """Record a batch's outcomes (before acting on them); raises InvalidShareExceeded."""
        for outcome in [False] * valid + [True] * invalid:
            if len(self._outcomes) == self.window and self._outcomes[0]:
                self._invalid -= 1
            self._outcomes.append(outcome)
            self._invalid += outcome
        if len(self._outcomes) == self.window and self._invalid > self.max_share * self.window:
            raise InvalidShareExceeded(
                f"{self._invalid} of the last {self.window} records were invalid (limit"
                f" {self.max_share:.0%}): the consumer's code or reference data is likely broken;"
                " stopping without committing or dead-lettering this batch"
            )

    @property
    def share(self) -> float:
        return self._invalid / len(self._outcomes) if self._outcomes else 0.0
