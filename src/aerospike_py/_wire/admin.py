"""Admin (security) frames, sans-IO: proto type 2 messages for login, users, roles and privileges.

A frame is the 8-byte proto header (version 2, type 2), a 16-byte admin header (byte 1: result
code in replies, byte 2: command, byte 3: field count, the rest zero) and fields (4-byte size
counting the id byte, 1-byte id, data). Query replies are streams of such records (each with its
own 16-byte header) over one or more frames, ended by a record whose result is ``QUERY_END`` (50).
Both the client and the embedded server use this module.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

from .constants import PROTO_TYPE_ADMIN
from .proto import pack_proto_header

# Commands.
AUTHENTICATE = 0
CREATE_USER = 1
DROP_USER = 2
SET_PASSWORD = 3
CHANGE_PASSWORD = 4
GRANT_ROLES = 5
REVOKE_ROLES = 6
QUERY_USERS = 9
CREATE_ROLE = 10
DROP_ROLE = 11
GRANT_PRIVILEGES = 12
REVOKE_PRIVILEGES = 13
SET_WHITELIST = 14
SET_QUOTAS = 15
QUERY_ROLES = 16
LOGIN = 20

# Field ids.
USER = 0
PASSWORD = 1
OLD_PASSWORD = 2
CREDENTIAL = 3
CLEAR_PASSWORD = 4
SESSION_TOKEN = 5
SESSION_TTL = 6
ROLES = 10
ROLE = 11
PRIVILEGES = 12
WHITELIST = 13
READ_QUOTA = 14
WRITE_QUOTA = 15
READ_INFO = 16
WRITE_INFO = 17
CONNECTIONS = 18

#: Result code that ends a query stream.
QUERY_END = 50
HEADER_SIZE = 16

#: Longest user / role name in bytes (the server's 64-byte buffers hold a NUL); longer or empty
#: names are refused INVALID_USER (60) / INVALID_ROLE (70).
MAX_NAME = 63
#: Longest password in bytes the official clients accept (bcrypt itself ignores bytes past 72).
MAX_PASSWORD = 63

#: The fixed bcrypt salt (cost 10) every Aerospike client hashes passwords with.
BCRYPT_SALT = b"$2a$10$7EqJtq98hPqEX7fNZaFWoO"

#: Privilege codes by canonical name, and which of them may be scoped to a namespace / set.
PRIVILEGE_CODES: dict[str, int] = {
    "user-admin": 0, "sys-admin": 1, "data-admin": 2, "udf-admin": 3, "sindex-admin": 4,
    "read": 10, "read-write": 11, "read-write-udf": 12, "write": 13, "truncate": 14,
}
PRIVILEGE_NAMES: dict[int, str] = {v: k for k, v in PRIVILEGE_CODES.items()}
SCOPED_MIN = 10  # codes >= 10 are data privileges (global, namespace or namespace + set)

_FIELD = struct.Struct(">IB")
_U32 = struct.Struct(">I")
_HEADER = struct.Struct(">BBBB12x")

Field = tuple[int, bytes]
PrivilegeTuple = tuple[int, str, str]


def hash_password(password: str) -> bytes:
    """The bcrypt hash of ``password`` with the clients' fixed salt (what the server stores)."""
    try:
        import bcrypt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "password authentication needs the 'bcrypt' package: pip install 'aerospike-purepy[security]'"
        ) from None
    return bcrypt.hashpw(password.encode(), BCRYPT_SALT)


def pack_admin(command: int, fields: Sequence[Field], result: int = 0) -> bytes:
    """A whole admin frame: proto header, admin header, fields."""
    parts = [_HEADER.pack(0, result, command, len(fields))]
    for fid, data in fields:
        parts.append(_FIELD.pack(len(data) + 1, fid))
        parts.append(data)
    body = b"".join(parts)
    return pack_proto_header(PROTO_TYPE_ADMIN, len(body)) + body


def pack_record(result: int, fields: Sequence[Field]) -> bytes:
    """One record of a reply stream (16-byte header and fields; no proto header)."""
    parts = [_HEADER.pack(0, result, 0, len(fields))]
    for fid, data in fields:
        parts.append(_FIELD.pack(len(data) + 1, fid))
        parts.append(data)
    return b"".join(parts)


def pack_stream(records: Sequence[bytes]) -> bytes:
    """Records of a query reply in one frame, plus the terminating ``QUERY_END`` record frame."""
    out = b""
    body = b"".join(records)
    if body:
        out = pack_proto_header(PROTO_TYPE_ADMIN, len(body)) + body
    end = pack_record(QUERY_END, ())
    return out + pack_proto_header(PROTO_TYPE_ADMIN, len(end)) + end


