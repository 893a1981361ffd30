"""Authentication of new connections: login, session tokens per node, re-login.

Every new connection to a node (command pools, sync and async, and the tend connection) is
authenticated before its first request: with the node's session token when one is held and not
about to expire (AUTHENTICATE), else by a LOGIN that yields a new token. A token the node refuses
(expired, unknown) is dropped and the connection logs in again; the tend thread renews tokens
before they expire. Neither the password nor its hash appears in any log line or error text.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from .._logging import get_logger
from .._wire import admin as A
from ..exception import _error_from_result_code, _InvalidArgType, _InvalidArgValue

log = get_logger("aerospike_py")
_monotonic = time.monotonic

AUTH_INTERNAL, AUTH_EXTERNAL, AUTH_PKI = 0, 1, 2
#: Codes that make a client drop its session token and log in again.
RELOGIN_CODES = frozenset({65, 66, 80})
_SECURITY_NOT_ENABLED = 52


class Auth:
    """Credentials of one client and its session token per node address."""

    __slots__ = ("mode", "user", "_credential", "_clear", "_sessions", "_open", "_lock")

    def __init__(self, mode: int, user: str | None, password: str | None) -> None:
        if mode not in (AUTH_INTERNAL, AUTH_EXTERNAL, AUTH_PKI):
            raise _InvalidArgValue(f"config 'auth_mode' must be AUTH_INTERNAL, AUTH_EXTERNAL or AUTH_PKI, got {mode!r}")
        if mode != AUTH_PKI:
            if not isinstance(user, str) or not user:
                raise _InvalidArgValue("config 'user' must be a non-empty str")
            if not isinstance(password, str):
                raise _InvalidArgType("config 'password' must be a str")
            # The official clients' limits (the server's for names); the texts never hold the password.
            if len(user.encode()) > A.MAX_NAME:
                raise _InvalidArgValue(f"config 'user' is longer than {A.MAX_NAME} bytes")
            if len(password.encode()) > A.MAX_PASSWORD:
                raise _InvalidArgValue(f"config 'password' is longer than {A.MAX_PASSWORD} bytes")
        self.mode = mode
        self.user = user
        self._credential = A.hash_password(password) if mode != AUTH_PKI and password is not None else None
        self._clear = password if mode == AUTH_EXTERNAL else None
        self._sessions: dict[str, tuple[bytes, float]] = {}
        self._open: set[str] = set()  # nodes that answered "security not enabled"
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the credentials
        return f"Auth(mode={self.mode}, user={self.user!r})"

    @classmethod
    def from_config(cls, config: dict[str, Any], user: str | None = None, password: str | None = None) -> Auth | None:
        """The client's authentication (``connect(user, password)`` wins over the config), or None."""
        mode = config.get("auth_mode", AUTH_INTERNAL)
        if isinstance(mode, bool) or not isinstance(mode, int):
            raise _InvalidArgType("config 'auth_mode' must be an int")
        if user is None:
            user, password = config.get("user"), config.get("password")
        if mode == AUTH_PKI:
            return cls(mode, user, None)
        if user is None:
            return None
        return cls(mode, user, password if password is not None else "")

    @property
    def credential(self) -> bytes | None:
        """The password hash, for a change of one's own password (never printed)."""
        return self._credential

    def set_password(self, password: str) -> None:
        """After a change of one's own password: log in with the new one from now on."""
        self._credential = A.hash_password(password)
        if self.mode == AUTH_EXTERNAL:
            self._clear = password

    # -- sans-IO steps ----------------------------------------------------------------------

    def first_request(self, address: str) -> tuple[bytes | None, bytes] | None:
        """``(token, request)``: AUTHENTICATE with the node's live token, else ``(None, LOGIN)``;
        ``None`` for a node without security (nothing to send)."""
        with self._lock:
            if address in self._open:
                return None
            session = self._sessions.get(address)
        if session is not None and (session[1] == 0 or _monotonic() < session[1]):
            return session[0], A.authenticate_request(self.mode, self.user, session[0])
        return None, self.login_request()

    def login_request(self) -> bytes:
        return A.login_request(self.mode, self.user, self._credential, self._clear)

    def on_reply(self, address: str, token: bytes | None, body: Any) -> bool:
        """Read the reply to an AUTHENTICATE with ``token`` (``None``: to a LOGIN); True when the
        connection is authenticated, False when the node refused the token (it is forgotten, unless
        another connection has already replaced it: the next step may use that newer one).

        Raises the server's error (``AdminError``) when the login itself is refused.
        """
        if token is not None:
            code = A.reply_result(body)
            if code == 0:
                return True
            if code in RELOGIN_CODES:
                with self._lock:
                    session = self._sessions.get(address)
                    if session is not None and session[0] == token:
                        del self._sessions[address]
                log.debug("session token refused by %s (code %d): logging in again", address, code)
                return False
            raise _error_from_result_code(code, f"authentication of user {self.user!r} failed on {address}")
        code, new_token, ttl = A.parse_login_reply(body)
        if code == _SECURITY_NOT_ENABLED:
            with self._lock:
                self._open.add(address)  # the server does not require authentication
            return True
        if code:
            raise _error_from_result_code(code, f"login of user {self.user!r} failed on {address}")
        if new_token:
            # Renew a minute before the server's expiry (or half-way for short sessions).
            expires = 0.0 if ttl <= 0 else _monotonic() + (ttl - 60 if ttl > 120 else ttl / 2)
            with self._lock:
                self._sessions[address] = (new_token, expires)
        return True

    def next_request(self, address: str, refusals: int) -> tuple[bytes | None, bytes]:
        """The step after ``refusals`` refused tokens: a newer token once (another connection may
        have logged in meanwhile, which spares the server a login per connection), then LOGIN."""
        step = self.first_request(address) if refusals < 2 else None
        return step if step is not None else (None, self.login_request())

    def forget(self, address: str) -> None:
        with self._lock:
            self._sessions.pop(address, None)

    def expiring(self, address: str) -> bool:
        """Whether the node's token is missing or due for renewal (the tend thread logs in again)."""
        with self._lock:
            if address in self._open:
                return False
            session = self._sessions.get(address)
        return session is None or (session[1] != 0 and _monotonic() >= session[1])


def relogin_sync(auth: Auth, conn: Any, address: str, timeout_s: float) -> None:
    """LOGIN again on an authenticated connection (the tend connection) for a fresh token."""
    conn.set_timeout(max(1, int(timeout_s * 1000)))
    _, body = conn.request(auth.login_request(), _monotonic() + timeout_s)
    auth.on_reply(address, None, body)


def login_sync(auth: Auth, conn: Any, address: str, timeout_s: float) -> None:
    """Authenticate a new blocking :class:`Connection` (token, maybe a newer token, then LOGIN)."""
    deadline = _monotonic() + timeout_s
    step = auth.first_request(address)
    if step is None:
        return
    conn.set_timeout(max(1, int(timeout_s * 1000)))
    refusals = 0
    while True:
        token, request = step
        _, body = conn.request(request, deadline)
        if auth.on_reply(address, token, body):
            return
        refusals += 1
        step = auth.next_request(address, refusals)


__all__ = ["AUTH_EXTERNAL", "AUTH_INTERNAL", "AUTH_PKI", "Auth", "RELOGIN_CODES", "login_sync", "relogin_sync"]
