"""Secrets at rest: API tokens and session ids are stored only as keyed hashes, and
passwords with scrypt.

Tokens are 256-bit random strings, so a fast keyed hash (HMAC-SHA256 with the server's
secret key) is enough: nothing to brute-force, and a stolen database without the key
does not even confirm a guessed token. Passwords are low-entropy and get scrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as _secrets

TOKEN_PREFIX = "al_"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def new_token() -> str:
    """A fresh API token, shown to its owner once."""
    return TOKEN_PREFIX + _secrets.token_urlsafe(32)


def new_opaque() -> str:
    """A random id for a cookie or a CSRF token."""
    return _secrets.token_urlsafe(32)


def keyed_hash(value: str, key: str) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def hash_password(password: str) -> str:
    salt = _secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time check; a user without a password (token-only) never matches."""
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
