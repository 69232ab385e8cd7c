"""``Plan``: a decided answer, waited for and completed by a shell (ASGI app or transport).

The service decides at once what to answer and how long to wait first; the shell waits (with
asyncio or ``time.sleep``) and then calls :meth:`Plan.complete`, or :meth:`Plan.cancel` when the
caller went away first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from realdream.mock._http import MockResponse

__all__ = ["Plan"]


class Plan:
    """A decided answer: wait :attr:`delay` seconds, then call :meth:`complete` once.

    :meth:`cancel` (for a client that went away before the answer) releases held credits.
    """

    def __init__(
        self,
        delay: float,
        finish: Callable[[], MockResponse],
        *,
        cancel: Callable[[], None] | None = None,
        blocking: bool = False,
        on_done: Callable[[MockResponse], None] | None = None,
    ) -> None:
        self.delay = delay
        #: True when :meth:`complete` does real work (rendering): run it off the event loop.
        self.blocking = blocking
        self._finish = finish
        self._cancel = cancel
        self._on_done = on_done
        self._done = False
        self._lock = threading.Lock()

    def complete(self) -> MockResponse:
        """The answer (once; a second call, or one after :meth:`cancel`, is an error)."""
        self._claim()
        response = self._finish()
        if self._on_done is not None:
            self._on_done(response)
        return response

    def cancel(self) -> None:
        """Give up the answer: what it held is released (nothing after :meth:`complete`)."""
        if self._try_claim() and self._cancel is not None:
            self._cancel()

    def _claim(self) -> None:
        if not self._try_claim():
            raise RuntimeError("this plan was already completed or cancelled")

    def _try_claim(self) -> bool:
        with self._lock:
            if self._done:
                return False
            self._done = True
            return True
