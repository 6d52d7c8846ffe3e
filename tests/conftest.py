"""Shared fixtures. Every database test runs twice: on SQLite and on PostgreSQL.

Each test gets a fresh, migrated database cloned from a template made once per run (a file
copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL), so tests see real commits,
real constraints and real concurrency, and never each other's rows."""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher, profiles
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from escalate import bootstrap, migrate
from escalate.accounts import service as account_service
from escalate.accounts.schemas import AccountCreate, ContactCreate, ContractCreate
from escalate.auth import passwords
from escalate.auth import service as auth_service
from escalate.auth.models import Role, User
from escalate.auth.permissions import SYSTEM
from escalate.auth.schemas import UserCreate
from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.db import make_engine, transaction
from escalate.demo import data as demo_data
from escalate.settings import Settings
from escalate.sla import service as sla_service
from escalate.web.app import create_app

PG_URL = os.environ.get("ESCALATE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
START = datetime(2025, 10, 22, 12, 0, tzinfo=UTC)
_counter = itertools.count()


def _pg_admin_conninfo() -> str:
    url = make_url(PG_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_url_for(database: str) -> str:
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


def _pg_execute(sql: str) -> None:
    with psycopg.connect(_pg_admin_conninfo(), autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    try:
        _pg_execute("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.skip(
            f"PostgreSQL not reachable at {PG_URL} ({exc.__class__.__name__}); start it "
            "(pg_ctlcluster --skip-systemctl-redirect 15 main start) or set ESCALATE_TEST_PG_URL"
        )
    name = f"escalate_tpl_{uuid.uuid4().hex[:10]}"
    _pg_execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(_pg_url_for(name))
    migrate.upgrade(engine)
    engine.dispose()
    yield name
    _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, migrated database of each engine."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "escalate.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    template_name: str = request.getfixturevalue("pg_template")
    name = f"escalate_t_{os.getpid()}_{next(_counter)}"
    _pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    yield _pg_url_for(name)
    _pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        secret_key="test-secret-key",
        base_url="http://testserver",
        run_worker_in_process=False,
        db_pool_size=5,
        # The suite's webhook and Slack receivers listen on loopback.
        webhook_allow_private=True,
    )


@pytest.fixture
def container(settings: Settings, clock: FrozenClock) -> Iterator[Container]:
    built = bootstrap.build(settings, clock=clock)
    yield built
    built.dispose()


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as test_client:
        yield test_client


@pytest.fixture
def make_user(container: Container) -> Callable[..., User]:
    """Builder: a committed staff user (password "correct horse battery")."""

    def build(
        role: Role = Role.ADMIN, *, email: str | None = None, name: str | None = None
    ) -> User:
        n = next(_counter)
        data = UserCreate(
            email=email or f"user{n}@example.com",
            name=name or f"User {n}",
            role=role,
            password="correct horse battery",
        )
        with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
            return auth_service.create(s, container.clock, actor=SYSTEM, data=data)

    return build


@pytest.fixture
def make_token(
    container: Container, make_user: Callable[..., User]
) -> Callable[..., dict[str, str]]:
    """Builder: Authorization headers carrying a fresh token of a new user with this role."""

    def build(role: Role = Role.ADMIN) -> dict[str, str]:
        user = make_user(role)
        with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
            _, secret = auth_service.create_token(
                s, container.clock, actor=SYSTEM, user=s.get(User, user.id), name="test"
            )
        return {"Authorization": f"Bearer {secret}"}

    return build


@pytest.fixture
def admin_headers(make_token: Callable[..., dict[str, str]]) -> dict[str, str]:
    return make_token(Role.ADMIN)


@pytest.fixture
def make_sla_policy(container: Container) -> Callable[..., int]:
    """Builder: a committed copy of the demo's "Enterprise" SLA policy; returns its id."""

    def build(name: str | None = None) -> int:
        data = demo_data.ENTERPRISE_POLICY.model_copy(
            update={"name": name or f"Policy {next(_counter)}"}
        )
        with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
            return sla_service.create(s, actor=SYSTEM, data=data).id

    return build


@pytest.fixture
def make_account(container: Container, make_sla_policy: Callable[..., int]) -> Callable[..., int]:
    """Builder: a committed account with one notified contact and a 5,000 USD contract."""

    def build(name: str | None = None, *, tier: str = "enterprise") -> int:
        policy_id = make_sla_policy()
        with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
            account = account_service.create(
                s,
                container.clock,
                actor=SYSTEM,
                data=AccountCreate(
                    name=name or f"Account {next(_counter)}",
                    tier=tier,
                    timezone="America/New_York",
                ),
            )
            account_service.add_contact(
                s,
                actor=SYSTEM,
                account=account,
                data=ContactCreate(
                    name="Sarah Mitchell",
                    email=f"sarah{next(_counter)}@example.com",
                    receives_incident_notifications=True,
                ),
            )
            account_service.add_contract(
                s,
                actor=SYSTEM,
                account=account,
                data=ContractCreate(
                    sla_policy_id=policy_id,
                    term_start=date(2025, 1, 1),
                    term_end=date(2025, 12, 31),
                    monthly_fee=Decimal("5000"),
                ),
            )
            return account.id

    return build


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 at production cost makes every login in the suite take a noticeable while;
    the tests check what is hashed and verified, not how hard it is to crack."""
    cheap = PasswordHasher.from_parameters(profiles.CHEAPEST)
    original = passwords.hasher
    passwords.hasher = cheap
    yield
    passwords.hasher = original
