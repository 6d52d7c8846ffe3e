"""The staff pages of service groups: login required, CSRF on every form, a refused form
shows its error beside the field and writes nothing, members are chosen by checkbox."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from statuspage_support import count, csrf_of, log_in, make_group, make_services

from escalate.accounts.models import ServiceGroup, ServiceGroupMember
from escalate.auth.models import Role
from escalate.bootstrap import Container


def test_pages_need_a_login(client: TestClient, container: Container) -> None:
    shop = make_group(container, name="Shop", slug="shop", services=[])
    for path in ("/service-groups", f"/service-groups/{shop}"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_create_edit_delete(client: TestClient, container: Container, make_user) -> None:
    checkout, reports = make_services(container, "Checkout", "Reports")
    log_in(client, make_user(Role.MANAGER).email)
    listing = client.get("/service-groups")
    assert listing.status_code == 200 and "No service groups yet" in listing.text
    assert 'href="/service-groups"' in listing.text  # the nav link
    created = client.post(
        "/service-groups",
        data={
            "csrf_token": csrf_of(listing.text),
            "name": "Shop",
            "slug": "shop",
            "position": "1",
            "is_public": "on",
            "services": [str(reports), str(checkout)],
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    edit = client.get(created.headers["location"])
    assert edit.status_code == 200 and "Service group created." in edit.text
    assert 'href="/status/shop"' in edit.text
    # the chosen services come first, in page order, and are checked
    assert edit.text.index(f'value="{reports}" checked') < edit.text.index(
        f'value="{checkout}" checked'
    )
    group_id = _group_id(container, "shop")
    assert _members(container, group_id) == [reports, checkout]
    assert client.get("/status/shop").status_code == 200

    saved = client.post(
        f"/service-groups/{group_id}",
        data={
            "csrf_token": csrf_of(edit.text),
            "name": "Web shop",
            "slug": "shop",
            "position": "1",
            "services": [str(checkout)],
        },  # is_public unchecked: private
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert _members(container, group_id) == [checkout]
    assert client.get("/status/shop").status_code == 404
    listing = client.get("/service-groups")
    assert "Web shop" in listing.text and "private" in listing.text

    deleted = client.post(
        f"/service-groups/{group_id}/delete",
        data={"csrf_token": csrf_of(listing.text)},
        follow_redirects=False,
    )
    assert (
        deleted.status_code == 303
        and deleted.headers["location"] == "/service-groups?saved=deleted"
    )
    assert count(container, ServiceGroup) == 0 and count(container, ServiceGroupMember) == 0


def test_a_refused_form_shows_the_error_and_writes_nothing(
    client: TestClient, container: Container, make_user
) -> None:
    (checkout,) = make_services(container, "Checkout")
    shop = make_group(container, name="Shop", slug="shop", services=[checkout])
    make_group(container, name="Office", slug="office", services=[])
    log_in(client, make_user(Role.ADMIN).email)
    token = csrf_of(client.get("/service-groups").text)
    taken = client.post(
        "/service-groups",
        data={"csrf_token": token, "name": "Other", "slug": "shop", "services": [str(checkout)]},
    )
    assert taken.status_code == 409 and "is taken" in taken.text
    assert 'value="Other"' in taken.text  # what was typed stays
    renamed = client.post(
        f"/service-groups/{shop}",
        data={"csrf_token": token, "name": "Office", "slug": "shop", "position": "0"},
    )
    assert renamed.status_code == 409 and "exists already" in renamed.text
    bad = client.post(
        f"/service-groups/{shop}",
        data={"csrf_token": token, "name": "Shop", "slug": "Bad Slug", "position": "x"},
    )
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text
    unknown = client.post(
        f"/service-groups/{shop}",
        data={"csrf_token": token, "name": "Shop", "slug": "shop", "services": ["999999"]},
    )
    assert unknown.status_code == 422 and "no service named" in unknown.text.lower()
    assert count(container, ServiceGroup) == 2
    assert _members(container, shop) == [checkout]
    assert _group_id(container, "shop") == shop


def test_forms_need_csrf_and_a_writer(client: TestClient, container: Container, make_user) -> None:
    shop = make_group(container, name="Shop", slug="shop", services=[])
    log_in(client, make_user(Role.VIEWER).email)
    page = client.get(f"/service-groups/{shop}")
    assert page.status_code == 200 and "Delete group" not in page.text
    forged = client.post(f"/service-groups/{shop}/delete", data={"csrf_token": "nope"})
    assert forged.status_code == 403
    refused = client.post(f"/service-groups/{shop}/delete", data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 403
    assert client.get("/service-groups/999").status_code == 404
    assert count(container, ServiceGroup) == 1


def _group_id(container: Container, slug: str) -> int:
    with container.session_factory() as s:
        found = s.scalar(select(ServiceGroup.id).where(ServiceGroup.slug == slug))
        assert found is not None
        return found


def _members(container: Container, group_id: int) -> list[int]:
    with container.session_factory() as s:
        return list(
            s.scalars(
                select(ServiceGroupMember.service_id)
                .where(ServiceGroupMember.group_id == group_id)
                .order_by(ServiceGroupMember.position)
            )
        )
