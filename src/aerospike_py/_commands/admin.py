"""Admin commands (users, roles, privileges, allowlists, quotas): one definition each.

Arguments are checked here, before anything is sent: wrong types and unknown privileges raise
``InvalidArgError``, empty or over-long names and over-long passwords the ``AdminError`` the
server answers them with (60 / 70 / 62). Passwords are hashed with bcrypt as every Aerospike
client does, so the server never sees them in clear (except the external-auth login, which must
pass the clear password on for LDAP). No text built here ever contains a password or its hash.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._wire import admin as A
from ..exception import (
    ClientError,
    _error_from_result_code,
    _invalid_arg,
    _InvalidArgType,
    _InvalidArgValue,
)
from .base import MORE, Command

#: Result codes the server answers for a bad user name / role name / password.
INVALID_USER, INVALID_PASSWORD, INVALID_ROLE = 60, 62, 70


def _name(value: Any, what: str, code: int) -> bytes:
    """A user or role name as bytes: empty or over-long names raise, before anything is sent,
    the error the server answers them with (``code``: INVALID_USER 60 / INVALID_ROLE 70)."""
    if not isinstance(value, str):
        raise _InvalidArgType(f"{what} must be a str, got {type(value).__name__}")
    b = value.encode()
    if not b or len(b) > A.MAX_NAME:
        raise _error_from_result_code(code, f"{what} must be 1 to {A.MAX_NAME} bytes long, got {len(b)}")
    return b


def _user(value: Any) -> bytes:
    return _name(value, "user name", INVALID_USER)


def _role(value: Any) -> bytes:
    return _name(value, "role name", INVALID_ROLE)


def _password(value: Any) -> bytes:
    """The bcrypt hash of a password. Longer than the official clients accept: INVALID_PASSWORD
    (62, the server's code for a bad password; it only ever sees the hash). Empty or weak
    passwords are accepted, as the real server has no password policy. The text never holds
    the password."""
    if not isinstance(value, str):
        raise _InvalidArgType(f"password must be a str, got {type(value).__name__}")
    size = len(value.encode())
    if size > A.MAX_PASSWORD:
        raise _error_from_result_code(INVALID_PASSWORD, f"password must be at most {A.MAX_PASSWORD} bytes long, "
                                                        f"got {size}")
    return A.hash_password(value)


def _roles(roles: Any) -> list[str]:
    if not isinstance(roles, (list, tuple)) or not all(isinstance(r, str) for r in roles):
        raise _InvalidArgType("roles must be a list of str")
    if len(roles) > 255:
        raise _InvalidArgValue("at most 255 roles per call")
    for r in roles:
        _role(r)
    return list(roles)


def privilege_code(code: Any) -> int:
    """A ``PRIV_*`` code, or a canonical name (case-insensitive, ``_`` for ``-``)."""
    if isinstance(code, str):
        c = A.PRIVILEGE_CODES.get(code.strip().lower().replace("_", "-"))
        if c is None:
            raise _InvalidArgValue(f"unknown privilege name {code!r}")
        return c
    if isinstance(code, bool) or not isinstance(code, int) or code not in A.PRIVILEGE_NAMES:
        raise _InvalidArgValue(f"unknown privilege code {code!r}")
    return code


def _privileges(privileges: Any) -> list[A.PrivilegeTuple]:
    if not isinstance(privileges, (list, tuple)):
        raise _InvalidArgType("privileges must be a list of Privilege dicts")
    if len(privileges) > 255:
        raise _InvalidArgValue("at most 255 privileges per call")
    out = []
    for p in privileges:
        if not isinstance(p, dict) or "code" not in p:
            raise _InvalidArgType(f"a privilege must be a dict with 'code' (and optional 'ns', 'set'), got {p!r}")
        unknown = set(p) - {"code", "ns", "set"}
        if unknown:
            raise _InvalidArgValue(f"unknown privilege keys {sorted(unknown)}")
        code = privilege_code(p["code"])
        ns, set_name = p.get("ns") or "", p.get("set") or ""
        if not isinstance(ns, str) or not isinstance(set_name, str):
            raise _InvalidArgType("privilege 'ns' and 'set' must be str")
        # ClientError for a scope the privilege cannot have, as the original client raises.
        if code < A.SCOPED_MIN and (ns or set_name):
            raise ClientError(f"admin global privilege {A.PRIVILEGE_NAMES[code]!r} can't have a namespace or set")
        if set_name and not ns:
            raise ClientError(f"privilege {A.PRIVILEGE_NAMES[code]!r} has a set scope with an empty namespace")
        if len(ns.encode()) > 31 or len(set_name.encode()) > 63:
            raise _InvalidArgValue("privilege namespace or set name too long")
        out.append((code, ns, set_name))
    return out


def _whitelist(whitelist: Any) -> list[str]:
    if whitelist is None:
        return []
    if not isinstance(whitelist, (list, tuple)) or not all(isinstance(a, str) and a for a in whitelist):
        raise _InvalidArgType("whitelist must be a list of non-empty address strings")
    return list(whitelist)


def _quota(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise _invalid_arg(f"{what} must be an int in 0..2**32-1, got {value!r}", value)
    return value


# -- replies --------------------------------------------------------------------------------

def _raise(code: int, cmd: Command, node: str) -> None:
    raise _error_from_result_code(code, f"{cmd.extra[0]} failed on node {node}", node=node)


def _check(cmd: Command, body: Any, node: str) -> None:
    code = A.reply_result(body)
    if code:
        _raise(code, cmd, node)


def _user_info(fields: dict[int, bytes]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "user": fields.get(A.USER, b"").decode(),
        "roles": A.parse_roles(fields.get(A.ROLES, b"")),
        "conns_in_use": A.read_u32(fields.get(A.CONNECTIONS, b"")),
    }
    if A.READ_INFO in fields:
        out["read_info"] = A.parse_info(fields[A.READ_INFO])
    if A.WRITE_INFO in fields:
        out["write_info"] = A.parse_info(fields[A.WRITE_INFO])
    return out


def _role_info(fields: dict[int, bytes]) -> dict[str, Any]:
    return {
        "name": fields.get(A.ROLE, b"").decode(),
        "privileges": [{"code": c, "ns": ns, "set": s} for c, ns, s in A.parse_privileges(fields.get(A.PRIVILEGES, b""))],
        "allowlist": A.parse_whitelist(fields.get(A.WHITELIST, b"")),
        "read_quota": A.read_u32(fields.get(A.READ_QUOTA, b"")),
        "write_quota": A.read_u32(fields.get(A.WRITE_QUOTA, b"")),
    }


def _stream(cmd: Command, body: Any, node: str) -> Any:
    """Accumulate the records of a query reply; the list once ``QUERY_END`` arrives."""
    what, convert, acc, single = cmd.extra
    for result, _, fields in A.iter_records(body):
        if result == A.QUERY_END:
            out = list(acc)
            acc.clear()
            if single:
                if not out:
                    raise _error_from_result_code(INVALID_USER if what.startswith("admin_query_user") else INVALID_ROLE,
                                                 f"{what} failed on node {node}: not found", node=node)
                return out[0]
            return out
        if result:
            acc.clear()
            _raise(result, cmd, node)
        if fields:
            acc.append(convert(fields))
    return MORE


def _cmd(what: str, command: int, fields: Sequence[A.Field], policy: Any) -> Command:
    return Command(None, A.pack_admin(command, fields), True, _check, policy, (what,))


def _query(what: str, command: int, fields: Sequence[A.Field], policy: Any, convert: Any, single: bool) -> Command:
    cmd = Command(None, A.pack_admin(command, fields), False, _stream, policy, (what, convert, [], single))
    cmd.stream = True
    return cmd


# -- users ----------------------------------------------------------------------------------

def create_user(user: Any, password: Any, roles: Any, policy: Any) -> Command:
    u, r = _user(user), _roles(roles)
    return _cmd("admin_create_user", A.CREATE_USER,
                [(A.USER, u), (A.PASSWORD, _password(password)), (A.ROLES, A.pack_roles(r))], policy)


def drop_user(user: Any, policy: Any) -> Command:
    return _cmd("admin_drop_user", A.DROP_USER, [(A.USER, _user(user))], policy)


def set_password(user: Any, password: Any, policy: Any) -> Command:
    u = _user(user)
    return _cmd("admin_change_password", A.SET_PASSWORD, [(A.USER, u), (A.PASSWORD, _password(password))], policy)


def change_password(user: Any, old_hash: bytes, password: Any, policy: Any) -> Command:
    """The caller's own password: the server checks the old hash."""
    u = _user(user)
    return _cmd("admin_change_password", A.CHANGE_PASSWORD,
                [(A.USER, u), (A.OLD_PASSWORD, old_hash), (A.PASSWORD, _password(password))], policy)


def grant_roles(user: Any, roles: Any, policy: Any) -> Command:
    u, r = _user(user), _roles(roles)
    return _cmd("admin_grant_roles", A.GRANT_ROLES, [(A.USER, u), (A.ROLES, A.pack_roles(r))], policy)


def revoke_roles(user: Any, roles: Any, policy: Any) -> Command:
    u, r = _user(user), _roles(roles)
    return _cmd("admin_revoke_roles", A.REVOKE_ROLES, [(A.USER, u), (A.ROLES, A.pack_roles(r))], policy)


def query_user(user: Any, policy: Any) -> Command:
    return _query("admin_query_user_info", A.QUERY_USERS, [(A.USER, _user(user))], policy,
                  _user_info, True)


def query_users(policy: Any) -> Command:
    return _query("admin_query_users_info", A.QUERY_USERS, (), policy, _user_info, False)


# -- roles ----------------------------------------------------------------------------------

def create_role(role: Any, privileges: Any, whitelist: Any, read_quota: Any, write_quota: Any,
                policy: Any) -> Command:
    r = _role(role)
    privs, wl = _privileges(privileges), _whitelist(whitelist)
    rq, wq = _quota(read_quota, "read_quota"), _quota(write_quota, "write_quota")
    fields: list[A.Field] = [(A.ROLE, r)]
    if privs:
        fields.append((A.PRIVILEGES, A.pack_privileges(privs)))
    if wl:
        fields.append((A.WHITELIST, A.pack_whitelist(wl)))
    if rq:
        fields.append((A.READ_QUOTA, A.u32(rq)))
    if wq:
        fields.append((A.WRITE_QUOTA, A.u32(wq)))
    return _cmd("admin_create_role", A.CREATE_ROLE, fields, policy)


def drop_role(role: Any, policy: Any) -> Command:
    return _cmd("admin_drop_role", A.DROP_ROLE, [(A.ROLE, _role(role))], policy)


def grant_privileges(role: Any, privileges: Any, policy: Any) -> Command:
    r, privs = _role(role), _privileges(privileges)
    return _cmd("admin_grant_privileges", A.GRANT_PRIVILEGES, [(A.ROLE, r), (A.PRIVILEGES, A.pack_privileges(privs))],
                policy)


def revoke_privileges(role: Any, privileges: Any, policy: Any) -> Command:
    r, privs = _role(role), _privileges(privileges)
    return _cmd("admin_revoke_privileges", A.REVOKE_PRIVILEGES,
                [(A.ROLE, r), (A.PRIVILEGES, A.pack_privileges(privs))], policy)


def set_whitelist(role: Any, whitelist: Any, policy: Any) -> Command:
    r, wl = _role(role), _whitelist(whitelist)
    fields: list[A.Field] = [(A.ROLE, r)]
    if wl:
        fields.append((A.WHITELIST, A.pack_whitelist(wl)))
    return _cmd("admin_set_whitelist", A.SET_WHITELIST, fields, policy)


def set_quotas(role: Any, read_quota: Any, write_quota: Any, policy: Any) -> Command:
    r = _role(role)
    rq, wq = _quota(read_quota, "read_quota"), _quota(write_quota, "write_quota")
    return _cmd("admin_set_quotas", A.SET_QUOTAS,
                [(A.ROLE, r), (A.READ_QUOTA, A.u32(rq)), (A.WRITE_QUOTA, A.u32(wq))], policy)


def query_role(role: Any, policy: Any) -> Command:
    return _query("admin_query_role", A.QUERY_ROLES, [(A.ROLE, _role(role))], policy, _role_info, True)


def query_roles(policy: Any) -> Command:
    return _query("admin_query_roles", A.QUERY_ROLES, (), policy, _role_info, False)
