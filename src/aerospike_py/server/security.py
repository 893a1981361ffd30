"""Security of the embedded server: users, roles, privileges, sessions, allowlists, quotas.

On when a node is made with ``security=True`` (shared by every node of an embedded cluster, as
the real cluster shares its user database). Like the real server:

* a connection must LOGIN (user + bcrypt hash; external mode: clear password; PKI: the name in
  its TLS client certificate) or AUTHENTICATE with a session token before any other request;
  otherwise commands answer NOT_AUTHENTICATED (80) and an info request the one line
  ``ERROR:80:not authenticated`` (no command names, as the real server answers);
* a session token expires after ``session_ttl`` seconds of server time (``clock.advance``);
  AUTHENTICATE with an expired one answers EXPIRED_SESSION (66), with an unknown one
  INVALID_CREDENTIAL (65); a connection authenticated with it (by that LOGIN or AUTHENTICATE)
  answers NOT_AUTHENTICATED (80) from then on, so the client logs in again; dropping a user or
  changing its password ends its sessions;
* every command is checked against the privileges of the user's roles (global, namespace or
  namespace + set scope): reads, writes, UDF calls, batches (every entry), scans/queries,
  truncate, index and UDF management, config changes and the admin commands themselves, with
  ROLE_VIOLATION (81) on refusal;
* a role's allowlist restricts the client addresses its users may log in from (82); a role's
  read/write quota (records per second of server time) is enforced per user at each node (83);
  a scan/query is admitted by its declared rate, which stays reserved while it runs;
* predefined roles (one per privilege, global scope) and the default user ``admin``/``admin``
  with the ``user-admin`` role exist from the start.
"""

from __future__ import annotations

import ipaddress
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._wire import admin as A
from .._wire import constants as W
from .._wire.info import pack_info_response
from .._wire.message import MSG_HEADER
from .._wire.proto import pack_proto_header

# Permission bits.
READ, WRITE, UDF, TRUNCATE, SINDEX, UDF_ADMIN, SYS_ADMIN, USER_ADMIN, QUERY_ADMIN = (1 << i for i in range(9))
#: What each privilege code permits. data-admin: index, UDF and query management and truncate;
#: sys-admin: those plus configuration, logging and service control (the clients' documentation:
#: "manage indexes, user-defined functions and server configuration").
_DATA_ADMIN = SINDEX | UDF_ADMIN | TRUNCATE | QUERY_ADMIN
PERMS: dict[int, int] = {
    0: USER_ADMIN, 1: SYS_ADMIN | _DATA_ADMIN, 2: _DATA_ADMIN, 3: UDF_ADMIN, 4: SINDEX,
    10: READ, 11: READ | WRITE, 12: READ | WRITE | UDF, 13: WRITE, 14: TRUNCATE,
}
PREDEFINED = tuple(A.PRIVILEGE_CODES)

# Result codes.
OK, INVALID_COMMAND, INVALID_FIELD = 0, 54, 55
INVALID_USER, USER_ALREADY_EXISTS, INVALID_PASSWORD, INVALID_CREDENTIAL, EXPIRED_SESSION = 60, 61, 62, 65, 66
INVALID_ROLE, ROLE_ALREADY_EXISTS, INVALID_PRIVILEGE, INVALID_WHITELIST = 70, 71, 72, 73
QUOTAS_NOT_ENABLED, INVALID_QUOTA = 74, 75
NOT_AUTHENTICATED, ROLE_VIOLATION, NOT_WHITELISTED, QUOTA_EXCEEDED = 80, 81, 82, 83

#: The hash of "admin" with the clients' salt: the default admin's password.
_ADMIN_HASH = b"$2a$10$7EqJtq98hPqEX7fNZaFWoO1mVO/4MLpGzsqojz6E9Gef6iXDjXdDa"

