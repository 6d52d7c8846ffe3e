"""Webhook and Slack-webhook URLs are typed by people: unless the operator allows it
(ESCALATE_WEBHOOK_ALLOW_PRIVATE), Escalate refuses to send to an internal address, so a
contact method cannot aim its requests at the network it runs in."""

from __future__ import annotations

import pytest
from notify_support import HttpReceiver

from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.notify import channels
from escalate.notify.dispatcher import Dispatcher
from escalate.notify.models import Channel, NotificationStatus


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://192.168.0.10/hook",
    ],
)
def test_internal_addresses_are_refused_unless_allowed(settings, url: str) -> None:
    closed = settings.model_copy(update={"webhook_allow_private": False})
    with pytest.raises(channels.PermanentFailure, match="internal address"):
        channels.refuse_internal(closed, url)
    channels.refuse_internal(settings.model_copy(update={"webhook_allow_private": True}), url)


def test_a_public_address_passes(settings) -> None:
    closed = settings.model_copy(update={"webhook_allow_private": False})
    channels.refuse_internal(closed, "https://93.184.216.34/hook")  # no exception


def test_a_webhook_to_loopback_fails_for_good_and_sends_nothing(
    container: Container,
    make_user,
    make_method,
    queue,
    load,
    http_receiver: HttpReceiver,
) -> None:
    user = make_user(Role.RESPONDER)
    method = make_method(user.id, Channel.WEBHOOK, f"{http_receiver.url}/hook", secret="s")
    notification = queue(method)
    closed = container.settings.model_copy(update={"webhook_allow_private": False})
    dispatcher = Dispatcher(
        container.session_factory, container.clock, closed, dispatcher_id="closed", jitter=0.0
    )
    try:
        assert dispatcher.run_once() == 1
    finally:
        dispatcher.close()
    row = load(notification)
    assert row.status == NotificationStatus.FAILED
    assert row.last_error is not None and "ESCALATE_WEBHOOK_ALLOW_PRIVATE" in row.last_error
    assert http_receiver.to("/hook") == []
