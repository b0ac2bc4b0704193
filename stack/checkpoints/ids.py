"""Checkpoint ids as time: a langgraph checkpoint id is a time-ordered uuid6, so it tells when the checkpoint was
written, and the smallest id of a moment bounds a range query on time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

_UUID_EPOCH_100NS = 0x01B21DD213814000  # 100-ns intervals from 1582-10-15 to 1970-01-01


def checkpoint_time(checkpoint_id: str | None) -> datetime | None:
    """When a checkpoint was written, from its time-ordered uuid6 id (to the microsecond, no float rounding);
    None for ids of another kind."""
    if not checkpoint_id:
        return None
    number = _uuid_int(checkpoint_id)
    if number is None or (number >> 62) & 0b11 != 0b10 or (number >> 76) & 0xF != 6:  # RFC 4122 variant, version 6
        return None
    ticks = ((number >> 80) << 12) | ((number >> 64) & 0x0FFF)
    return _UNIX_EPOCH + timedelta(microseconds=(ticks - _UUID_EPOCH_100NS) // 10)


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _uuid_int(text: str) -> int | None:
    """The 128-bit number of a uuid's text, read as uuid.UUID reads it (without importing uuid, which a cold
    command would pay for with `platform`)."""
    if not isinstance(text, str):
        return None
    digits = text.replace("urn:", "").replace("uuid:", "").strip("{}").replace("-", "")
    if len(digits) != 32:
        return None
    try:
        return int(digits, 16)
    except ValueError:
        return None


def checkpoint_id_floor(when: datetime) -> str:
    """The smallest uuid6 checkpoint id written at or after `when`: ids compare as strings in time order, so
    `checkpoint_id >= checkpoint_id_floor(t)` selects what was written since t."""
    ticks = (when - _UNIX_EPOCH) // timedelta(microseconds=1) * 10 + _UUID_EPOCH_100NS
    value = ((ticks >> 12) << 80) | (6 << 76) | ((ticks & 0x0FFF) << 64) | (1 << 63)  # RFC 4122 variant
    digits = f"{value:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
