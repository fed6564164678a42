"""Evaluators' personal data (DESIGN.md §7): encrypted at rest, masked on display.

Name, phone and ID number are stored encrypted with keys that never live in the
database (``HCP_DATA_KEYS``), so a database dump alone reveals nothing. Phone and ID
number also get a keyed hash (a blind index) so that records can be matched without
decrypting. Everything shown in lists and pages goes through the ``mask_*`` functions.
"""

from __future__ import annotations

import hashlib
import hmac
import threading

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class DataKeyError(RuntimeError):
    """Personal data cannot be encrypted or decrypted with the configured keys."""


class DataCipher:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise DataKeyError("no data key configured (HCP_DATA_KEYS)")
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self._index_key = hashlib.sha256(b"hcp-blind-index:" + keys[0]).digest()

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise DataKeyError("personal data cannot be decrypted with HCP_DATA_KEYS "
                               "(was the key changed without keeping the old one?)") from None

    def blind_index(self, value: str) -> str:
        normalized = "".join(value.split()).upper()
        return hmac.new(self._index_key, normalized.encode("utf-8"), hashlib.sha256).hexdigest()


_lock = threading.Lock()
_cipher: DataCipher | None = None


def configure(keys: list[bytes]) -> None:
    """Install the process's cipher; called by the app factory."""
    global _cipher
    with _lock:
        _cipher = DataCipher(keys)


def cipher() -> DataCipher:
    if _cipher is None:
        raise DataKeyError("personal data keys are not configured; create the app first")
    return _cipher


def mask_phone(phone: str | None) -> str:
    """138****1234 for a mobile number; other numbers keep their first 3 and last 2."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) >= 11:
        return digits[:3] + "****" + digits[-4:]
    if len(digits) <= 4:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 5) + digits[-2:]


def mask_name(name: str | None) -> str:
    """张* for two characters, 张*明 for three or more."""
    if not name:
        return ""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_no(id_no: str | None) -> str:
    """First 4 and last 4 kept: 3601**********1234."""
    if not id_no:
        return ""
    id_no = id_no.strip()
    if len(id_no) <= 8:
        return id_no[:1] + "*" * (len(id_no) - 1)
    return id_no[:4] + "*" * (len(id_no) - 8) + id_no[-4:]
