"""Contact methods and notification rules of a staff user, under /users/{id}/ and /me/."""

# No `from __future__ import annotations` here: the routes are made in a function, and
# FastAPI could not resolve the local `UserId` alias from a string annotation.
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel

from escalate.notify import contacts
from escalate.notify.schemas import (
    ContactMethodCreate,
    ContactMethodCreated,
    ContactMethodRead,
    ContactMethodUpdate,
    NotificationRuleCreate,
    NotificationRuleRead,
    QueuedTestNotification,
)
from escalate.web.deps import ActorDep, ContainerDep, PageDep, SessionDep


class ContactMethodList(BaseModel):
    items: list[ContactMethodRead]
    total: int


class NotificationRuleList(BaseModel):
    items: list[NotificationRuleRead]
    total: int


def _path_user(user_id: int) -> int:
    return user_id


def _me(actor: ActorDep) -> int:
    assert actor.user_id is not None  # API actors are always users
    return actor.user_id


def _routes(prefix: str, who: Callable[..., int], *, owner: str) -> APIRouter:
    """The same routes for one user by id and for the caller (`/me`)."""
    router = APIRouter(prefix=prefix, tags=["notifications"])
    UserId = Annotated[int, Depends(who)]

    @router.get("/contact-methods", response_model=ContactMethodList)
    def list_methods(user_id: UserId, session: SessionDep, actor: ActorDep, page: PageDep) -> Any:
        found = contacts.list_methods(session, actor=actor, user_id=user_id, page=page)
        return ContactMethodList(
            items=[contacts.to_read(m) for m in found.items], total=found.total
        )

    list_methods.__doc__ = f"{owner} contact methods in fallback order."

    @router.post(
        "/contact-methods",
        response_model=ContactMethodCreated,
        status_code=status.HTTP_201_CREATED,
    )
    def create_method(
        user_id: UserId,
        data: ContactMethodCreate,
        session: SessionDep,
        actor: ActorDep,
        container: ContainerDep,
    ) -> Any:
        """Add a contact method. For a webhook without a `secret`, one is generated and
        returned in this answer only: keep it to verify X-Escalate-Signature."""
        method, secret = contacts.create_method(
            session, container.clock, actor=actor, user_id=user_id, data=data
        )
        shown = contacts.to_read(method).model_dump()
        return ContactMethodCreated.model_validate({**shown, "secret": secret})

    @router.patch("/contact-methods/{method_id}", response_model=ContactMethodRead)
    def update_method(
        user_id: UserId,
        method_id: int,
        data: ContactMethodUpdate,
        session: SessionDep,
        actor: ActorDep,
    ) -> Any:
        method = contacts.update_method(
            session, actor=actor, user_id=user_id, method_id=method_id, data=data
        )
        return contacts.to_read(method)

    @router.delete("/contact-methods/{method_id}", status_code=status.HTTP_204_NO_CONTENT)
    def delete_method(
        user_id: UserId, method_id: int, session: SessionDep, actor: ActorDep
    ) -> Response:
        """Remove a contact method and its notification rules."""
        contacts.delete_method(session, actor=actor, user_id=user_id, method_id=method_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post(
        "/contact-methods/{method_id}/test",
        response_model=QueuedTestNotification,
        status_code=status.HTTP_202_ACCEPTED,
    )
    def send_test(
        user_id: UserId,
        method_id: int,
        session: SessionDep,
        actor: ActorDep,
        container: ContainerDep,
    ) -> Any:
        """Queue a test notification to this method; it goes out within a second."""
        notification_id = contacts.send_test(
            session, container.clock, actor=actor, user_id=user_id, method_id=method_id
        )
        return QueuedTestNotification(notification_id=notification_id, status="pending")

    @router.get("/notification-rules", response_model=NotificationRuleList)
    def list_rules(user_id: UserId, session: SessionDep, actor: ActorDep, page: PageDep) -> Any:
        found = contacts.list_rules(session, actor=actor, user_id=user_id, page=page)
        return NotificationRuleList(
            items=[NotificationRuleRead.model_validate(r) for r in found.items], total=found.total
        )

    list_rules.__doc__ = f"{owner} notification rules by delay."

    @router.post(
        "/notification-rules",
        response_model=NotificationRuleRead,
        status_code=status.HTTP_201_CREATED,
    )
    def create_rule(
        user_id: UserId, data: NotificationRuleCreate, session: SessionDep, actor: ActorDep
    ) -> Any:
        """Notify by a contact method `delay_minutes` after being paged (0: at once; later
        ones only while the incident is still unacknowledged)."""
        rule = contacts.create_rule(session, actor=actor, user_id=user_id, data=data)
        return NotificationRuleRead.model_validate(rule)

    @router.delete("/notification-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
    def delete_rule(
        user_id: UserId, rule_id: int, session: SessionDep, actor: ActorDep
    ) -> Response:
        contacts.delete_rule(session, actor=actor, user_id=user_id, rule_id=rule_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return router


router = APIRouter()
router.include_router(_routes("/users/{user_id}", _path_user, owner="The user's"))
router.include_router(_routes("/me", _me, owner="Your"))
