"""Two dispatchers racing over one outbox deliver every notification exactly once (on both
engines; PostgreSQL with SKIP LOCKED is the case that matters), and the backoff maths."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from notify_support import HttpReceiver
from sqlalchemy import func, select

from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.notify.dispatcher import BACKOFF_CAP, retry_delay
from escalate.notify.models import Channel, Notification, NotificationStatus

COUNT = 200


def test_two_dispatchers_deliver_every_notification_exactly_once(
    container: Container,
    make_user,
    make_method,
    queue,
    make_dispatcher,
    http_receiver: HttpReceiver,
) -> None:
    user = make_user(Role.RESPONDER)
    method = make_method(user.id, Channel.WEBHOOK, f"{http_receiver.url}/race", secret="s" * 8)
    ids = {queue(method) for _ in range(COUNT)}
    dispatchers = [make_dispatcher("d1", batch_size=5), make_dispatcher("d2", batch_size=5)]
    start = threading.Barrier(len(dispatchers))
    errors: list[BaseException] = []

    def run(dispatcher) -> None:
        try:
            start.wait(timeout=10)
            while dispatcher.run_once():
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    deliveries = Counter(int(r.headers["x-escalate-delivery"]) for r in http_receiver.to("/race"))
    assert set(deliveries) == ids
    assert set(deliveries.values()) == {1}
    with container.session_factory() as s:
        statuses = dict(
            s.execute(select(Notification.status, func.count()).group_by(Notification.status)).all()
        )
        assert statuses == {NotificationStatus.DELIVERED.value: COUNT}
        assert s.scalar(select(func.max(Notification.attempts))) == 1
        workers = set(s.scalars(select(Notification.locked_by).distinct()))
    if not container.settings.is_sqlite:
        # 40 claims of 5 each, started together: both take part, skipping each other's rows.
        assert workers == {"d1", "d2"}


def test_backoff_doubles_from_ten_seconds() -> None:
    no_jitter = [retry_delay(n, jitter=0) for n in range(1, 6)]
    assert no_jitter == [timedelta(seconds=s) for s in (10, 20, 40, 80, 160)]
    assert retry_delay(30, jitter=0) == BACKOFF_CAP


def test_retry_after_is_honoured_but_capped() -> None:
    assert retry_delay(1, jitter=0, retry_after=90) == timedelta(seconds=90)
    assert retry_delay(1, jitter=0, retry_after=86_400) == BACKOFF_CAP


@given(
    attempt=st.integers(min_value=-5, max_value=10_000),
    rand=st.floats(min_value=0, max_value=1),
)
def test_backoff_is_bounded_and_jitters_at_most_ten_percent(attempt: int, rand: float) -> None:
    plain = retry_delay(attempt, jitter=0)
    jittered = retry_delay(attempt, rand=lambda: rand)
    assert timedelta(seconds=10) <= plain <= BACKOFF_CAP
    assert plain <= jittered <= plain * 1.1
