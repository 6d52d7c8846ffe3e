"""The service-groups API: read one, change it, delete it; errors name their field and
refused requests write nothing; every write is in the audit log."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from statuspage_support import count, make_group, make_services

from escalate.accounts.models import ServiceGroup, ServiceGroupMember
from escalate.auth.models import AuditEntry, Role
from escalate.bootstrap import Container

URL = "/api/v1/service-groups"


def test_get_patch_delete(client: TestClient, container: Container, admin_headers) -> None:
    checkout, reports, search = make_services(container, "Checkout", "Reports", "Search")
    group_id = make_group(container, name="Shop", slug="shop", services=[checkout])
    got = client.get(f"{URL}/{group_id}", headers=admin_headers)
    assert got.status_code == 200
    assert got.json()["slug"] == "shop" and got.json()["service_ids"] == [checkout]

    changed = client.patch(
        f"{URL}/{group_id}",
        headers=admin_headers,
        json={
            "name": "Web shop",
            "slug": "web-shop",
            "description": "Buying things",
            "position": 3,
            "is_public": False,
            "services": [str(search), str(checkout)],
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["name"] == "Web shop" and body["slug"] == "web-shop"
    assert body["service_ids"] == [search, checkout]  # page order as given
    assert body["is_public"] is False and body["position"] == 3
    assert client.get("/status/web-shop").status_code == 404  # private now
    assert client.get(f"{URL}/{group_id}", headers=admin_headers).json() == body

    kept = client.patch(f"{URL}/{group_id}", headers=admin_headers, json={"is_public": True})
    assert kept.json()["service_ids"] == [search, checkout]  # services left out: kept
    assert client.get("/status/web-shop").status_code == 200
    cleared = client.patch(f"{URL}/{group_id}", headers=admin_headers, json={"services": []})
    assert cleared.json()["services"] == []

    actions = _audit(container, "service_groups", group_id)
    assert actions[0] == "create" and "update" in actions

    assert client.delete(f"{URL}/{group_id}", headers=admin_headers).status_code == 204
    assert client.get(f"{URL}/{group_id}", headers=admin_headers).status_code == 404
    assert count(container, ServiceGroup) == 0 and count(container, ServiceGroupMember) == 0
    assert _audit(container, "service_groups", group_id)[-1] == "delete"
    assert reports  # untouched


def test_missing_group_is_404(client: TestClient, admin_headers) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = client.request(method, f"{URL}/999", headers=admin_headers, json={})
        assert response.status_code == 404, method
        assert response.json()["field"] == "group_id"
    assert client.get(f"{URL}/0", headers=admin_headers).status_code == 404
    assert client.get(f"{URL}/99999999999999999999999", headers=admin_headers).status_code in (
        404,
        422,
    )


def test_refused_changes_write_nothing(
    client: TestClient, container: Container, admin_headers
) -> None:
    (checkout,) = make_services(container, "Checkout")
    shop = make_group(container, name="Shop", slug="shop", services=[checkout])
    make_group(container, name="Office", slug="office", services=[])
    before = _snapshot(container)
    cases = [
        ({"slug": "office"}, 409, "slug"),
        ({"name": "OFFICE"}, 409, "name"),
        ({"slug": "Not A Slug"}, 422, "slug"),
        ({"slug": "feed"}, 422, "slug"),
        ({"name": ""}, 422, "name"),
        ({"name": None}, 422, "name"),
        ({"position": -1}, 422, "position"),
        ({"services": ["no such service"]}, 422, "services"),
        # a good change beside a bad one: neither is written
        ({"name": "Renamed", "services": [str(checkout), "nope"]}, 422, "services"),
        ({"colour": "red"}, 422, "colour"),
    ]
    for body, status, field in cases:
        response = client.patch(f"{URL}/{shop}", headers=admin_headers, json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["field"] == field, (body, response.json())
    created = client.post(
        URL, headers=admin_headers, json={"name": "New", "slug": "new", "services": ["nope"]}
    )
    assert created.status_code == 422 and created.json()["field"] == "services"
    assert _snapshot(container) == before


def test_writes_need_services_write(client: TestClient, container: Container, make_token) -> None:
    shop = make_group(container, name="Shop", slug="shop", services=[])
    viewer = make_token(Role.VIEWER)
    assert client.get(f"{URL}/{shop}", headers=viewer).status_code == 200
    assert client.patch(f"{URL}/{shop}", headers=viewer, json={"name": "X"}).status_code == 403
    assert client.delete(f"{URL}/{shop}", headers=viewer).status_code == 403
    assert client.get(f"{URL}/{shop}").status_code == 401
    assert count(container, ServiceGroup) == 1


def _snapshot(container: Container) -> tuple[int, int, int, list[tuple[str, str]]]:
    with container.session_factory() as s:
        groups = [
            (g.name, g.slug) for g in s.scalars(select(ServiceGroup).order_by(ServiceGroup.id))
        ]
    return (
        count(container, ServiceGroup),
        count(container, ServiceGroupMember),
        count(container, AuditEntry),
        groups,
    )


def _audit(container: Container, entity: str, entity_id: int) -> list[str]:
    with container.session_factory() as s:
        return list(
            s.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity_type == entity, AuditEntry.entity_id == str(entity_id))
                .order_by(AuditEntry.id)
            )
        )
