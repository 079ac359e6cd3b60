"""Keys for personal data at rest: envelope encryption and keyed lookup hashes.

Every personal value the store keeps (a borrower's name and address, contact addresses,
message bodies, providers' payloads) is sealed with AES-256-GCM (``cryptography``'s AEAD)
under a *data key*; the data key travels with the value, *wrapped* by a key-encryption key
(KEK) that never touches the database. A :class:`KeyProvider` does the wrapping: the
environment's key here (:class:`EnvironmentKeys`), a KMS in a deployment that has one (it
implements the same three members).

A sealed value reads::

    0x01 | len(kek id) | kek id | len(wrapped, 2 bytes) | wrapped data key | nonce | ciphertext

Each process draws its own data key when it starts and seals with it; another process
unwraps it once and caches it. Rotation therefore never stops the service: a new KEK in
``ORCHESTRATOR_KEK`` wraps new writes at once, the previous ones (``ORCHESTRATOR_KEK_PREVIOUS``)
still unwrap the old, and ``orchestrator keys rotate`` re-seals the stored rows in batches.
A value stored before encryption (``0x00`` + UTF-8, or text on SQLite) is still read.

Lookups by phone number or email address compare an HMAC-SHA256 of the address under a
separate key (``ORCHESTRATOR_LOOKUP_KEY``), never the address itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from orchestrator.errors import ServiceUnavailable

PLAIN = 0x00
SEALED = 0x01
_NONCE = 12

log = logging.getLogger(__name__)

# FOR TESTS AND THE DEMO ONLY: well-known keys, published here, protecting nothing. The demo
# and the test suite set them when the environment has none; a service never falls back on
# them (Keyring.from_environment refuses to start without ORCHESTRATOR_KEK).
DEVELOPMENT_KEK = base64.b64encode(b"orchestrator-development-kek-32b").decode()
DEVELOPMENT_LOOKUP_KEY = base64.b64encode(b"orchestrator-development-lookup!").decode()


class KeyUnavailable(ServiceUnavailable):
    """A key is missing or wrong, or a sealed value does not open with the keys we have.

    The message says what to set."""


class KeyProvider(Protocol):
    """Wraps and unwraps data keys; a KMS client can be one.

    Parameters:
      current_id: names the key that wraps new data keys (stored with each value).
    """

    @property
    def current_id(self) -> str: ...

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        """``data_key`` wrapped by the current key: (that key's id, the wrapped bytes)."""
        ...

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        """The data key ``wrapped`` by ``key_id``; :class:`KeyUnavailable` if that key is gone."""
        ...


def fingerprint(key: bytes) -> str:
    """A KEK's public name: the first 8 hex digits of its SHA-256 (names, never reveals)."""
    return hashlib.sha256(b"orchestrator-kek:" + key).hexdigest()[:8]


def decode_key(text: str, *, name: str) -> bytes:
    """A 32-byte key from base64, or :class:`KeyUnavailable` saying what is wrong."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise KeyUnavailable(
            f"{name} is not base64; make one with `orchestrator keys generate`"
        ) from None
    if len(key) != 32:
        raise KeyUnavailable(
            f"{name} decodes to {len(key)} bytes, not 32; "
            "make one with `orchestrator keys generate`"
        )
    return key


class EnvironmentKeys:
    """KEKs given to the process: the current one wraps, every one given unwraps.

    Parameters:
      current: the KEK new data keys are wrapped by (32 bytes).
      previous: earlier KEKs, still accepted for unwrapping until the rows are rotated.
    """

    def __init__(self, current: bytes, previous: Sequence[bytes] = ()) -> None:
        self._current = fingerprint(current)
        self._keys = {fingerprint(k): AESGCM(k) for k in (*previous, current)}

    @property
    def current_id(self) -> str:
        return self._current

    @property
    def known_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(_NONCE)
        aad = b"data-key:" + self._current.encode()
        return self._current, nonce + self._keys[self._current].encrypt(nonce, data_key, aad)

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        kek = self._keys.get(key_id)
        if kek is None:
            raise KeyUnavailable(
                f"a value is sealed under KEK {key_id}, which this process was not given: "
                "put it in ORCHESTRATOR_KEK_PREVIOUS until `orchestrator keys rotate` has run"
            )
        try:
            return kek.decrypt(wrapped[:_NONCE], wrapped[_NONCE:], b"data-key:" + key_id.encode())
        except InvalidTag:
            raise KeyUnavailable(f"the data key wrapped by KEK {key_id} does not open") from None


@dataclass(frozen=True, slots=True)
class _DataKey:
    key: AESGCM
    header: bytes  # format, kek id, wrapped key: the prefix of every value it seals


class Keyring:
    """Seals and opens values, and hashes addresses for lookups.

    Parameters:
      provider: wraps this process's data key, unwraps others'.
      lookup_keys: HMAC keys for address lookups, current first; the others are still
        matched (:meth:`lookup_hashes`) until ``orchestrator keys rotate`` re-hashes.
      enabled: False is the benchmarks' null cipher (:func:`unseal_this_process_for_benchmarks`):
        new values are stored unsealed (``0x00`` + UTF-8) and addresses are looked up as
        themselves, as before sealing existed. No setting or variable makes one; a service
        always seals.
    """

    def __init__(
        self, provider: KeyProvider, lookup_keys: Sequence[bytes], *, enabled: bool = True
    ) -> None:
        if not lookup_keys:
            raise KeyUnavailable("a keyring needs a lookup key (ORCHESTRATOR_LOOKUP_KEY)")
        self.provider = provider
        self.enabled = enabled
        self._lookup = list(lookup_keys)
        self._lock = threading.Lock()
        self._current: _DataKey | None = None
        self._opened: dict[bytes, AESGCM] = {}
        self._rewrapped: dict[bytes, bytes] = {}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Keyring:
        """The keyring the environment describes, or :class:`KeyUnavailable` saying what to set.

        ORCHESTRATOR_KEK: the current key-encryption key (32 bytes, base64).
        ORCHESTRATOR_KEK_PREVIOUS: earlier KEKs, comma-separated, until rotated away.
        ORCHESTRATOR_LOOKUP_KEY: the HMAC key of address lookups (then
        ORCHESTRATOR_LOOKUP_KEY_PREVIOUS, comma-separated, while re-hashing).

        Encryption cannot be turned off from the environment: ``ORCHESTRATOR_ENCRYPT_AT_REST``
        set to anything but true is refused. In a benchmark's process that called
        :func:`unseal_this_process_for_benchmarks`, the process's keyring is that null one.
        """
        if environ is None and _BENCHMARK_UNSEALED:
            return _BENCHMARK_UNSEALED[0]
        env = os.environ if environ is None else environ
        switch = env.get("ORCHESTRATOR_ENCRYPT_AT_REST")
        if switch is not None and switch.strip().lower() not in ("1", "true", "yes", "on"):
            raise KeyUnavailable(
                f"ORCHESTRATOR_ENCRYPT_AT_REST={switch!r}: personal data is always encrypted "
                "at rest and no setting turns that off; remove the variable (the benchmarks "
                "measure the cost with a null cipher of their own, bench/unsealed.py)"
            )
        kek = env.get("ORCHESTRATOR_KEK", "").strip()
        lookup = env.get("ORCHESTRATOR_LOOKUP_KEY", "").strip()
        if not kek or not lookup:
            missing = " and ".join(
                n
                for n, v in (("ORCHESTRATOR_KEK", kek), ("ORCHESTRATOR_LOOKUP_KEY", lookup))
                if not v
            )
            raise KeyUnavailable(
                f"{missing} not set: personal data is stored encrypted. Run "
                "`orchestrator keys generate` and put what it prints in the environment "
                "(docs/security.md, Key management)"
            )
        previous = [
            decode_key(k, name="ORCHESTRATOR_KEK_PREVIOUS")
            for k in env.get("ORCHESTRATOR_KEK_PREVIOUS", "").split(",")
            if k.strip()
        ]
        lookups = [decode_key(lookup, name="ORCHESTRATOR_LOOKUP_KEY")] + [
            decode_key(k, name="ORCHESTRATOR_LOOKUP_KEY_PREVIOUS")
            for k in env.get("ORCHESTRATOR_LOOKUP_KEY_PREVIOUS", "").split(",")
            if k.strip()
        ]
        return cls(EnvironmentKeys(decode_key(kek, name="ORCHESTRATOR_KEK"), previous), lookups)

    # --- sealing ---------------------------------------------------------------------------

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """``plaintext`` sealed under this process's data key, bound to ``aad`` (the column)."""
        if not self.enabled:
            return bytes([PLAIN]) + plaintext
        data_key = self._data_key()
        nonce = os.urandom(_NONCE)
        return data_key.header + nonce + data_key.key.encrypt(nonce, plaintext, aad)

    def open(self, stored: bytes, aad: bytes) -> bytes:
        """The plaintext of a stored value (sealed or not)."""
        if not stored:
            raise KeyUnavailable("an empty value where a sealed one was expected")
        if stored[0] == PLAIN:
            return stored[1:]
        if stored[0] != SEALED:
            raise KeyUnavailable(f"unknown sealed-value format {stored[0]}")
        key_id, wrapped, rest = split(stored)
        cipher = self._opened.get(wrapped)
        if cipher is None:
            cipher = AESGCM(self.provider.unwrap(key_id, wrapped))
            with self._lock:
                if len(self._opened) > 4096:
                    self._opened.clear()
                self._opened[wrapped] = cipher
        try:
            return cipher.decrypt(rest[:_NONCE], rest[_NONCE:], aad)
        except InvalidTag:
            raise KeyUnavailable(
                "a sealed value does not open: it was altered, or moved from another column"
            ) from None

    def _data_key(self) -> _DataKey:
        current = self._current
        if current is not None and current.header.startswith(self._kek_prefix()):
            return current
        with self._lock:
            if self._current is None or not self._current.header.startswith(self._kek_prefix()):
                raw = AESGCM.generate_key(bit_length=256)
                key_id, wrapped = self.provider.wrap(raw)
                header = _header(key_id, wrapped)
                self._current = _DataKey(AESGCM(raw), header)
                self._opened[wrapped] = self._current.key
            return self._current

    def _kek_prefix(self) -> bytes:
        key_id = self.provider.current_id.encode()
        return bytes([SEALED, len(key_id)]) + key_id

    def rewrap(self, stored: bytes) -> bytes:
        """``stored`` with its data key wrapped by the current KEK; the ciphertext itself is
        kept (a KEK rotation rewrites headers, not data)."""
        key_id, wrapped, rest = split(stored)
        if key_id == self.provider.current_id:
            return stored
        header = self._rewrapped.get(wrapped)
        if header is None:
            new_id, new_wrapped = self.provider.wrap(self.provider.unwrap(key_id, wrapped))
            header = _header(new_id, new_wrapped)
            with self._lock:
                self._rewrapped[wrapped] = header
        return header + rest

    def sealed_by_current_data_key(self, stored: bytes) -> bool:
        return self._current is not None and stored.startswith(self._current.header)

    def renew_data_key(self) -> None:
        """Draw a fresh data key for the values sealed from now on (rotation)."""
        with self._lock:
            self._current = None

    # --- lookups ---------------------------------------------------------------------------

    def lookup_hash(self, address: str) -> str:
        """The current keyed hash of a contact address: what lookups compare."""
        if not self.enabled:
            return _unkeyed(address)
        return _hmac(self._lookup[0], address)

    def lookup_hashes(self, address: str) -> list[str]:
        """Every hash ``address`` may be stored under (current key first)."""
        if not self.enabled:
            return [_unkeyed(address)]
        return [_hmac(key, address) for key in self._lookup]


def _unkeyed(address: str) -> str:
    # The null cipher's "hash": the address itself, as lookups compared before sealing (an
    # address too long for the column, which none of the benchmarks' is, by its SHA-256).
    address = address.strip()
    return address if len(address) <= 64 else hashlib.sha256(address.encode()).hexdigest()


def _hmac(key: bytes, address: str) -> str:
    return hmac.new(key, address.strip().encode(), hashlib.sha256).hexdigest()


def _header(key_id: str, wrapped: bytes) -> bytes:
    name = key_id.encode()
    if len(name) > 255 or len(wrapped) > 65535:
        raise KeyUnavailable("a KEK id or wrapped data key too long to store")
    return bytes([SEALED, len(name)]) + name + len(wrapped).to_bytes(2, "big") + wrapped


def split(stored: bytes) -> tuple[str, bytes, bytes]:
    """A sealed value's (KEK id, wrapped data key, nonce + ciphertext)."""
    length = stored[1]
    key_id = stored[2 : 2 + length].decode()
    at = 2 + length
    size = int.from_bytes(stored[at : at + 2], "big")
    wrapped = stored[at + 2 : at + 2 + size]
    return key_id, wrapped, stored[at + 2 + size :]


# --- the benchmarks' null cipher -------------------------------------------------------------

_BENCHMARK_UNSEALED: list[Keyring] = []


def unseal_this_process_for_benchmarks() -> Keyring:
    """BENCHMARKS ONLY (``bench/``): from now on this process stores personal data unsealed.

    Every store this process connects without a keyring of its own gets a null cipher
    (``Keyring(enabled=False)``): values are written as ``0x00`` + UTF-8 and addresses are
    looked up as themselves, so the same code runs as it did before sealing and a benchmark
    can measure what sealing costs against it. Processes forked afterwards inherit it;
    spawned ones must call this themselves. Nothing in the service calls it, and no setting
    or variable reaches it (``tests/store/test_sealing_cannot_be_turned_off.py``); it logs
    a warning so that it is never silent. :func:`reseal_this_process` undoes it.
    """
    keys = development_environment()
    keyring = Keyring(
        EnvironmentKeys(decode_key(keys["ORCHESTRATOR_KEK"], name="development KEK")),
        [decode_key(keys["ORCHESTRATOR_LOOKUP_KEY"], name="development lookup key")],
        enabled=False,
    )
    _BENCHMARK_UNSEALED[:] = [keyring]
    log.warning("personal data is NOT encrypted at rest in this process: benchmark mode")
    return keyring


def benchmark_null_cipher() -> Keyring | None:
    """The null cipher :func:`unseal_this_process_for_benchmarks` installed, if it did."""
    return _BENCHMARK_UNSEALED[0] if _BENCHMARK_UNSEALED else None


def reseal_this_process() -> None:
    """Undo :func:`unseal_this_process_for_benchmarks`: stores connected from now on seal."""
    _BENCHMARK_UNSEALED.clear()


def generate_key() -> str:
    """A new random 32-byte key, base64 (for ORCHESTRATOR_KEK or ORCHESTRATOR_LOOKUP_KEY)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def development_environment() -> dict[str, str]:
    """The well-known development keys, for the demo and tests only (see DEVELOPMENT_KEK)."""
    return {"ORCHESTRATOR_KEK": DEVELOPMENT_KEK, "ORCHESTRATOR_LOOKUP_KEY": DEVELOPMENT_LOOKUP_KEY}