#: Info commands that need a permission (else authentication is enough): the permission bit and
#: the real server's name of the permission it checks (named in the refusal's text).
_INFO_PERMS: dict[str, tuple[int, str]] = {
    **dict.fromkeys(("truncate", "truncate-namespace", "truncate-undo", "truncate-namespace-undo"),
                    (TRUNCATE, "truncate")),
    **dict.fromkeys(("sindex-create", "sindex-delete", "sindex-exists"), (SINDEX, "sindex-admin")),
    **dict.fromkeys(("udf-put", "udf-remove", "udf-clear-cache"), (UDF_ADMIN, "udf-admin")),
    **dict.fromkeys(("query-abort", "query-abort-all"), (QUERY_ADMIN, "query-admin")),
    **dict.fromkeys(("set-config", "config-set"), (SYS_ADMIN, "set-config")),
    **dict.fromkeys(("log-set", "set-log", "log-message", "jem-stats", "dump-cluster", "dump-fabric", "dump-hb",
                     "dump-hlc", "dump-migrates", "dump-rw", "dump-skew", "dump-wb-summary"),
                    (SYS_ADMIN, "logging-ctrl")),
    **dict.fromkeys(("recluster", "quiesce", "quiesce-undo", "revive", "roster-set", "tip", "tip-clear",
                     "services-alumni-reset"), (SYS_ADMIN, "service-ctrl")),
}
#: The real server's answer to an info request on a connection that has not authenticated: one
#: line for the whole request, without the command names.
NOT_AUTHENTICATED_INFO = b"ERROR:80:not authenticated\n"


