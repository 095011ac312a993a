"""The sandbox's durable state: API keys and usage corrections, optionally kept in a JSON file.

Secrets are never part of the state: a key's secret exists only in the answer that creates it.
"""

import dataclasses
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from . import catalog
from .replies import iso


@dataclass(frozen=True)
class Key:
    api_key_id: str
    project_id: str
    comment: str
    scopes: tuple[str, ...]
    created: datetime
    tags: tuple[str, ...] = ()
    expiration: datetime | None = None
    deleted: datetime | None = None

    def last_day(self) -> date | None:
        """The last UTC day the key could be used: its deletion or expiry day, if any."""
        ends = [moment.date() for moment in (self.deleted, self.expiration) if moment]
        return min(ends) if ends else None

    def is_expired(self, now: datetime) -> bool:
        return self.expiration is not None and self.expiration <= now

    def as_api_key(self) -> dict:
        """The `api_key` object of Deepgram's key answers; tags and expiry only when set."""
        data = {
            "api_key_id": self.api_key_id,
            "comment": self.comment,
            "scopes": list(self.scopes),
            "created": iso(self.created),
        }
        if self.tags:
            data["tags"] = list(self.tags)
        if self.expiration:
            data["expiration_date"] = iso(self.expiration)
        return data

    def to_json(self) -> dict:
        return {
            "api_key_id": self.api_key_id,
            "project_id": self.project_id,
            "comment": self.comment,
            "scopes": list(self.scopes),
            "tags": list(self.tags),
            "created": iso(self.created),
            "expiration_date": iso(self.expiration) if self.expiration else None,
            "deleted": iso(self.deleted) if self.deleted else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Key":
        return cls(
            api_key_id=data["api_key_id"],
            project_id=data["project_id"],
            comment=data["comment"],
            scopes=tuple(data["scopes"]),
            tags=tuple(data.get("tags") or ()),
            created=parse_moment(data["created"]),
            expiration=_optional_moment(data.get("expiration_date")),
            deleted=_optional_moment(data.get("deleted")),
        )


@dataclass(frozen=True)
class Override:
    """A late correction of one key's speech to text on one UTC day for one method (its models
    split as synthetic usage is split)."""

    requests: int
    hours: Decimal
    total_hours: Decimal


@dataclass(frozen=True)
class LineOverride:
    """A late correction of one line: a key's usage of one (endpoint, method, model) on one UTC
    day. It replaces that line whatever the rest of the day holds; no requests removes it."""

    requests: int
    hours: Decimal = Decimal(0)
    total_hours: Decimal = Decimal(0)
    agent_hours: Decimal = Decimal(0)
    tts_characters: int = 0
    tokens_in: int = 0
    tokens_out: int = 0


MethodWhere = tuple[str, date, str]  # key id, day, method
LineWhere = tuple[str, date, str, str, str]  # key id, day, endpoint, method, model


@dataclass(frozen=True)
class Corrections:
    """A snapshot of every correction, taken once per answer; `version` changes with any."""

    methods: dict[MethodWhere, Override] = dataclasses.field(default_factory=dict)
    lines: dict[LineWhere, LineOverride] = dataclasses.field(default_factory=dict)
    version: int = 0

    def days_of(self, key_id: str) -> set[date]:
        return {where[1] for where in (*self.methods, *self.lines) if where[0] == key_id}


def parse_moment(text: str) -> datetime:
    """An ISO 8601 timestamp; one without a zone is taken as UTC."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _optional_moment(text: str | None) -> datetime | None:
    return parse_moment(text) if text else None


def console_key(project_id: str) -> Key:
    return Key(
        api_key_id=catalog.console_key_id(project_id),
        project_id=project_id,
        comment=catalog.CONSOLE_KEY_COMMENT,
        scopes=catalog.CONSOLE_KEY_SCOPES,
        created=parse_moment(catalog.CONSOLE_KEY_CREATED),
    )


class State:
    """Keys and overrides behind one lock; every change is saved when a file is configured."""

    def __init__(self, project_ids: list[str], state_file: str | os.PathLike | None = None):
        self.project_ids = list(project_ids)
        self.path = Path(state_file) if state_file else None
        self.lock = threading.RLock()
        self.keys: dict[str, Key] = self._seeded()
        self.overrides: dict[MethodWhere, Override] = {}
        self.line_overrides: dict[LineWhere, LineOverride] = {}
        self.corrections_version = 0
        if self.path and self.path.exists():
            self._load()

    def _seeded(self) -> dict[str, Key]:
        return {key.api_key_id: key for key in map(console_key, self.project_ids)}

    def clear(self) -> None:
        """Back to the seeded console keys, no overrides (and saved so)."""
        with self.lock:
            self.keys = self._seeded()
            self.overrides, self.line_overrides = {}, {}
            self.corrections_version += 1
            self._save()

    def put(self, key: Key) -> None:
        with self.lock:
            self.keys[key.api_key_id] = key
            self._save()

    def live_key(self, project_id: str, key_id: str) -> Key | None:
        key = self.keys.get(key_id)
        if key is None or key.project_id != project_id or key.deleted:
            return None
        return key

    def project_keys(self, project_id: str, include_deleted: bool = False) -> list[Key]:
        """Keys of one project in creation order."""
        with self.lock:
            keys = [k for k in self.keys.values() if k.project_id == project_id]
        keys = [k for k in keys if include_deleted or not k.deleted]
        return sorted(keys, key=lambda k: (k.created, k.api_key_id))

    def keys_by_id(self, project_id: str, key_ids) -> list[Key]:
        """The named keys of one project (deleted ones too), in creation order; a lookup by id
        keeps a per-accessor call cheap however many keys the project has."""
        with self.lock:
            keys = [self.keys[k] for k in key_ids if k in self.keys]
        keys = [k for k in keys if k.project_id == project_id]
        return sorted(keys, key=lambda k: (k.created, k.api_key_id))

    def delete(self, project_id: str, key_id: str, when: datetime) -> bool:
        """Mark a live key deleted at `when`; False when there is no such live key."""
        with self.lock:
            key = self.live_key(project_id, key_id)
            if key is None:
                return False
            self.put(dataclasses.replace(key, deleted=when))
            return True

    def set_override(self, key_id: str, day: date, method: str, override: Override) -> None:
        with self.lock:
            self.overrides[key_id, day, method] = override
            self.corrections_version += 1
            self._save()

    def set_line_override(self, where: LineWhere, override: LineOverride) -> None:
        with self.lock:
            self.line_overrides[where] = override
            self.corrections_version += 1
            self._save()

    def corrections(self) -> Corrections:
        with self.lock:
            return Corrections(
                dict(self.overrides), dict(self.line_overrides), self.corrections_version
            )

    def _save(self) -> None:
        if self.path is None:
            return
        data = {
            "keys": [key.to_json() for key in self.keys.values()],
            "usage": [_override_json(k, o) for k, o in self.overrides.items()],
            "lines": [_line_json(k, o) for k, o in self.line_overrides.items()],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash mid-write never leaves a half file to load.
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1)
        os.replace(tmp, self.path)

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text())
            keys = [Key.from_json(item) for item in data.get("keys", [])]
            overrides = dict(map(_override_from_json, data.get("usage", [])))
            lines = dict(map(_line_from_json, data.get("lines", [])))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"Sandbox state file {self.path} is unreadable: {exc}") from exc
        self.keys.update((key.api_key_id, key) for key in keys)
        self.overrides.update(overrides)
        self.line_overrides.update(lines)


def _override_json(where: MethodWhere, override: Override) -> dict:
    key_id, day, method = where
    return {
        "key_id": key_id,
        "day": day.isoformat(),
        "method": method,
        "requests": override.requests,
        "hours": str(override.hours),
        "total_hours": str(override.total_hours),
    }


def _override_from_json(data: dict) -> tuple[MethodWhere, Override]:
    where = (data["key_id"], date.fromisoformat(data["day"]), data["method"])
    override = Override(int(data["requests"]), Decimal(data["hours"]), Decimal(data["total_hours"]))
    return where, override


_LINE_WHERE = ("key_id", "day", "endpoint", "method", "model")


def _line_json(where: LineWhere, override: LineOverride) -> dict:
    data = dict(zip(_LINE_WHERE, where, strict=True))
    data["day"] = where[1].isoformat()
    for name, value in dataclasses.asdict(override).items():
        data[name] = str(value) if isinstance(value, Decimal) else value
    return data


def _line_from_json(data: dict) -> tuple[LineWhere, LineOverride]:
    key_id, day, endpoint, method, model = (data[name] for name in _LINE_WHERE)
    numbers = {
        f.name: (Decimal if f.type is Decimal else int)(data[f.name])
        for f in dataclasses.fields(LineOverride)
    }
    return (key_id, date.fromisoformat(day), endpoint, method, model), LineOverride(**numbers)
