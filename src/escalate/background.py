"""A loop that runs in a thread of its own and can be woken and stopped: what the job
worker and the notification dispatcher share (each brings its own `run_forever`)."""

from __future__ import annotations

import threading


class BackgroundLoop:
    """Subclasses call `__init__` and implement `run_forever(stop_event)`, which must
    return soon after the event is set and wait on `self._wake` between rounds."""

    thread_name = "escalate-loop"

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_forever(self, stop_event: threading.Event | None = None) -> None:
        raise NotImplementedError

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        """Run the loop in a background thread (e.g. next to the web app)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self.run_forever, args=(self._stop,), name=self.thread_name, daemon=True
        )
        self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the background thread made by `start` is still running."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop after the work at hand; wait for the thread if `start` made one."""
        self._stop.set()
        self.wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if not thread.is_alive():
                self._thread = None
