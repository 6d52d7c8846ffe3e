"""Bearer secrets (API tokens, web-session cookies, integration keys): made from 256 random
bits, shown once, stored only as a digest. With that much entropy a fast hash is enough,
and lookups need a deterministic one, so SHA-256 rather than a password hash."""

from __future__ import annotations

import hashlib
import secrets


def new_secret(prefix: str = "") -> str:
    """A fresh secret, with a prefix that tells people what kind of secret it is."""
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What is stored of a secret, and what a presented secret is looked up by."""
    return hashlib.sha256(secret.encode()).hexdigest()
