"""The in-process dispatcher of `escalate serve` is woken by the commit that writes a
notification: it delivers at once, not at its next poll."""

from __future__ import annotations

import time
from datetime import timedelta

from notify_support import SmtpInbox

from escalate import bootstrap
from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.notify import outbox
from escalate.notify.models import Channel


def test_a_commit_that_writes_a_notification_wakes_the_dispatcher(
    container: Container, make_user, inbox: SmtpInbox
) -> None:
    # A poll far longer than the wait below: only the wake can deliver in time.
    container.settings = container.settings.model_copy(update={"notify_poll_seconds": 60.0})
    user = make_user(Role.RESPONDER)
    background = bootstrap.Background(bootstrap.build_dispatcher(container))
    background.start()
    try:
        time.sleep(0.1)  # let the loop run its first (empty) round and go to sleep
        with transaction(container.session_factory, clock=container.clock) as s:
            outbox.add(
                s,
                container.clock,
                dedup_key="wake-test",
                user_id=user.id,
                reach=outbox.Reach(Channel.EMAIL, "ana@escalate.example", None, timedelta()),
                message=outbox.Message("page", "Woken", "Delivered without waiting for a poll."),
            )
        deadline = time.monotonic() + 10
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.01)  # waiting for a socket peer, not for time to pass
        assert [m["Subject"] for m in inbox.messages] == ["Woken"]
    finally:
        background.stop()
    assert not background.running