class Refused(Exception):
    """A request refused with a result code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class User:
    name: str
    credential: bytes
    roles: list[str] = field(default_factory=list)


@dataclass
class Role:
    name: str
    privileges: list[A.PrivilegeTuple] = field(default_factory=list)
    whitelist: list[str] = field(default_factory=list)
    read_quota: int = 0
    write_quota: int = 0


def _valid_name(data: bytes | None) -> str | None:
    if not data or len(data) > A.MAX_NAME:
        return None
    try:
        name = data.decode()
    except UnicodeDecodeError:
        return None
    return None if any(c in name for c in ";:\x00") else name


def _valid_address(a: str) -> bool:
    try:
        ipaddress.ip_network(a, strict=False)
    except ValueError:
        return False
    return True


class Security:
    """The user database, sessions and permission checks (one per embedded server or cluster)."""

    def __init__(self, clock: Any, session_ttl: int = 86400, quotas: bool = True,
                 pki_users: Callable[[Any], str | None] | None = None) -> None:
        self.clock = clock
        self.session_ttl = session_ttl
        self.quotas_enabled = quotas
        self.users: dict[str, User] = {"admin": User("admin", _ADMIN_HASH, ["user-admin"])}
        self.roles: dict[str, Role] = {n: Role(n, [(c, "", "")]) for n, c in A.PRIVILEGE_CODES.items()}
        self.sessions: dict[bytes, tuple[str, float]] = {}
        #: Per user: how many times :meth:`revoke_sessions` cut its live connections off.
        self.revocations: dict[str, int] = {}
        #: (node, user) -> (second, [reads, writes] of single records in that second of server time).
        #: Quotas apply at each node, as on a real cluster.
        self.usage: dict[tuple[Any, str], tuple[int, list[int]]] = {}
        #: (node, user) -> [read, write] records per second reserved by its running scans/queries.
        self.reserved: dict[tuple[Any, str], list[int]] = {}
        self.pki_user: Callable[[Any], str | None] = pki_users or _cert_common_name
        #: Successful LOGINs and AUTHENTICATEs (with a session token), for tests and tools.
        self.logins: int = 0
        self.authentications: int = 0

    # ------------------------------------------------------------------ users, test helpers

    def add_user(self, name: str, password: str, roles: list[str]) -> None:
        """Create a user directly (tests, fixtures)."""
        self.users[name] = User(name, A.hash_password(password), list(roles))

    def add_role(self, name: str, privileges: list[A.PrivilegeTuple], whitelist: list[str] | None = None,
                 read_quota: int = 0, write_quota: int = 0) -> None:
        self.roles[name] = Role(name, list(privileges), list(whitelist or []), read_quota, write_quota)

    def revoke_sessions(self, user: str) -> None:
        """Test tool: forget the user's session tokens and de-authenticate its live connections,
        which answer NOT_AUTHENTICATED (80) from then on, as a node does that no longer holds a
        connection's session. The user logs in again as before."""
        self._end_sessions(user)
        self.revocations[user] = self.revocations.get(user, 0) + 1

    def _end_sessions(self, user: str) -> None:
        for token in [t for t, (u, _) in self.sessions.items() if u == user]:
            del self.sessions[token]

    # ------------------------------------------------------------------ permissions

    def _roles_of(self, user: User) -> list[Role]:
        return [self.roles[r] for r in user.roles if r in self.roles]

    def allowed(self, user: User, perm: int, ns: str = "", set_name: str = "") -> bool:
        for role in self._roles_of(user):
            for code, pns, pset in role.privileges:
                if PERMS.get(code, 0) & perm and (not pns or (pns == ns and (not pset or pset == set_name))):
                    return True
        return False

    def _whitelisted(self, user: User, address: str) -> bool:
        lists = [a for r in self._roles_of(user) for a in r.whitelist]
        if not lists:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(a, strict=False) for a in lists if _valid_address(a))

    def _quota(self, user: User, write: bool) -> int:
        quotas = [(r.write_quota if write else r.read_quota) for r in self._roles_of(user)]
        quotas = [q for q in quotas if q]
        return max(quotas) if quotas else 0

    def _used(self, key: tuple[Any, str], second: int) -> tuple[list[int], list[int]]:
        """This second's single-record counts and the running scans' reserved rates of ``key``."""
        sec, counts = self.usage.get(key, (second, [0, 0]))
        return (counts if sec == second else [0, 0]), self.reserved.get(key, [0, 0])

    def _charge(self, conn: Any, user: User, reads: int, writes: int) -> None:
        """Count records against the user's quotas at this node for this second (with the rates
        its running scans/queries reserve); QUOTA_EXCEEDED past them."""
        if not self.quotas_enabled:
            return
        second = int(self.clock.time())
        key = (getattr(conn, "node", None), user.name)
        counts, reserved = self._used(key, second)
        rq, wq = self._quota(user, False), self._quota(user, True)
        if ((reads and rq and counts[0] + reserved[0] + reads > rq)
                or (writes and wq and counts[1] + reserved[1] + writes > wq)):
            raise Refused(QUOTA_EXCEEDED)
        counts[0] += reads
        counts[1] += writes
        self.usage[key] = (second, counts)

    def _admit(self, conn: Any, user: User, rps: int, write: bool) -> None:
        """A scan/query asking for ``rps`` records per second (0: unlimited), as the real server
        admits one: under a quota it must ask for a rate, and that rate plus this second's single
        records plus the rates of the user's scans still running must fit the quota. The rate
        stays reserved until the scan ends (:meth:`release`; the hold is left on ``conn.rps_hold``
        for the node to release once its last frame is sent); its records are not counted one by
        one."""
        quota = self._quota(user, write) if self.quotas_enabled else 0
        if not quota:
            return
        key = (getattr(conn, "node", None), user.name)
        counts, reserved = self._used(key, int(self.clock.time()))
        i = 1 if write else 0
        if rps == 0 or counts[i] + reserved[i] + rps > quota:
            raise Refused(QUOTA_EXCEEDED)
        self.reserved.setdefault(key, [0, 0])[i] += rps
        conn.rps_hold = (key, i, rps)

    def release(self, hold: tuple[tuple[Any, str], int, int]) -> None:
        """A scan/query admitted by :meth:`_admit` ended: its rate no longer counts."""
        key, i, rps = hold
        reserved = self.reserved.get(key)
        if reserved is not None:
            reserved[i] = max(0, reserved[i] - rps)
            if reserved == [0, 0]:
                del self.reserved[key]

    def user_of(self, conn: Any) -> User:
        """The connection's user, or NOT_AUTHENTICATED (also when the user was dropped)."""
        name: str | None = getattr(conn, "user", None)
        if name is None:
            raise Refused(NOT_AUTHENTICATED)
        user = self.users.get(name)
        if (user is None or conn.revocation != self.revocations.get(name, 0)
                or self.clock.time() >= conn.session_expires):
            raise Refused(NOT_AUTHENTICATED)
        return user

    def check_message(self, conn: Any, body: bytes) -> int:
        """0, or the result code refusing this type-3 request (a batch: only its authentication;
        its entries are checked one by one, :meth:`check_entry`)."""
        try:
            user = self.user_of(conn)
            needs = _message_needs(body)
            if needs is None:
                return OK
            rps = _scan_rps(body)
            if rps is not None:  # a scan/query: admitted by its declared rate, not per record
                perm, ns, set_name, write = needs[0]
                if not self.allowed(user, perm, ns, set_name):
                    return ROLE_VIOLATION
                self._admit(conn, user, rps, write)
                return OK
            for perm, ns, set_name, _ in needs:
                if not self.allowed(user, perm, ns, set_name):
                    return ROLE_VIOLATION
            self._charge(conn, user, sum(1 for n in needs if not n[3]), sum(1 for n in needs if n[3]))
        except Refused as e:
            return e.code
        return OK

    def check_entry(self, conn: Any, info2: int, fields: dict[int, bytes]) -> int:
        """0, or the result code refusing one batch entry: like the real server, which checks
        (and counts against the quotas) every batch sub-transaction on its own, so a batch mixing
        permitted and refused namespaces/sets gets per-record results."""
        try:
            user = self.user_of(conn)
            perm, ns, set_name, write = _need(info2, fields, fields.get(W.FIELD_NAMESPACE, b"").decode(errors="replace"),
                                              fields.get(W.FIELD_SET, b"").decode(errors="replace"))
            if not self.allowed(user, perm, ns, set_name):
                return ROLE_VIOLATION
            self._charge(conn, user, 0 if write else 1, 1 if write else 0)
        except Refused as e:
            return e.code
        return OK

    def check_info(self, user: User, command: str) -> str | None:
        """``None`` when ``user`` may run the info command, else the error text to answer instead
        (the real server's: ``ERROR:81:role violation - requires permission 'truncate'``)."""
        name, _, params = command.partition(":")
        need = _INFO_PERMS.get(name)
        if need is None:
            return None
        kv = dict(p.partition("=")[::2] for p in params.split(";") if p)
        if not self.allowed(user, need[0], kv.get("namespace", kv.get("ns", "")), kv.get("set", "")):
            return f"ERROR:81:role violation - requires permission '{need[1]}'"
        return None

    # ------------------------------------------------------------------ admin frames

    def handle_admin(self, node: Any, conn: Any, body: bytes) -> list[bytes]:
        """Answer one admin frame (login, authenticate, user and role management, queries)."""
        try:
            records = list(A.iter_records(body))
        except ValueError:
            return [A.pack_admin(0, (), INVALID_COMMAND)]
        if not records:
            return [A.pack_admin(0, (), INVALID_COMMAND)]
        _, command, fields = records[0]
        try:
            if command == A.LOGIN:
                return [self._login(conn, fields)]
            if command == A.AUTHENTICATE:
                self._authenticate(conn, fields)
                return [A.pack_admin(0, ())]
            user = self.user_of(conn)
            if command == A.QUERY_USERS:
                return [self._query_users(node, user, fields)]
            if command == A.QUERY_ROLES:
                return [self._query_roles(user, fields)]
            handler = _ADMIN_COMMANDS.get(command)
            if handler is None:
                raise Refused(INVALID_COMMAND)
            own = command == A.CHANGE_PASSWORD and fields.get(A.USER, b"").decode(errors="replace") == user.name
            if not own and not self.allowed(user, USER_ADMIN):
                raise Refused(ROLE_VIOLATION)
            if command == A.CHANGE_PASSWORD:
                self.change_password(fields, user)
            else:
                handler(self, fields)
        except Refused as e:
            return [A.pack_admin(0, (), e.code)]
        return [A.pack_admin(0, ())]

    def _login(self, conn: Any, fields: dict[int, bytes]) -> bytes:
        if not fields:  # PKI: the user named by the client certificate
            name = self.pki_user(conn)
            user = self.users.get(name) if name else None
            if user is None:
                raise Refused(INVALID_CREDENTIAL if name is None else INVALID_USER)
        else:
            name = fields.get(A.USER, b"").decode(errors="replace")
            user = self.users.get(name)
            if user is None:
                raise Refused(INVALID_USER)
            if A.CLEAR_PASSWORD in fields:  # external: the clear password stands for LDAP's check
                ok = A.hash_password(fields[A.CLEAR_PASSWORD].decode(errors="replace")) == user.credential
            else:
                ok = secrets.compare_digest(fields.get(A.CREDENTIAL, b""), user.credential)
            if not ok:
                raise Refused(INVALID_CREDENTIAL)
        if not self._whitelisted(user, _peer_ip(conn)):
            raise Refused(NOT_WHITELISTED)
        token = secrets.token_bytes(32)
        expires = self.clock.time() + self.session_ttl
        self.sessions[token] = (user.name, expires)
        conn.user = user.name
        conn.revocation = self.revocations.get(user.name, 0)
        conn.session_expires = expires
        self.logins += 1
        return A.pack_admin(0, [(A.SESSION_TOKEN, token), (A.SESSION_TTL, A.u32(self.session_ttl))])

    def _authenticate(self, conn: Any, fields: dict[int, bytes]) -> None:
        session = self.sessions.get(fields.get(A.SESSION_TOKEN, b""))
        if session is None:
            raise Refused(INVALID_CREDENTIAL)
        name, expires = session
        if A.USER in fields and fields[A.USER].decode(errors="replace") != name:
            raise Refused(INVALID_CREDENTIAL)
        if self.clock.time() >= expires:
            del self.sessions[fields[A.SESSION_TOKEN]]
            raise Refused(EXPIRED_SESSION)
        user = self.users.get(name)
        if user is None:
            raise Refused(INVALID_USER)
        if not self._whitelisted(user, _peer_ip(conn)):
            raise Refused(NOT_WHITELISTED)
        conn.user = name
        conn.revocation = self.revocations.get(name, 0)
        conn.session_expires = expires
        self.authentications += 1

    def _user_record(self, node: Any, user: User) -> bytes:
        fields: list[A.Field] = [(A.USER, user.name.encode()), (A.ROLES, A.pack_roles(user.roles))]
        if self.quotas_enabled:
            fields.append((A.READ_INFO, A.pack_info([self._quota(user, False), 0, 0, 0])))
            fields.append((A.WRITE_INFO, A.pack_info([self._quota(user, True), 0, 0, 0])))
        conns = sum(1 for n in _nodes(node) for c in n.connections if getattr(c, "user", None) == user.name)
        fields.append((A.CONNECTIONS, A.u32(conns)))
        return A.pack_record(0, fields)

    def _query_users(self, node: Any, me: User, fields: dict[int, bytes]) -> bytes:
        if A.USER in fields:
            name = fields[A.USER].decode(errors="replace")
            if name != me.name and not self.allowed(me, USER_ADMIN):
                raise Refused(ROLE_VIOLATION)
            user = self.users.get(name)
            if user is None:
                raise Refused(INVALID_USER)
            return A.pack_stream([self._user_record(node, user)])
        if not self.allowed(me, USER_ADMIN):
            raise Refused(ROLE_VIOLATION)
        return A.pack_stream([self._user_record(node, u) for u in sorted(self.users.values(), key=lambda u: u.name)])

    def _role_record(self, role: Role) -> bytes:
        fields: list[A.Field] = [(A.ROLE, role.name.encode()), (A.PRIVILEGES, A.pack_privileges(role.privileges))]
        if role.whitelist:
            fields.append((A.WHITELIST, A.pack_whitelist(role.whitelist)))
        if self.quotas_enabled:
            fields.append((A.READ_QUOTA, A.u32(role.read_quota)))
            fields.append((A.WRITE_QUOTA, A.u32(role.write_quota)))
        return A.pack_record(0, fields)

    def _query_roles(self, me: User, fields: dict[int, bytes]) -> bytes:
        if A.ROLE in fields:
            name = fields[A.ROLE].decode(errors="replace")
            if name not in me.roles and not self.allowed(me, USER_ADMIN):
                raise Refused(ROLE_VIOLATION)
            role = self.roles.get(name)
            if role is None:
                raise Refused(INVALID_ROLE)
            return A.pack_stream([self._role_record(role)])
        if not self.allowed(me, USER_ADMIN):
            raise Refused(ROLE_VIOLATION)
        return A.pack_stream([self._role_record(r) for r in sorted(self.roles.values(), key=lambda r: r.name)])

    # -- user management --------------------------------------------------------------------

    def _existing_user(self, fields: dict[int, bytes]) -> User:
        user = self.users.get(fields.get(A.USER, b"").decode(errors="replace"))
        if user is None:
            raise Refused(INVALID_USER)
        return user

    def _role_names(self, fields: dict[int, bytes]) -> list[str]:
        try:
            names = A.parse_roles(fields.get(A.ROLES, b""))
        except (IndexError, UnicodeDecodeError):
            raise Refused(INVALID_FIELD) from None
        for n in names:
            if n not in self.roles:
                raise Refused(INVALID_ROLE)
        return names

    @staticmethod
    def _credential(data: bytes | None) -> bytes:
        if not data or len(data) != 60 or not data.startswith((b"$2a$", b"$2b$", b"$2y$")):
            raise Refused(INVALID_PASSWORD)
        return data

    def create_user(self, fields: dict[int, bytes]) -> None:
        name = _valid_name(fields.get(A.USER))
        if name is None:
            raise Refused(INVALID_USER)
        if name in self.users:
            raise Refused(USER_ALREADY_EXISTS)
        credential = self._credential(fields.get(A.PASSWORD))
        self.users[name] = User(name, credential, self._role_names(fields))

    def drop_user(self, fields: dict[int, bytes]) -> None:
        user = self._existing_user(fields)
        del self.users[user.name]
        self._end_sessions(user.name)

    def set_password(self, fields: dict[int, bytes]) -> None:
        user = self._existing_user(fields)
        user.credential = self._credential(fields.get(A.PASSWORD))
        self._end_sessions(user.name)

    def change_password(self, fields: dict[int, bytes], caller: User | None = None) -> None:
        """The old password is checked against the caller's own (the C client changes another
        user's password this way, sending its own hash as the old one)."""
        user = self._existing_user(fields)
        check = caller if caller is not None else user
        if not secrets.compare_digest(fields.get(A.OLD_PASSWORD, b""), check.credential):
            raise Refused(INVALID_CREDENTIAL)
        user.credential = self._credential(fields.get(A.PASSWORD))
        self._end_sessions(user.name)

    def grant_roles(self, fields: dict[int, bytes]) -> None:
        user = self._existing_user(fields)
        for r in self._role_names(fields):
            if r not in user.roles:
                user.roles.append(r)

    def revoke_roles(self, fields: dict[int, bytes]) -> None:
        user = self._existing_user(fields)
        drop = set(self._role_names(fields))
        user.roles = [r for r in user.roles if r not in drop]

    # -- role management --------------------------------------------------------------------

    def _existing_role(self, fields: dict[int, bytes], user_defined: bool = True) -> Role:
        name = fields.get(A.ROLE, b"").decode(errors="replace")
        role = self.roles.get(name)
        if role is None or (user_defined and name in PREDEFINED):
            raise Refused(INVALID_ROLE)
        return role

    @staticmethod
    def _privileges(fields: dict[int, bytes]) -> list[A.PrivilegeTuple]:
        try:
            privs = A.parse_privileges(fields.get(A.PRIVILEGES, b""))
        except (IndexError, UnicodeDecodeError):
            raise Refused(INVALID_PRIVILEGE) from None
        for code, ns, set_name in privs:
            if code not in A.PRIVILEGE_NAMES or (set_name and not ns):
                raise Refused(INVALID_PRIVILEGE)
        return privs

    @staticmethod
    def _whitelist(fields: dict[int, bytes]) -> list[str]:
        try:
            wl = A.parse_whitelist(fields.get(A.WHITELIST, b""))
        except UnicodeDecodeError:
            raise Refused(INVALID_WHITELIST) from None
        if not all(_valid_address(a) for a in wl):
            raise Refused(INVALID_WHITELIST)
        return wl

    def _quotas(self, fields: dict[int, bytes]) -> tuple[int, int]:
        rq, wq = A.read_u32(fields.get(A.READ_QUOTA, b"")), A.read_u32(fields.get(A.WRITE_QUOTA, b""))
        if (rq or wq) and not self.quotas_enabled:
            raise Refused(QUOTAS_NOT_ENABLED)
        return rq, wq

    def create_role(self, fields: dict[int, bytes]) -> None:
        name = _valid_name(fields.get(A.ROLE))
        if name is None:
            raise Refused(INVALID_ROLE)
        if name in self.roles:
            raise Refused(ROLE_ALREADY_EXISTS)
        privs, wl = self._privileges(fields), self._whitelist(fields)
        rq, wq = self._quotas(fields)
        self.roles[name] = Role(name, privs, wl, rq, wq)

    def drop_role(self, fields: dict[int, bytes]) -> None:
        role = self._existing_role(fields)
        del self.roles[role.name]
        for u in self.users.values():
            if role.name in u.roles:
                u.roles.remove(role.name)

    def grant_privileges(self, fields: dict[int, bytes]) -> None:
        role = self._existing_role(fields)
        for p in self._privileges(fields):
            if p not in role.privileges:
                role.privileges.append(p)

    def revoke_privileges(self, fields: dict[int, bytes]) -> None:
        role = self._existing_role(fields)
        drop = set(self._privileges(fields))
        role.privileges = [p for p in role.privileges if p not in drop]

    def set_whitelist(self, fields: dict[int, bytes]) -> None:
        self._existing_role(fields).whitelist = self._whitelist(fields)

    def set_quotas(self, fields: dict[int, bytes]) -> None:
        role = self._existing_role(fields)
        if not self.quotas_enabled:
            raise Refused(QUOTAS_NOT_ENABLED)
        role.read_quota, role.write_quota = self._quotas(fields)


