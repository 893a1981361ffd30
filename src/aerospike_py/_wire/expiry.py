"""Record expiry on the wire: void times and TTLs.

A record's void time is the second it expires, counted from :data:`CITRUS_EPOCH` (0: never). A
write carries a TTL (seconds from now, or one of the ``TTL_*`` values); a read reply carries the
void time, which clients report as a TTL again (:func:`ttl_of`). Pure arithmetic: callers pass
the clock reading.
"""

#: 2010-01-01T00:00:00Z in Unix seconds: the origin of void times.
CITRUS_EPOCH = 1262304000
#: The TTL clients report for a record that never expires (void time 0).
NEVER_EXPIRES = 0xFFFFFFFF
#: Wire TTLs of a write: the namespace's default TTL, never expire (-1), keep the record's (-2).
TTL_NAMESPACE_DEFAULT = 0
TTL_NEVER_EXPIRE = 0xFFFFFFFF
TTL_DONT_UPDATE = 0xFFFFFFFE


def citrus_seconds(unix_seconds: float) -> int:
    """Whole seconds since :data:`CITRUS_EPOCH` of a Unix time (the clock of void times)."""
    return int(unix_seconds) - CITRUS_EPOCH


def ttl_of(void_time: int, unix_now: float) -> int:
    """The TTL a client reports for ``void_time`` at Unix time ``unix_now``: :data:`NEVER_EXPIRES`
    for 0, else the seconds left, at least 1."""
    if not void_time:
        return NEVER_EXPIRES
    ttl = void_time + CITRUS_EPOCH - int(unix_now)
    return ttl if ttl > 0 else 1


def void_time_of(wire_ttl: int, citrus_now: int, default_ttl: int, current: int, exists: bool) -> int:
    """The void time a write with ``wire_ttl`` gives a record: ``default_ttl`` is the namespace's
    (0: never expire), ``current`` the record's void time when it ``exists``."""
    if wire_ttl == TTL_NEVER_EXPIRE:
        return 0
    if wire_ttl == TTL_DONT_UPDATE:
        if exists:
            return current
        wire_ttl = TTL_NAMESPACE_DEFAULT
    if wire_ttl == TTL_NAMESPACE_DEFAULT:
        return citrus_now + default_ttl if default_ttl else 0
    return citrus_now + wire_ttl
