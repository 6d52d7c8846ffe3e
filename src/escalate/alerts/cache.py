"""Integrations by key, kept in memory so that an inbound event finds its integration
without a query.

An entry is a hint, never the last word: the transaction that stores an event reads the
integration row again (`verify`, one primary-key read per integration per committed batch,
as the committer shares one session across its batch) and refuses the event if the key
was rotated, the integration disabled or deleted since, dropping the entry. So a rotation
takes effect at once in every server process, with no time-to-live to tune and no message
between processes. Only keys that were valid are remembered; an unknown key costs a query
each time, as it did before (and is refused and logged anyway).

In the committer's transactions the row comes from the routing snapshot (alerts.snapshot),
which reads it again only after something about routing changed: the check is then one
read of the routing revision per batch."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalate.alerts.models import Integration, IntegrationKind
from escalate.alerts.snapshot import SESSION_KEY as SNAPSHOT
from escalate.alerts.snapshot import RoutingSnapshot
from escalate.keys import digest

MAX_ENTRIES = 10_000
_VERIFIED = "escalate_verified_integrations"


@dataclass(frozen=True)
class KnownIntegration:
    """What the ingest path knows of an integration before its event is stored: plain
    values, safe to share between threads and requests."""

    id: int
    name: str
    kind: IntegrationKind
    key_digest: str


class IntegrationCache:
    """Active integrations by the digest of their key (see the module doc). Safe to use
    from the event loop and the committer thread at once: single dict operations only."""

    def __init__(self, *, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._by_digest: dict[str, KnownIntegration] = {}

    def get(self, key: str) -> KnownIntegration | None:
        """The integration this key belonged to when last seen; no query."""
        return self._by_digest.get(digest(key))

    def load(self, session: Session, *, key: str) -> KnownIntegration | None:
        """Read the active integration with this key from the database and remember it."""
        key_digest = digest(key)
        integration = session.scalar(select(Integration).where(Integration.key_hash == key_digest))
        if integration is None or not integration.is_active:
            self._by_digest.pop(key_digest, None)
            return None
        known = KnownIntegration(integration.id, integration.name, integration.kind, key_digest)
        if len(self._by_digest) >= self.max_entries:
            self._by_digest.clear()  # only valid keys get here: far more than there are
        self._by_digest[key_digest] = known
        return known

    def verify(self, session: Session, known: KnownIntegration) -> Integration | None:
        """The integration row, in the caller's transaction, if it still answers to the key
        `known` was found by; otherwise forget that key and return None. Read once per
        session: the session keeps the rows it verified (its identity map alone holds them
        weakly, and would read them again for every request of a batch)."""
        verified: dict[str, Integration] = session.info.setdefault(_VERIFIED, {})
        integration = verified.get(known.key_digest)
        if integration is not None:
            return integration
        snapshot: RoutingSnapshot | None = session.info.get(SNAPSHOT)
        if snapshot is not None:
            integration = snapshot.integration(session, known.id)
        else:
            integration = session.get(Integration, known.id)
        if (
            integration is None
            or not integration.is_active
            or integration.key_hash != known.key_digest
            or integration.kind != known.kind
        ):
            self._by_digest.pop(known.key_digest, None)
            return None
        verified[known.key_digest] = integration
        return integration