_ADMIN_COMMANDS: dict[int, Callable[[Security, dict[int, bytes]], None]] = {
    A.CREATE_USER: Security.create_user, A.DROP_USER: Security.drop_user,
    A.SET_PASSWORD: Security.set_password, A.CHANGE_PASSWORD: Security.change_password,
    A.GRANT_ROLES: Security.grant_roles, A.REVOKE_ROLES: Security.revoke_roles,
    A.CREATE_ROLE: Security.create_role, A.DROP_ROLE: Security.drop_role,
    A.GRANT_PRIVILEGES: Security.grant_privileges, A.REVOKE_PRIVILEGES: Security.revoke_privileges,
    A.SET_WHITELIST: Security.set_whitelist, A.SET_QUOTAS: Security.set_quotas,
}


# -- what a request needs ---------------------------------------------------------------------

_unpack_header = MSG_HEADER.unpack_from


def _fields(body: bytes, offset: int, n: int) -> tuple[dict[int, bytes], int]:
    out: dict[int, bytes] = {}
    for _ in range(n):
        size = int.from_bytes(body[offset:offset + 4], "big")
        out[body[offset + 4]] = body[offset + 5:offset + 4 + size]
        offset += 4 + size
    return out, offset


def _need(info2: int, fields: dict[int, bytes], ns: str, set_name: str) -> tuple[int, str, str, bool]:
    if W.FIELD_UDF_PACKAGE_NAME in fields:
        return UDF, ns, set_name, True
    if info2 & (W.INFO2_WRITE | W.INFO2_DELETE):
        return WRITE, ns, set_name, True
    return READ, ns, set_name, False


