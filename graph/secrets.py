"""Sealing secrets at rest with AES-256-GCM under a master key that never lives in the database.

A sealed value is: version (4 bytes, big-endian) | nonce (12 bytes) | ciphertext+tag.
The caller binds what the secret belongs to (e.g. "user:7:totp") as associated data, so a
ciphertext copied to another row does not open. The version header is bound too (it is part of
the associated data); values sealed before that ("legacy", only ever version 1) still open.

Master keys form a keyring of numbered versions; the first entry is the current one (used by
seal()), the others only open older values until `fleetgraph rotate-master-key` has re-sealed them.
Written forms, both in FLEETGRAPH_MASTER_KEY and in the key file:

    <64 hex>                      a single key, version 1 (the original form)
    2:<64 hex>,1:<64 hex>         versions, current first (commas or newlines separate entries)
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from graph.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

KEY_FILE_NAME = "master.key"
_HEADER = 4
_NONCE = 12
_ENTRY = re.compile(r"(?:(\d{1,9})\s*:\s*)?([0-9a-fA-F]+)")


class SecretError(Exception):
    """A sealed value could not be opened (wrong key, tampered, or bound to something else)."""


class KeyringError(ValueError):
    """The master key setting or key file is malformed (the message never holds key material)."""


@dataclass(frozen=True)
class Keyring:
    """Master keys by version; `current` seals, every version opens."""

    keys: dict[int, bytes] = field(repr=False)
    current: int

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyringError("the current master key version is not in the keyring")
        for version, key in self.keys.items():
            if version < 1 or len(key) != 32:
                raise KeyringError(f"master key version {version} must be a positive number with a 32-byte key")

    def __repr__(self) -> str:  # never show key material
        return f"Keyring(current={self.current}, versions={self.versions})"

    @property
    def versions(self) -> list[int]:
        """Current first, then the older ones, newest first."""
        return [self.current, *sorted((v for v in self.keys if v != self.current), reverse=True)]

    @classmethod
    def parse(cls, text: str, origin: str) -> Keyring:
        entries = [
            entry.strip() for entry in re.split(r"[,\n]", text) if entry.strip() and not entry.strip().startswith("#")
        ]
        if not entries:
            raise KeyringError(f"{origin} holds no master key")
        keys: dict[int, bytes] = {}
        order: list[int] = []
        for entry in entries:
            match = _ENTRY.fullmatch(entry)
            if not match or len(match.group(2)) != 64:
                raise KeyringError(f"{origin} must be 64 hex characters, or versions like '2:<64 hex>,1:<64 hex>'")
            if match.group(1) is None and len(entries) > 1:
                raise KeyringError(f"{origin}: with several keys every key needs its version ('<version>:<64 hex>')")
            version = int(match.group(1) or 1)
            if version in keys:
                raise KeyringError(f"{origin}: master key version {version} appears twice")
            keys[version] = bytes.fromhex(match.group(2))
            order.append(version)
        return cls(keys=keys, current=order[0])

    def dump(self) -> str:
        """The versioned written form, current first (what the key file holds)."""
        return ",".join(f"{version}:{self.keys[version].hex()}" for version in self.versions)

    def with_new_version(self) -> Keyring:
        """A new random key as the new current version; the old versions stay to open old values."""
        version = max(self.keys) + 1
        return Keyring(keys={**self.keys, version: secrets.token_bytes(32)}, current=version)

    def without(self, version: int) -> Keyring:
        if version == self.current:
            raise KeyringError("the current master key version cannot be removed")
        return Keyring(keys={v: k for v, k in self.keys.items() if v != version}, current=self.current)


def version_header(version: int) -> bytes:
    """The first bytes of every value `version` seals (what SQL can compare without opening a value)."""
    return version.to_bytes(_HEADER, "big")


async def header_version_counts(session: AsyncSession, column: Any) -> dict[int, int]:
    """How many values of a sealed column each master key version made, read from their headers in SQL
    (a SealedValues.count_versions for values that keep their version only in the header)."""
    from sqlalchemy import func, literal_column, select

    # literal positions: as bound parameters PostgreSQL would not see the GROUP BY expression as the selected one
    header = func.substr(column, literal_column("1"), literal_column(str(_HEADER)))
    rows = await session.execute(select(header, func.count()).where(column.is_not(None)).group_by(header))
    counts: dict[int, int] = {}
    for raw, count in rows.all():
        version = int.from_bytes(bytes(raw), "big")
        counts[version] = counts.get(version, 0) + count
    return counts


def sealed_version(sealed: bytes) -> int:
    """The master key version a sealed value was made with (from its header)."""
    if len(sealed) < _HEADER + _NONCE + 16:
        raise SecretError("sealed value has an unknown format")
    return int.from_bytes(sealed[:_HEADER], "big")


class Sealer:
    """Seals with the current master key version, opens with whichever version sealed a value.

    Built from one key (`Sealer(key, version=1)`), a Keyring, or a key file (`Sealer.from_file`):
    then the file is re-read when it changes, so a running server learns a version that
    `fleetgraph rotate-master-key` added, opens values re-sealed with it and seals with it.
    """

    def __init__(self, key: bytes | Keyring, version: int = 1, *, key_file: Path | None = None) -> None:
        if isinstance(key, Keyring):
            keyring = key
        else:
            if len(key) != 32:
                raise ValueError("the master key must be 32 bytes (AES-256)")
            keyring = Keyring(keys={version: bytes(key)}, current=version)
        self._key_file = key_file
        self._file_stamp = _stamp(key_file) if key_file else None
        self._use(keyring)

    @classmethod
    def from_file(cls, path: Path) -> Sealer:
        return cls(read_key_file(path), key_file=path)

    def _use(self, keyring: Keyring) -> None:
        # One tuple assignment, so concurrent readers see either the old or the new keyring whole.
        self._state = (keyring, {v: AESGCM(k) for v, k in keyring.keys.items()})

    def _refresh(self) -> None:
        """Re-read the key file if it changed since it was read (a cheap stat otherwise)."""
        if self._key_file is None:
            return
        stamp = _stamp(self._key_file)
        if stamp != self._file_stamp:
            self._use(read_key_file(self._key_file))
            self._file_stamp = stamp

    @property
    def keyring(self) -> Keyring:
        return self._state[0]

    @property
    def version(self) -> int:
        """The current master key version (the one seal() uses)."""
        self._refresh()
        return self._state[0].current

    def __repr__(self) -> str:  # never show key material
        keyring = self._state[0]
        return f"Sealer(version={keyring.current}, versions={keyring.versions})"

    def seal(self, plaintext: bytes, associated_data: str) -> bytes:
        self._refresh()
        keyring, aeads = self._state
        header = version_header(keyring.current)
        nonce = secrets.token_bytes(_NONCE)
        return header + nonce + aeads[keyring.current].encrypt(nonce, plaintext, header + associated_data.encode())

    def open(self, sealed: bytes, associated_data: str) -> bytes:
        version = sealed_version(sealed)
        aead = self._state[1].get(version)
        if aead is None:
            self._refresh()  # maybe a rotation added this version since we read the key file
            aead = self._state[1].get(version)
        if aead is None:
            raise SecretError(f"sealed value needs master key version {version}, which is not in the keyring")
        header, nonce, body = sealed[:_HEADER], sealed[_HEADER : _HEADER + _NONCE], sealed[_HEADER + _NONCE :]
        try:
            return aead.decrypt(nonce, body, header + associated_data.encode())
        except InvalidTag:
            pass
        if version == 1:
            # Values sealed before the header was bound (single-key releases) have only the binding.
            with contextlib.suppress(InvalidTag):
                return aead.decrypt(nonce, body, associated_data.encode())
        raise SecretError("sealed value does not open under this master key and binding")

    def needs_reseal(self, sealed: bytes) -> bool:
        return sealed_version(sealed) != self.version


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return (status.st_ino, status.st_mtime_ns, status.st_size)


def ensure_private_dir(path: Path) -> None:
    """Create a directory only its owner may enter (0700), parents as needed. An existing one keeps its
    mode (the operator may share it on purpose); a warning says when others can enter it."""
    if not path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.chmod(0o700)  # exactly 0700, whatever the umask
    elif path.stat().st_mode & 0o077:
        logging.getLogger("fleetgraph").warning(
            "data directory %s can be read by other users (mode %o); fleetgraph keeps its files 0600, "
            "but `chmod 700` it to hide them altogether",
            path,
            path.stat().st_mode & 0o777,
        )


def private_file(path: Path) -> None:
    """Make `path` (if missing, empty) with mode 0600, and take group and other access from it if it exists."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            try:
                path.chmod(mode & 0o700)
            except PermissionError:  # another user's file: say so, it still works
                logging.getLogger("fleetgraph").warning(
                    "%s can be read by other users (mode %o) and is not ours to change", path, mode
                )


