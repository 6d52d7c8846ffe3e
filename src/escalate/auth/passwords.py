"""Password hashing for everyone who logs in with a password: staff (auth.service) and
customer contacts (portal.service). Argon2id at the library's recommended cost; one
hasher, so both logins age and re-hash alike (and the test suite can make both cheap)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8

hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify(hashed: str, password: str) -> bool:
    """Whether `password` is the one `hashed` was made from (a malformed hash is a no)."""
    try:
        return hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_nothing(password: str) -> None:
    """Spend a verification when the e-mail is unknown, so a failed login takes as long
    whether or not the account exists."""
    verify(_dummy_hash(), password)


def needs_rehash(hashed: str) -> bool:
    return hasher.check_needs_rehash(hashed)


@cache
def _dummy_hash() -> str:
    # Made on first use: hashing at import would slow every CLI command.
    return hasher.hash("not-a-real-password")