def _message_needs(body: bytes) -> list[tuple[int, str, str, bool]] | None:
    """``(permission, namespace, set, is_write)`` for each record a type-3 request touches
    (``None`` for a batch: checked entry by entry)."""
    head = _unpack_header(body, 0)
    fields, _ = _fields(body, 22, head[9])
    if W.FIELD_BATCH_INDEX_WITH_SET in fields or W.FIELD_BATCH_INDEX in fields:
        return None
    ns = fields.get(W.FIELD_NAMESPACE, b"").decode(errors="replace")
    set_name = fields.get(W.FIELD_SET, b"").decode(errors="replace")
    return [_need(head[2], fields, ns, set_name)]


def _scan_rps(body: bytes) -> int | None:
    """The records-per-second a scan/query asks for (0: unlimited); ``None`` for a request on
    one record (it carries a digest or key)."""
    head = _unpack_header(body, 0)
    fields, _ = _fields(body, 22, head[9])
    if W.FIELD_DIGEST in fields or W.FIELD_KEY in fields:
        return None
    data = fields.get(W.FIELD_RECORDS_PER_SECOND, b"")
    return int.from_bytes(data[:4], "big") if len(data) >= 4 else 0


def _peer_ip(conn: Any) -> str:
    t = getattr(conn, "transport", None)
    peer = t.get_extra_info("peername") if t is not None else None
    return peer[0] if peer else ""


