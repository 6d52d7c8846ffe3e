"""The status page's Atom feed (RFC 4287): one entry per public update."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree

from escalate.incidents.updates import KIND_LABELS
from escalate.statuspage.service import PublicUpdate

ATOM = "http://www.w3.org/2005/Atom"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def render(
    updates: list[PublicUpdate],
    *,
    title: str,
    page_url: str,
    feed_url: str,
    entry_base: str,
    now: datetime,
) -> bytes:
    """The feed document, UTF-8 with an XML declaration. Entry ids start with
    `entry_base` (the main page's URL), so an update has one id in every feed; an entry
    links to its incident's page under `page_url`, which shows it."""
    ElementTree.register_namespace("", ATOM)

    def sub(
        parent: ElementTree.Element, tag: str, text: str | None = None, **attrs: str
    ) -> ElementTree.Element:
        element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    sub(feed, "id", feed_url)
    sub(feed, "title", title)
    sub(feed, "updated", _stamp(updates[0].posted_at if updates else now))
    sub(feed, "link", rel="self", href=feed_url, type="application/atom+xml")
    sub(feed, "link", rel="alternate", href=page_url, type="text/html")
    author = sub(feed, "author")
    sub(author, "name", title)
    for update in updates:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{entry_base}#update-{update.id}")
        sub(entry, "title", f"{update.label}: {KIND_LABELS[update.kind]}")
        sub(entry, "updated", _stamp(update.posted_at))
        sub(entry, "published", _stamp(update.posted_at))
        # The incident's own page on this status page lists every update the feed can
        # hold; the main page drops an incident from view after 90 days.
        href = f"{page_url}/incidents/{update.incident_id}#update-{update.id}"
        sub(entry, "link", rel="alternate", href=href, type="text/html")
        sub(entry, "content", update.message, type="text")
    body: bytes = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body