def iter_records(body: bytes | memoryview) -> Iterator[tuple[int, int, dict[int, bytes]]]:
    """``(result, command, {field id: data})`` for each record in a frame body."""
    data = bytes(body)
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < HEADER_SIZE:
            raise ValueError("truncated admin header")
        _, result, command, n = _HEADER.unpack_from(data, pos)
        pos += HEADER_SIZE
        fields: dict[int, bytes] = {}
        for _ in range(n):
            if end - pos < 5:
                raise ValueError("truncated admin field")
            size, fid = _FIELD.unpack_from(data, pos)
            if size < 1 or pos + 4 + size > end:
                raise ValueError("bad admin field size")
            fields[fid] = data[pos + 5:pos + 4 + size]
            pos += 4 + size
        yield result, command, fields


def u32(value: int) -> bytes:
    return _U32.pack(value)


def read_u32(data: bytes) -> int:
    return _U32.unpack_from(data, 0)[0] if len(data) >= 4 else 0


def pack_roles(roles: Sequence[str]) -> bytes:
    out = bytearray([len(roles)])
    for r in roles:
        b = r.encode()
        out.append(len(b))
        out += b
    return bytes(out)


def parse_roles(data: bytes) -> list[str]:
    if not data:
        return []
    n, pos, out = data[0], 1, []
    for _ in range(n):
        size = data[pos]
        out.append(data[pos + 1:pos + 1 + size].decode())
        pos += 1 + size
    return out


def pack_privileges(privileges: Sequence[PrivilegeTuple]) -> bytes:
    """``(code, ns, set)`` tuples; namespace and set are written for data privileges only."""
    out = bytearray([len(privileges)])
    for code, ns, set_name in privileges:
        out.append(code)
        if code >= SCOPED_MIN:
            for s in (ns, set_name):
                b = s.encode()
                out.append(len(b))
                out += b
    return bytes(out)


def parse_privileges(data: bytes) -> list[PrivilegeTuple]:
    if not data:
        return []
    n, pos, out = data[0], 1, []
    for _ in range(n):
        code = data[pos]
        pos += 1
        ns = set_name = ""
        if code >= SCOPED_MIN:
            size = data[pos]
            ns = data[pos + 1:pos + 1 + size].decode()
            pos += 1 + size
            size = data[pos]
            set_name = data[pos + 1:pos + 1 + size].decode()
            pos += 1 + size
        out.append((code, ns, set_name))
    return out


def pack_whitelist(addresses: Sequence[str]) -> bytes:
    return ",".join(addresses).encode()


def parse_whitelist(data: bytes) -> list[str]:
    return [a for a in data.decode().split(",") if a]


def pack_info(values: Sequence[int]) -> bytes:
    """READ_INFO / WRITE_INFO: a count byte and that many u32."""
    return bytes([len(values)]) + b"".join(_U32.pack(v) for v in values)


def parse_info(data: bytes) -> list[int]:
    if not data:
        return []
    return [_U32.unpack_from(data, 1 + 4 * i)[0] for i in range(data[0])]


# -- login / authenticate (the requests every new connection may need) ---------------------

def login_request(mode: int, user: str | None, credential: bytes | None, clear_password: str | None) -> bytes:
    """LOGIN: internal (user, credential), external (+ clear password) or PKI (no fields)."""
    if mode == 2:
        return pack_admin(LOGIN, ())
    fields: list[Field] = [(USER, (user or "").encode()), (CREDENTIAL, credential or b"")]
    if mode == 1:
        fields.append((CLEAR_PASSWORD, (clear_password or "").encode()))
    return pack_admin(LOGIN, fields)


def authenticate_request(mode: int, user: str | None, token: bytes) -> bytes:
    """AUTHENTICATE a new connection with a session token (PKI: the token alone)."""
    if mode == 2:
        return pack_admin(AUTHENTICATE, [(SESSION_TOKEN, token)])
    return pack_admin(AUTHENTICATE, [(USER, (user or "").encode()), (SESSION_TOKEN, token)])


def parse_login_reply(body: bytes | memoryview) -> tuple[int, bytes | None, int]:
    """``(result, session token or None, session ttl seconds)`` of a LOGIN reply."""
    for result, _, fields in iter_records(body):
        token = fields.get(SESSION_TOKEN)
        ttl = read_u32(fields[SESSION_TTL]) if SESSION_TTL in fields else 0
        return result, token, ttl
    raise ValueError("empty admin reply")


def reply_result(body: bytes | memoryview) -> int:
    """The result code of a single-record admin reply."""
    if len(body) < HEADER_SIZE:
        raise ValueError("truncated admin reply")
    return body[1]