def _cert_common_name(conn: Any) -> str | None:
    """PKI: the common name of the connection's verified TLS client certificate."""
    t = getattr(conn, "transport", None)
    cert = t.get_extra_info("peercert") if t is not None else None
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def _nodes(node: Any) -> list[Any]:
    cluster = getattr(node, "cluster", None)
    return [node, *node.peers()] if cluster is not None else [node]


def info_frames(security: Security, conn: Any, commands: list[str], answer: Callable[[str], str]) -> bytes:
    """An info reply where each command the connection's user may not run answers its error; on a
    connection that has not authenticated, the single ``ERROR:80`` line the real server sends."""
    try:
        user = security.user_of(conn)
    except Refused:
        return pack_proto_header(W.PROTO_TYPE_INFO, len(NOT_AUTHENTICATED_INFO)) + NOT_AUTHENTICATED_INFO
    out = []
    for c in commands:
        refused = security.check_info(user, c)
        out.append((c, refused if refused is not None else answer(c)))
    return pack_info_response(out)


# -- configuration helpers shared by EmbeddedServer / EmbeddedCluster / the CLI -------------------

def make_security(security: Any, clock: Any, session_ttl: int = 86400) -> Security | None:
    """``True``: a fresh :class:`Security` (admin/admin); a Security: itself; false: None."""
    if isinstance(security, Security):
        return security
    return Security(clock, session_ttl) if security else None


