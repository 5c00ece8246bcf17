"""PINs: stored as scrypt hashes with their own salt and parameters, compared in constant time.

Stored form: ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``. The parameters travel with the hash, so
raising :data:`SCRYPT_N` later keeps old PINs working. n = 2^14, r = 8, p = 1 costs 16 MiB and about
0.1 s on a Raspberry Pi 4 per attempt, on top of the sign-in rate limit.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

SCRYPT_N = 2 ** 14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
PIN_RE = re.compile(r"^[0-9]{4,12}$")
"""A PIN is 4 to 12 digits."""

_DUMMY_SALT = b"sledhub-no-user!"


def check_pin_format(pin: object) -> str | None:
    """An error message when ``pin`` is not 4–12 digits, else None."""
    if not isinstance(pin, str) or not PIN_RE.fullmatch(pin):
        return "pin: expected 4 to 12 digits"
    return None


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, dklen=HASH_BYTES, maxmem=128 * 1024 * 1024)


def hash_pin(pin: str, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    return f"scrypt${n}${r}${p}${salt.hex()}${_scrypt(pin, salt, n, r, p).hex()}"


def verify_pin(pin: str, stored: str | None) -> bool:
    """True when ``pin`` matches ``stored``. With ``stored=None`` (no such user) the same work is
    done against a dummy hash, so timing does not tell whether a name exists."""
    if stored is None:
        _scrypt(pin, _DUMMY_SALT, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        return False
    try:
        scheme, n, r, p, salt_hex, hash_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = _scrypt(pin, bytes.fromhex(salt_hex), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, bytes.fromhex(hash_hex))


def generate_pin(digits: int = 6) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(digits))