def key_file_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / KEY_FILE_NAME


def read_key_file(path: Path) -> Keyring:
    return Keyring.parse(path.read_text(), str(path))


def _write_private(path: Path, text: str) -> None:
    """Write `text` to a new 0600 file next to `path`, then put it in place atomically."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _ensure_key_file(path: Path) -> None:
    if path.exists():
        return
    ensure_private_dir(path.parent)
    # Written aside, then linked into place: two workers starting at once agree on one key.
    temporary = path.with_name(f".{KEY_FILE_NAME}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def load_keyring(settings: Settings) -> Keyring:
    """The keyring from FLEETGRAPH_MASTER_KEY, else from the key file (made 0600 on first use)."""
    if settings.master_key:
        return Keyring.parse(settings.master_key, "FLEETGRAPH_MASTER_KEY")
    path = key_file_path(settings)
    _ensure_key_file(path)
    return read_key_file(path)


def load_sealer(settings: Settings) -> Sealer:
    if settings.master_key:
        return Sealer(load_keyring(settings))
    path = key_file_path(settings)
    _ensure_key_file(path)
    return Sealer.from_file(path)


def load_master_key(settings: Settings) -> bytes:
    """The current master key (kept for callers that need one key)."""
    keyring = load_keyring(settings)
    return keyring.keys[keyring.current]


@contextlib.contextmanager
def _key_file_lock(path: Path):
    lock_path = path.with_name(f".{path.name}.lock")
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def add_key_file_version(settings: Settings) -> Keyring:
    """Add a new current master key version to the key file (kept 0600); returns the new keyring."""
    path = key_file_path(settings)
    _ensure_key_file(path)
    with _key_file_lock(path):  # two rotations at once must not lose a version
        keyring = read_key_file(path).with_new_version()
        _write_private(path, keyring.dump())
    return keyring


def remove_key_file_version(settings: Settings, version: int) -> Keyring:
    path = key_file_path(settings)
    with _key_file_lock(path):
        keyring = read_key_file(path).without(version)
        _write_private(path, keyring.dump())
    return keyring


# --- re-sealing after a rotation -------------------------------------------------------------------
#
# graph.secrets knows no models: each domain declares what it seals (Domain.sealed, a tuple of
# SealedValues) and the entry points (graph.cli) pass the composed declarations in.


@dataclass(frozen=True)
class SealedValues:
    """One kind of value a domain seals with the master key, so that `rotate-master-key` can re-seal it.

    reseal_all runs the batches, passes and the report; the domain knows its rows. `stale_rows(session,
    current, after_id, limit)` returns rows (each with an `id`) not sealed by version `current`, with ids above
    `after_id`, ordered by id, at most `limit`, locked FOR UPDATE SKIP LOCKED. `reseal(session, sealer, row)`
    re-seals one of them only if its stored value is unchanged (a server that wrote it meanwhile wins) and
    returns the rows written; it raises SecretError when the value opens under no key of the keyring.
    `count_versions(session)` tells how many values each master key version seals.
    """

    #: Plural, for reports: "device keys".
    name: str
    #: Names a row that does not open: "DeviceKey 12".
    row_label: str
    stale_rows: Callable[[AsyncSession, int, int, int], Awaitable[Sequence[Any]]]
    reseal: Callable[[AsyncSession, Sealer, Any], Awaitable[int]]
    count_versions: Callable[[AsyncSession], Awaitable[dict[int, int]]]


def sealed_column(
    name: str, row_label: str, id_column: Any, column: Any, binding: Callable[[int], str]
) -> SealedValues:
    """The SealedValues of a nullable sealed column whose values keep their master key version only in their
    header (a TOTP secret, a datalog device's secrets, the SMS gateway's credentials, the VAPID key), bound to
    `binding(row id)`: stale rows found by comparing headers in SQL, re-sealed only if unchanged meanwhile."""
    from sqlalchemy import func, select, update

    async def stale_rows(session: AsyncSession, current: int, after_id: int, limit: int) -> Sequence[Any]:
        header = version_header(current)
        statement = (
            select(id_column.label("id"), column.label("sealed"))
            .where(id_column > after_id, column.is_not(None), func.substr(column, 1, len(header)) != header)
            .order_by(id_column)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await session.execute(statement)).all()

    async def reseal(session: AsyncSession, sealer: Sealer, row: Any) -> int:
        plain = sealer.open(row.sealed, binding(row.id))
        result = await session.execute(
            update(column.class_)
            .where(id_column == row.id, column == row.sealed)  # a change meanwhile wins
            .values({column.key: sealer.seal(plain, binding(row.id))})
            .execution_options(synchronize_session=False)
        )
        del plain
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def count_versions(session: AsyncSession) -> dict[int, int]:
        return await header_version_counts(session, column)

    return SealedValues(
        name=name, row_label=row_label, stale_rows=stale_rows, reseal=reseal, count_versions=count_versions
    )


@dataclass
class RotationReport:
    """What a re-seal pass did and how many values each master key version seals now (no key material)."""

    current: int
    #: Values re-sealed (or sealed, when an earlier release wrote them in clear), by SealedValues.name.
    resealed: dict[str, int] = field(default_factory=dict)
    #: SealedValues.name -> master key version -> number of values, after the pass.
    versions: dict[str, dict[int, int]] = field(default_factory=dict)
    #: Values that did not open under any key in the keyring ("DeviceKey 12", "User 7"); left as they were.
    failed: list[str] = field(default_factory=list)

    def in_use(self) -> set[int]:
        return {v for counts in self.versions.values() for v, n in counts.items() if n}

    @property
    def remaining(self) -> int:
        """Values still on an older version than the current one."""
        return sum(n for counts in self.versions.values() for v, n in counts.items() if v != self.current)

    def sealed_by(self, version: int, separator: str = ", ") -> str:
        """What `version` seals, in words: "2 device keys, 1 TOTP secrets"."""
        return separator.join(f"{counts.get(version, 0)} {name}" for name, counts in self.versions.items())


SessionFactory = Callable[[], AbstractAsyncContextManager["AsyncSession"]]


async def version_counts(session_factory: SessionFactory, sealed: Sequence[SealedValues]) -> dict[str, dict[int, int]]:
    """SealedValues.name -> how many values each master key version seals."""
    async with session_factory() as session:
        return {values.name: await values.count_versions(session) for values in sealed}


async def reseal_all(
    session_factory: SessionFactory,
    sealer: Sealer,
    sealed: Sequence[SealedValues],
    *,
    batch_size: int = 200,
    passes: int = 3,
    on_batch: Callable[[], Awaitable[None]] | None = None,
) -> RotationReport:
    """Re-seal every value of `sealed` that is not on the current master key version.

    Small batches, each its own short transaction, rows locked with FOR UPDATE SKIP LOCKED on
    PostgreSQL (a row a request holds is taken in a later pass), and every write is conditional on the
    sealed value being unchanged, so a server that changes a secret meanwhile wins. Running servers
    keep working: their keyring holds both versions (the key file is re-read when it changes).
    `on_batch` (an async callable) runs after each committed batch (tests look at the mixed state there).
    """
    report = RotationReport(current=sealer.version, resealed={values.name: 0 for values in sealed})
    failed: dict[str, set[int]] = {values.row_label: set() for values in sealed}
    for attempt in range(passes):
        for values in sealed:
            report.resealed[values.name] += await _reseal_stale(
                session_factory, sealer, values, report.current, failed[values.row_label], batch_size, on_batch
            )
        report.versions = await version_counts(session_factory, sealed)
        if report.remaining <= sum(len(ids) for ids in failed.values()) or attempt == passes - 1:
            break
        await asyncio.sleep(0.2 * (attempt + 1))  # rows locked by requests: try them again shortly
    report.failed = [f"{label} {row_id}" for label, ids in failed.items() for row_id in sorted(ids)]
    return report


async def _reseal_stale(
    session_factory: SessionFactory,
    sealer: Sealer,
    values: SealedValues,
    current: int,
    failed: set[int],
    batch_size: int,
    on_batch: Callable[[], Awaitable[None]] | None,
) -> int:
    """One pass over the values of one kind not on `current`, batch by batch; returns the rows written and adds
    the ids of values that open under no key to `failed` (they are skipped in later passes)."""
    written = 0
    last_id = 0
    while True:
        async with session_factory() as session, session.begin():
            rows = await values.stale_rows(session, current, last_id, batch_size)
            for row in rows:
                last_id = row.id
                if row.id in failed:
                    continue
                try:
                    written += await values.reseal(session, sealer, row)
                except SecretError:
                    failed.add(row.id)
        if rows and on_batch is not None:
            await on_batch()
        if len(rows) < batch_size:
            return written