def server_tls(tls: Any) -> ssl.SSLContext | None:
    """The listener's SSL context from an ``ssl.SSLContext`` or a dict: ``certfile``, ``keyfile``
    (server certificate), ``cafile`` (CA of client certificates), ``verify_client`` (require a
    client certificate signed by ``cafile``: mutual TLS, PKI login)."""
    if tls is None or isinstance(tls, ssl.SSLContext):
        return tls
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls["certfile"], tls.get("keyfile"))
    if tls.get("cafile"):
        ctx.load_verify_locations(cafile=tls["cafile"])
    if tls.get("verify_client"):
        ctx.verify_mode = ssl.CERT_REQUIRED
    elif tls.get("cafile"):
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def client_config(hosts: list[tuple[str, int]], security: Security | None, tls: Any,
                  tls_name: str | None) -> dict[str, Any]:
    """A client config for these nodes: TLS names and the CA when TLS is on, admin/admin when
    security is on."""
    config: dict[str, Any] = {"hosts": [(h, p, tls_name) if tls is not None and tls_name else (h, p)
                                        for h, p in hosts]}
    if tls is not None:
        config["tls"] = {"enable": True}
        if isinstance(tls, dict) and tls.get("cafile"):
            config["tls"]["cafile"] = tls["cafile"]
    if security is not None and "admin" in security.users:
        config["user"], config["password"] = "admin", "admin"
    return config
