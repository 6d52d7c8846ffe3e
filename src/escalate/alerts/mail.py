"""From an e-mail to an inbound event, by an integration's EmailRules: pure functions, no
database, no network. Parsed with the standard library (policy=email.policy.default)."""

from __future__ import annotations

import hashlib
import html
import re
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from typing import Any

from escalate.alerts.mapping import SEVERITY_WORDS, SUMMARY_MAX, InboundEvent
from escalate.alerts.models import AlertAction, Severity
from escalate.alerts.schemas import EmailRules
from escalate.errors import ValidationFailed

BODY_MAX = 32 * 1024
DEDUP_KEY_MAX = 255
SOURCE_MAX = 255
# Subjects are one line of at most 998 characters (RFC 5322); folded ones can be longer,
# and a rule's regex runs on this much at most.
SUBJECT_MAX = 1000
NO_SUBJECT = "(no subject)"
KEPT_HEADERS = (
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "X-Priority",
)

# "Re:", "Fwd:", "FW:", and their German, Nordic and Dutch cousins, with list counters.
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|antw)(?:\[\d+\])?\s*:\s*)+", re.I)
_TAG = re.compile(r"\[\s*([A-Za-z0-9_-]{1,20})\s*\]")
# Separators left at the ends once words are taken out (dashes: hyphen, en and em).
_SEPARATORS = r"[\s:;,.|*~#=<>\-\u2013\u2014]+"
_ENDS = re.compile(rf"^{_SEPARATORS}|{_SEPARATORS}$")
_SPACES = re.compile(r"\s+")
_HTML_TAG = re.compile(r"<[^>]*>")
# X-Priority 1 (highest) to 5 (lowest); 3 is every mail client's "normal", so it says nothing.
X_PRIORITY = {"1": Severity.CRITICAL, "2": Severity.ERROR, "4": Severity.INFO, "5": Severity.INFO}


class UnreadableMessage(ValidationFailed):
    """A message the e-mail parser cannot make sense of."""


def parse_message(raw: bytes) -> EmailMessage:
    """The message in raw RFC 5322 bytes, or UnreadableMessage."""
    try:
        message = message_from_bytes(raw, policy=policy.default)
    except Exception as exc:  # see event_from_message
        raise UnreadableMessage(f"the message cannot be parsed: {exc}", field="message") from None
    assert isinstance(message, EmailMessage)  # what policy.default builds
    return message


def event_from_message(
    message: EmailMessage, rules: EmailRules, *, envelope_from: str | None = None
) -> InboundEvent:
    """The alert event a mail stands for: its subject is the title, its text body the
    details; a resolve word resolves. UnreadableMessage if its headers cannot be read."""
    try:
        subject = _clean(str(message.get("Subject", "")))[:SUBJECT_MAX]
        sender = _sender(message) or envelope_from
        body = text_body(message)
        headers = {name: _clean(str(message[name])) for name in KEPT_HEADERS if name in message}
    except Exception as exc:
        # The e-mail package raises a wide range of errors on malformed headers; any of
        # them means this message cannot be read, not that the server is broken.
        raise UnreadableMessage(f"the message cannot be parsed: {exc}", field="message") from None
    title = _SPACES.sub(" ", _REPLY_PREFIX.sub("", subject)).strip() or NO_SUBJECT
    resolves = has_resolve_word(subject, rules) or (
        rules.resolve_in_body and has_resolve_word(body, rules)
    )
    details: dict[str, Any] = {"body": body}
    if sender:
        details["from"] = sender
    return InboundEvent(
        action=AlertAction.RESOLVE if resolves else AlertAction.TRIGGER,
        dedup_key=dedup_key(subject, headers, rules),
        summary=title[:SUMMARY_MAX],
        severity=severity_of(subject, headers.get("X-Priority"), rules.default_severity),
        source=sender[:SOURCE_MAX] if sender else None,
        labels={"from": sender} if sender else {},
        details=details,
        payload={"headers": headers, "envelope_from": envelope_from},
    )


def severity_of(subject: str, x_priority: str | None, default: Severity) -> Severity:
    """A `[critical]`-style tag in the subject, else X-Priority, else the default."""
    for tag in _TAG.findall(subject):
        severity = SEVERITY_WORDS.get(tag.lower())
        if severity is not None:
            return severity
    digit = (x_priority or "").strip()[:1]
    return X_PRIORITY.get(digit, default)


def has_resolve_word(text: str, rules: EmailRules) -> bool:
    return any(_word(word).search(text) for word in rules.resolve_words)


def _word(word: str) -> re.Pattern[str]:
    # A whole word in any case: "RESOLVED" matches "Resolved:", not "unresolved".
    return re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.I)


def dedup_key(subject: str, headers: dict[str, str], rules: EmailRules) -> str:
    """The integration's rule: the normalized subject, the thread's first Message-ID, or a
    regex's first group; the subject rule when the others find nothing."""
    key: str | None = None
    if rules.dedup == "message-id":
        key = thread_root(headers)
    elif rules.dedup == "regex" and rules.dedup_regex:
        found = re.search(rules.dedup_regex, _REPLY_PREFIX.sub("", subject))
        key = found.group(1) if found and found.group(1) else None
    key = (key or normalized_subject(subject, rules)).strip()
    if len(key) > DEDUP_KEY_MAX:
        return hashlib.sha256(key.encode()).hexdigest()
    return key


def normalized_subject(subject: str, rules: EmailRules) -> str:
    """The subject as the same alert always has it: without Re:/Fwd:, severity tags and
    resolve words, in one case, so the recovery mail finds the alert its problem mail made."""
    text = subject
    for word in rules.resolve_words:
        text = _word(word).sub(" ", text)
    text = _TAG.sub(lambda tag: " " if tag.group(1).lower() in SEVERITY_WORDS else tag[0], text)
    previous = None
    while previous != text:
        previous = text
        text = _ENDS.sub("", _REPLY_PREFIX.sub("", text))
    return _SPACES.sub(" ", text).strip().casefold() or NO_SUBJECT


def thread_root(headers: dict[str, str]) -> str | None:
    """The Message-ID a thread started with: the first of References, else In-Reply-To,
    else the message's own (so a reply saying RESOLVED is the same alert)."""
    for name in ("References", "In-Reply-To", "Message-ID"):
        ids = re.findall(r"<([^<>\s]+)>", headers.get(name, ""))
        if ids:
            return ids[0]
    return None


def text_body(message: EmailMessage) -> str:
    """The plain text body (or the HTML one, as text), cut at BODY_MAX characters."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _content(part)
    if part.get_content_subtype() == "html":
        text = html.unescape(_HTML_TAG.sub(" ", text))
    return _clean(text).strip()[:BODY_MAX]


def _content(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except LookupError:  # a charset Python does not know
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def _sender(message: EmailMessage) -> str | None:
    header = message.get("From")
    if header is None:
        return None
    addresses = getattr(header, "addresses", ())
    if addresses and addresses[0].addr_spec:
        return _clean(str(addresses[0].addr_spec)) or None
    return _clean(str(header)).strip() or None


def _clean(text: str) -> str:
    # PostgreSQL text cannot hold NUL; surrogates from undecodable bytes cannot be stored.
    return text.replace("\x00", "").encode("utf-8", errors="replace").decode("utf-8")
