"""Authentication, the admin API and permission checks, end to end against the embedded server
with security on (the official client and the real Community Edition server where available)."""

from __future__ import annotations

import asyncio
import logging

import pytest

import aerospike_py
from aerospike_py import exception as ex
from aerospike_py._wire import admin as A
from aerospike_py.server import EmbeddedServer

pytest.importorskip("bcrypt")

KEY = ("test", "sec", "k1")


@pytest.fixture(scope="module", autouse=True)
def _memo_hash():
    """bcrypt (cost 10) takes ~0.1 s a call: hash each test password once (same function)."""
    import functools

    real = A.hash_password
    A.hash_password = functools.lru_cache(maxsize=None)(real)
    yield
    A.hash_password = real


@pytest.fixture(scope="module")
def secure():
    with EmbeddedServer(security=True) as srv:
        yield srv


@pytest.fixture
def srv(secure):
    """The secure server, with only admin/admin and the predefined roles, data wiped."""
    sec = secure.security
    secure.clear()
    secure.clock.offset = 0.0

    def reset():
        for name in [u for u in sec.users if u != "admin"]:
            del sec.users[name]
        for name in [r for r in sec.roles if r not in A.PRIVILEGE_CODES]:
            del sec.roles[name]
        sec.users["admin"].roles = ["user-admin"]
        sec.usage.clear()
        sec.reserved.clear()
        sec.revocations.clear()

    secure.call(reset)
    yield secure
    secure.call(reset)


@pytest.fixture(scope="module")
def _admin(secure):
    # No background tend: when a test expires sessions (server clock), this client's tend would
    # log in again at any moment and upset the tests' login counts.
    c = aerospike_py.client({**secure.config, "tend_interval": 3_600_000}).connect()
    yield c
    c.close()


@pytest.fixture
def admin(srv, _admin):
    return _admin


def _as(srv, user, password, **extra):
    return aerospike_py.client({"hosts": srv.config["hosts"], "user": user, "password": password, **extra}).connect()


def _code(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except aerospike_py.AerospikeError as e:
        return e.code
    return 0


# -- login ---------------------------------------------------------------------------------------

def test_without_credentials_the_server_says_not_authenticated(srv):
    with pytest.raises(ex.AdminError) as ei:
        aerospike_py.client({"hosts": srv.config["hosts"]}).connect()
    assert ei.value.code == 80
    aerospike = pytest.importorskip("aerospike")
    with pytest.raises(aerospike.exception.AerospikeError) as theirs:  # its infos get the ERROR:80 line
        aerospike.client({"hosts": srv.config["hosts"]}).connect()
    assert theirs.value.code == 80


def test_wrong_password_and_unknown_user(srv):
    with pytest.raises(ex.AdminError) as ei:
        _as(srv, "admin", "nope")
    assert ei.value.code == 65
    with pytest.raises(ex.AdminError) as ei:
        _as(srv, "ghost", "x")
    assert ei.value.code == 60


def _raw_info(sock, *commands: str) -> bytes:
    from aerospike_py._wire.info import pack_info_request

    sock.sendall(pack_info_request(*commands))
    head = b""
    while len(head) < 8:
        head += sock.recv(8 - len(head))
    size = int.from_bytes(head[2:], "big")
    body = b""
    while len(body) < size:
        body += sock.recv(size - len(body))
    return body


def test_info_on_an_unauthenticated_connection_answers_one_error_80_line(srv):
    import socket

    host, port = srv.config["hosts"][0][:2]
    with socket.create_connection((host, port), timeout=5) as sock:
        # As the real server: one line for the whole request, no command names.
        assert _raw_info(sock, "build", "namespaces") == b"ERROR:80:not authenticated\n"
        assert _raw_admin(sock, A.pack_admin(A.LOGIN, [(A.USER, b"admin"),
                                                       (A.CREDENTIAL, A.hash_password("admin"))])) == 0
        assert _raw_info(sock, "namespaces") == b"namespaces\ttest;bar\n"


def test_the_client_reads_a_whole_request_refusal_as_each_commands_answer():
    from aerospike_py._wire.info import parse_info_response

    body = b"ERROR:80:not authenticated\n"
    assert parse_info_response(body, ["node", "build"]) == {
        "ERROR:80:not authenticated": "", "node": "ERROR:80:not authenticated", "build": "ERROR:80:not authenticated"}
    assert parse_info_response(b"node\tBB9\n", ["node"]) == {"node": "BB9"}


def test_user_level_info_works_and_privileged_info_names_the_missing_permission(srv, admin):
    admin.admin_create_user("inf", "pw", ["read"])
    c = _as(srv, "inf", "pw")
    try:
        assert c.info_random_node("namespaces") == "test;bar"
        assert all(not v.startswith("ERROR") for v in (c.info_random_node("build"), c.info_random_node("sindex-list"),
                                                         c.info_random_node("udf-list"), c.info_random_node("sets")))
        assert [(r.error_code, r.response.startswith("ERROR")) for r in c.info_all("statistics")] == [(0, False)]
        for command, perm in [("truncate:namespace=test;set=sec", "truncate"),
                              ("sindex-create:ns=test;set=sec;indexname=x;indexdata=b,numeric", "sindex-admin"),
                              ("udf-remove:filename=x.lua", "udf-admin"),
                              ("set-config:context=service;proto-fd-max=20000", "set-config"),
                              ("log-set:id=0;info=debug", "logging-ctrl"),
                              ("recluster:", "service-ctrl")]:
            assert c.info_random_node(command) == f"ERROR:81:role violation - requires permission '{perm}'"
        assert _code(c.truncate, "test", "sec") == 81
    finally:
        c.close()


def test_connect_arguments_win_over_config(srv):
    c = aerospike_py.client({"hosts": srv.config["hosts"], "user": "admin", "password": "bad"})
    c.connect("admin", "admin")
    assert c.admin_query_user_info("admin")["roles"] == ["user-admin"]
    c.close()


def _texts(exc: BaseException) -> list[str]:
    """Every text an exception shows: str, repr, args, the formatted traceback and its chain."""
    import traceback

    out = ["".join(traceback.format_exception(exc))]
    while exc is not None:
        out += [str(exc), repr(exc), *map(repr, exc.args), repr(getattr(exc, "__dict__", {}))]
        exc = exc.__cause__ or exc.__context__
    return out


def test_no_password_or_hash_in_any_log_line_or_exception_text(srv, admin, caplog):
    """Passwords (and their bcrypt hashes) travel through login, re-login, every admin call and
    every refusal: none of the client's or the server's log lines at DEBUG, and no text of any
    exception raised on the way, ever contains one."""
    caplog.set_level(logging.DEBUG)  # every logger: client and embedded server
    secrets_ = ["s3cr3t-Passw0rd", "n3w-Passw0rd-x", "ext3rnal-Passw0rd", "x" * 50 + "-too-long-Passw0rd"]
    errors: list[BaseException] = []

    def expect_error(fn, *args, **kwargs):
        try:
            fn(*args, **kwargs)
        except aerospike_py.AerospikeError as e:
            errors.append(e)
            return
        raise AssertionError(f"{fn} did not raise")

    expect_error(_as, srv, "admin", secrets_[0])  # wrong password: 65
    expect_error(_as, srv, "ghost", secrets_[0])  # unknown user: 60
    expect_error(_as, srv, "admin", secrets_[3])  # too long for the config: InvalidArgError
    expect_error(_as, srv, "admin", secrets_[2], auth_mode=aerospike_py.AUTH_EXTERNAL)  # external, wrong: 65
    expect_error(admin.admin_create_user, "", secrets_[0], [])  # 60 before sending
    expect_error(admin.admin_create_user, "sec_u", secrets_[3], [])  # 62 before sending
    expect_error(admin.admin_create_user, "admin", secrets_[0], [])  # 61 from the server
    expect_error(admin.admin_change_password, "ghost", secrets_[1])  # 60 from the server
    admin.admin_create_user("sec_u", secrets_[0], ["read-write"])
    u = _as(srv, "sec_u", secrets_[0], policies={"read": {"max_retries": 0}})
    try:
        u.put(KEY, {"a": 1})
        u.admin_change_password("sec_u", secrets_[1])  # own password: the old hash goes as proof
        srv.call(srv.security.revoke_sessions, "sec_u")
        assert u.get(KEY).bins == {"a": 1}  # 80, re-login with the new password, retried
        expect_error(u.admin_create_user, "other", secrets_[0], [])  # 81
        admin.admin_change_password("sec_u", secrets_[0])  # another user's: set (ends its sessions)
        srv.call(srv.node.close_client_connections)
        expect_error(u.get, KEY)  # its new connections log in with a stale password: 65
        assert all(s not in repr(u._cluster.auth) for s in secrets_)
    finally:
        u.close()
    assert [getattr(e, "code", None) for e in errors] == [65, 60, -2, 65, 60, 62, 61, 60, 81, 65]
    texts = [caplog.text, *(t for e in errors for t in _texts(e))]
    assert caplog.text  # the paths above did log
    for secret in secrets_:
        hashed = A.hash_password(secret[:63]).decode()
        for text in texts:
            assert secret not in text and hashed not in text


def test_every_new_connection_authenticates_with_the_session_token(srv, admin):
    sec = srv.security
    logins, auths = sec.logins, sec.authentications
    c = _as(srv, "admin", "admin", min_conns_per_node=3)
    try:
        # One LOGIN (tend connection), then the token for each pooled connection.
        assert sec.logins == logins + 1
        assert sec.authentications == auths + 3
    finally:
        c.close()


def test_expired_session_logs_in_again(srv, admin):
    admin.admin_create_user("sess", "pw", ["read-write"])
    c = _as(srv, "sess", "pw")
    try:
        c.put(KEY, {"a": 1})
        sec = srv.security
        logins = sec.logins
        srv.clock.advance(86400 + 1)  # the token expires on the server
        srv.call(srv.node.close_client_connections)  # new connections must authenticate again
        assert c.get(KEY).bins == {"a": 1}
        assert sec.logins > logins  # AUTHENTICATE was refused (expired), LOGIN gave a new token
    finally:
        c.close()


def test_session_expiring_on_open_connections_logs_in_again_and_retries_once(srv, admin):
    admin.admin_create_user("ttl", "pw", ["read-write"])
    # No background tend (it would log in again on its own when the session expires): counts stay exact.
    c = _as(srv, "ttl", "pw", tend_interval=3_600_000,
            policies={"read": {"max_retries": 0}, "write": {"max_retries": 0}})
    try:
        c.put(KEY, {"a": 1})
        sec = srv.security
        logins, requests = sec.logins, srv.node.requests
        srv.clock.advance(sec.session_ttl - 1)  # not yet expired: the connections keep working
        assert c.get(KEY).bins == {"a": 1}
        assert (sec.logins, srv.node.requests) == (logins, requests + 1)
        for step in (c.get, lambda key: c.put(key, {"a": 1})):
            srv.clock.advance(sec.session_ttl)  # expired on the server: open connections answer 80
            logins, requests = sec.logins, srv.node.requests
            step(KEY)  # 80, LOGIN on a new connection (a fresh session), the command again
            assert (sec.logins, srv.node.requests) == (logins + 1, requests + 3)
        c.get(KEY)  # the new connection was pooled and keeps working
        assert sec.logins == logins + 1
        srv.clock.advance(sec.session_ttl)
        c._cluster.tend()  # the tend connection's infos answer ERROR:80: it logs in again
        assert sec.logins == logins + 2 and c._cluster.node_list[0].failures == 0
    finally:
        c.close()


EXPIRY_CALLS = {
    "scan": lambda c: len(c.scan("test", "sexp").results()) == 3,
    "query": lambda c: len(c.query("test", "sexp").results()) == 3,
    "foreach": lambda c: c.scan("test", "sexp").foreach(lambda r: None) is None,
    "batch_read": lambda c: [r.result for r in c.batch_read([("test", "sexp", i) for i in range(3)]).batch_records]
    == [0, 0, 0],
    "batch_write": lambda c: [r.result for r in c.batch_write([(("test", "sexp", 0), {"i": 0})]).batch_records] == [0],
    "info": lambda c: c.info_random_node("namespaces") == "test;bar",
    "info_all": lambda c: [r.response for r in c.info_all("namespaces")] == ["test;bar"],
    "truncate": lambda c: c.truncate("test", "sexp_other") is None,
    "admin_query": lambda c: c.admin_query_user_info("sexp")["user"] == "sexp",
}


@pytest.mark.parametrize("what", sorted(EXPIRY_CALLS))
def test_every_kind_of_command_logs_in_again_after_its_session_expired(srv, admin, what):
    admin.admin_create_user("sexp", "pw", ["read-write", "truncate"])
    c = _as(srv, "sexp", "pw", tend_interval=3_600_000)
    try:
        for i in range(3):
            c.put(("test", "sexp", i), {"i": i})
        sec = srv.security
        srv.clock.advance(sec.session_ttl)  # the pooled connection's session expired: it answers 80
        logins = sec.logins
        assert EXPIRY_CALLS[what](c)
        assert sec.logins == logins + 1
    finally:
        c.close()


def test_async_streams_and_info_log_in_again_after_the_session_expired(srv, admin):
    admin.admin_create_user("asexp", "pw", ["read-write"])

    async def main():
        u = await aerospike_py.AsyncClient({"hosts": srv.config["hosts"], "user": "asexp", "password": "pw",
                                            "tend_interval": 3_600_000}).connect()
        try:
            await u.put(("test", "asexp", 1), {"i": 1})
            sec = srv.security
            for call in (lambda: u.scan("test", "asexp").results(), lambda: u.batch_read([("test", "asexp", 1)]),
                         lambda: u.info_random_node("namespaces"), lambda: u.admin_query_user_info("asexp")):
                srv.clock.advance(sec.session_ttl)
                logins = sec.logins
                assert await call()
                assert sec.logins == logins + 1
        finally:
            await u.close()

    asyncio.run(main())


def test_async_session_expiring_on_open_connections_logs_in_again(srv, admin):
    admin.admin_create_user("attl", "pw", ["read-write"])

    async def main():
        u = await aerospike_py.AsyncClient({"hosts": srv.config["hosts"], "user": "attl", "password": "pw",
                                            "tend_interval": 3_600_000}).connect()
        try:
            await u.put(KEY, {"a": 1})
            sec = srv.security
            logins = sec.logins
            srv.clock.advance(sec.session_ttl)
            assert (await u.get(KEY)).bins == {"a": 1}  # the fast path's connection
            assert sec.logins == logins + 1
            srv.clock.advance(sec.session_ttl)
            got = await asyncio.gather(*(u.get(KEY) for _ in range(5)))  # queued path too
            assert all(r.bins == {"a": 1} for r in got)
        finally:
            await u.close()

    asyncio.run(main())


def test_tend_renews_a_token_due_for_renewal(srv, admin):
    cluster = admin._cluster
    auth = cluster.auth
    node = cluster.node_list[0]
    logins = srv.security.logins
    token, _ = auth._sessions[node.address]
    auth._sessions[node.address] = (token, 1.0)  # due long ago (monotonic)
    cluster.tend()  # (or the background tend, if it came first) logs in again on the tend connection
    assert srv.security.logins >= logins + 1
    assert auth._sessions[node.address][0] != token


def test_dropped_user_is_not_authenticated_any_more(srv, admin):
    admin.admin_create_user("gone", "pw", ["read-write"])
    c = _as(srv, "gone", "pw")
    try:
        c.put(KEY, {"a": 1})
        admin.admin_drop_user("gone")
        logins = srv.security.logins
        # 80 on the old connection, then the fresh login is refused: the user is unknown (60).
        assert _code(c.get, KEY) == 60
        assert srv.security.logins == logins
    finally:
        c.close()


def test_session_revoked_mid_use_logs_in_again_and_retries_once(srv, admin):
    admin.admin_create_user("mid", "pw", ["read-write"])
    c = _as(srv, "mid", "pw", policies={"read": {"max_retries": 0}})
    try:
        c.put(KEY, {"a": 1})
        sec = srv.security
        for _ in range(2):
            logins, requests = sec.logins, srv.node.requests
            srv.call(sec.revoke_sessions, "mid")  # live connections now answer 80
            assert c.get(KEY).bins == {"a": 1}  # 80, LOGIN on a new connection, the get again
            assert sec.logins == logins + 1
            assert srv.node.requests == requests + 3
        c.put(KEY, {"a": 2})  # the new connection was pooled and keeps working
        assert sec.logins == logins + 1
    finally:
        c.close()


def test_tend_connection_logs_in_again_when_its_session_is_revoked(srv, admin):
    admin.admin_create_user("tender", "pw", ["read-write"])
    c = _as(srv, "tender", "pw")
    try:
        cluster = c._cluster
        node = cluster.node_list[0]
        srv.call(srv.security.revoke_sessions, "tender")
        cluster.tend()  # infos answer ERROR:80: LOGIN on the tend connection, asked again
        assert node.failures == 0 and cluster.node_list == [node]
        assert "ERROR" not in node.info("node")["node"]
    finally:
        c.close()


def test_a_second_not_authenticated_is_not_retried(srv, admin, monkeypatch):
    from aerospike_py.server import security as S
    admin.admin_create_user("twice", "pw", ["read-write"])
    c = _as(srv, "twice", "pw")
    try:
        c.put(KEY, {"a": 1})
        # The node logs the user in, then refuses its commands: one retry, then the error.
        monkeypatch.setattr(S.Security, "check_message", lambda self, conn, body: S.NOT_AUTHENTICATED)
        logins = srv.security.logins
        assert _code(c.get, KEY) == 80
        assert srv.security.logins == logins + 1
    finally:
        c.close()


def test_async_session_revoked_mid_use_logs_in_again(srv, admin):
    admin.admin_create_user("amid", "pw", ["read-write"])

    async def main():
        u = await aerospike_py.AsyncClient({"hosts": srv.config["hosts"], "user": "amid", "password": "pw"}).connect()
        try:
            await u.put(KEY, {"a": 1})
            sec = srv.security
            for _ in range(2):
                logins = sec.logins
                srv.call(sec.revoke_sessions, "amid")
                assert (await u.get(KEY)).bins == {"a": 1}  # the fast path's connection
                assert sec.logins == logins + 1
            srv.call(sec.revoke_sessions, "amid")
            got = await asyncio.gather(*(u.get(KEY) for _ in range(5)))  # queued path too
            assert all(r.bins == {"a": 1} for r in got)
        finally:
            await u.close()

    asyncio.run(main())


def test_change_own_password_keeps_working(srv, admin):
    admin.admin_create_user("self", "old", ["read-write"])
    c = _as(srv, "self", "old")
    try:
        c.admin_change_password("self", "new")
        srv.call(srv.node.close_client_connections)
        c.put(KEY, {"a": 2})  # new connections log in with the new password
        assert c.get(KEY).bins == {"a": 2}
    finally:
        c.close()
    with pytest.raises(ex.AdminError):
        _as(srv, "self", "old")
    _as(srv, "self", "new").close()


def test_allowlist_refuses_other_addresses(srv, admin):
    admin.admin_create_role("far", [{"code": "read"}], whitelist=["10.1.2.3"])
    admin.admin_create_user("faruser", "pw", ["far"])
    with pytest.raises(ex.AdminError) as ei:
        _as(srv, "faruser", "pw")
    assert ei.value.code == 82
    admin.admin_set_whitelist("far", ["127.0.0.0/8"])
    _as(srv, "faruser", "pw").close()


def test_quotas_are_enforced_per_second(srv, admin):
    srv.clock.offset = 0.0
    now = 2_000_000_000.0
    srv.clock._now = lambda: now  # frozen server time: the quota window cannot roll over
    try:
        admin.admin_create_role("limited", [{"code": "read-write"}], read_quota=2, write_quota=1)
        admin.admin_create_user("q", "pw", ["limited"])
        c = _as(srv, "q", "pw")
        try:
            c.put(KEY, {"a": 1})
            assert _code(c.put, KEY, {"a": 2}) == 83
            c.get(KEY)
            c.get(KEY)
            assert _code(c.get, KEY) == 83
            srv.clock.advance(1)
            assert c.get(KEY).bins == {"a": 1}
        finally:
            c.close()
    finally:
        import time

        srv.clock._now = time.time


def test_scan_and_query_quotas_admit_by_declared_rate(srv, admin):
    now = 2_000_000_000.0
    srv.clock._now = lambda: now  # frozen server time: the quota window cannot roll over
    try:
        admin.admin_create_user("loader", "pw", ["read-write"])
        with _as(srv, "loader", "pw") as w:
            for i in range(12):
                w.put(("test", "qscan", i), {"i": i})
        admin.admin_create_role("rl", [{"code": "read-write"}], read_quota=50, write_quota=50)
        admin.admin_create_user("rq", "pw", ["rl"])
        c = _as(srv, "rq", "pw")
        try:
            # Under a quota a scan must ask for a rate (0: unlimited is refused)...
            assert _code(c.scan("test", "qscan").results) == 83
            assert _code(c.query("test", "qscan").results) == 83
            # ... and its records are not counted one by one: 12 records at 50/s are fine.
            assert len(c.scan("test", "qscan").results({"records_per_second": 50})) == 12
            assert _code(c.scan("test", "qscan").results, {"records_per_second": 51}) == 83
            c.get(("test", "qscan", 0))
            c.get(("test", "qscan", 1))  # 2 single reads this second: 48 more fit
            assert _code(c.query("test", "qscan").results, {"records_per_second": 49}) == 83
            assert len(c.query("test", "qscan").results({"records_per_second": 48})) == 12
            srv.clock.advance(1)
            assert len(c.query("test", "qscan").results({"records_per_second": 50})) == 12
        finally:
            c.close()
    finally:
        import time

        srv.clock._now = time.time


def test_a_running_scan_keeps_its_rate_reserved_against_the_quota(srv, admin):
    now = 2_000_000_000.0
    srv.clock._now = lambda: now  # frozen server time: the quota window cannot roll over
    sec = srv.security
    try:
        admin.admin_create_user("loader2", "pw", ["read-write"])
        with _as(srv, "loader2", "pw") as w:
            for i in range(6):
                w.put(("test", "qres", i), {"i": i})
        admin.admin_create_role("rres", [{"code": "read-write"}], read_quota=10)
        admin.admin_create_user("rr", "pw", ["rres"])
        c = _as(srv, "rr", "pw")
        try:
            def attempt() -> list[int]:
                during: list[int] = []

                def while_running(rec):  # the scan's frames are paced (0.1 s apart): still running
                    if not during:
                        during.append(_code(c.get, ("test", "qres", 0)))  # 10 reserved + 1 > 10
                        during.append(_code(c.scan("test", "qres").results, {"records_per_second": 1}))
                    return True

                c.scan("test", "qres").foreach(while_running, {"records_per_second": 10})
                return during

            # (A loaded machine may deliver the first record only as the scan ends: then nothing
            # is reserved any more by the time of the checks; such a run is tried again.)
            for _ in range(3):
                during = attempt()
                if during == [83, 83]:
                    break
            assert during == [83, 83]
            assert srv.call(lambda: dict(sec.reserved)) == {}  # released with the scan's last frame
            assert c.get(("test", "qres", 0)).bins == {"i": 0}  # the quota is free again
            assert len(c.scan("test", "qres").results({"records_per_second": 9})) == 6  # 1 read + 9 fit
        finally:
            c.close()
    finally:
        import time

        srv.clock._now = time.time


# -- the admin API -------------------------------------------------------------------------------

def test_users_roles_round_trip(srv, admin):
    admin.admin_create_role("r1", [{"code": aerospike_py.PRIV_READ, "ns": "test", "set": "s"},
                                   {"code": "read_write", "ns": "bar"}],
                            whitelist=["127.0.0.1"], read_quota=10, write_quota=20)
    assert admin.admin_query_role("r1") == {
        "name": "r1",
        "privileges": [{"code": 10, "ns": "test", "set": "s"}, {"code": 11, "ns": "bar", "set": ""}],
        "allowlist": ["127.0.0.1"], "read_quota": 10, "write_quota": 20,
    }
    admin.admin_grant_privileges("r1", [{"code": aerospike_py.PRIV_TRUNCATE}])
    admin.admin_revoke_privileges("r1", [{"code": aerospike_py.PRIV_READ, "ns": "test", "set": "s"}])
    admin.admin_set_quotas("r1", 5, 6)
    admin.admin_set_whitelist("r1", [])
    role = admin.admin_query_role("r1")
    assert role["privileges"] == [{"code": 11, "ns": "bar", "set": ""}, {"code": 14, "ns": "", "set": ""}]
    assert (role["allowlist"], role["read_quota"], role["write_quota"]) == ([], 5, 6)

    admin.admin_create_user("u1", "pw", ["r1"])
    admin.admin_grant_roles("u1", ["read"])
    admin.admin_revoke_roles("u1", ["r1"])
    info = admin.admin_query_user_info("u1")
    assert info["user"] == "u1" and info["roles"] == ["read"] and info["conns_in_use"] == 0
    assert {u["user"] for u in admin.admin_query_users_info()} == {"admin", "u1"}
    names = {r["name"] for r in admin.admin_query_roles()}
    assert names == set(A.PRIVILEGE_CODES) | {"r1"}
    admin.admin_drop_role("r1")
    admin.admin_drop_user("u1")
    assert {u["user"] for u in admin.admin_query_users_info()} == {"admin"}


@pytest.mark.parametrize("call, code", [
    (lambda c: c.admin_query_user_info("nobody"), 60),
    (lambda c: c.admin_drop_user("nobody"), 60),
    (lambda c: c.admin_create_user("admin", "pw", []), 61),
    (lambda c: c.admin_create_user("u", "pw", ["no-such-role"]), 70),
    (lambda c: c.admin_query_role("nobody"), 70),
    (lambda c: c.admin_drop_role("read"), 70),
    (lambda c: c.admin_create_role("read", []), 71),
    (lambda c: c.admin_create_role("r", [], whitelist=["not-an-address"]), 73),
])
def test_server_refusals(srv, admin, call, code):
    with pytest.raises(ex.AdminError) as ei:
        call(admin)
    assert ei.value.code == code


def _raw_admin(sock, frame: bytes) -> int:
    sock.sendall(frame)
    head = b""
    while len(head) < 8:
        head += sock.recv(8 - len(head))
    size = int.from_bytes(head[2:], "big")
    body = b""
    while len(body) < size:
        body += sock.recv(size - len(body))
    return A.reply_result(body)


@pytest.mark.parametrize("call, code", [
    (lambda c: c.admin_create_user("", "pw", []), 60),
    (lambda c: c.admin_create_user("x" * 64, "pw", []), 60),
    (lambda c: c.admin_create_user("\u00e9" * 32, "pw", []), 60),  # 64 bytes in UTF-8
    (lambda c: c.admin_drop_user(""), 60),
    (lambda c: c.admin_query_user_info("u" * 64), 60),
    (lambda c: c.admin_grant_roles("", ["read"]), 60),
    (lambda c: c.admin_revoke_roles("u" * 100, ["read"]), 60),
    (lambda c: c.admin_change_password("u" * 64, "pw"), 60),
    (lambda c: c.admin_create_role("", [{"code": "read"}]), 70),
    (lambda c: c.admin_create_role("r" * 64, [{"code": "read"}]), 70),
    (lambda c: c.admin_drop_role(""), 70),
    (lambda c: c.admin_grant_privileges("r" * 64, [{"code": "read"}]), 70),
    (lambda c: c.admin_revoke_privileges("", [{"code": "read"}]), 70),
    (lambda c: c.admin_set_whitelist("", []), 70),
    (lambda c: c.admin_set_quotas("r" * 64, 1, 1), 70),
    (lambda c: c.admin_query_role(""), 70),
    (lambda c: c.admin_create_user("u", "pw", ["r" * 64]), 70),
    (lambda c: c.admin_grant_roles("admin", [""]), 70),
    (lambda c: c.admin_create_user("u", "p" * 64, []), 62),
    (lambda c: c.admin_change_password("admin", "\u00e9" * 32), 62),
])
def test_bad_names_and_passwords_raise_the_servers_code_before_sending(srv, admin, call, code):
    requests = srv.node.requests
    with pytest.raises(ex.AdminError) as ei:
        call(admin)
    assert ei.value.code == code
    assert srv.node.requests == requests


def test_names_and_passwords_at_the_limits_are_accepted(srv, admin):
    user, password, role = "u" * 63, "p" * 63, "r" * 63
    admin.admin_create_role(role, [{"code": "read"}])
    admin.admin_create_user(user, password, [role])
    _as(srv, user, password).close()
    assert admin.admin_query_user_info(user)["roles"] == [role]
    admin.admin_create_user("weak", "a", ["read"])  # no password policy: weak passwords pass
    _as(srv, "weak", "a").close()


@pytest.mark.parametrize("user, password", [("u" * 64, "pw"), ("admin", "p" * 64)])
def test_over_long_credentials_in_the_config_are_refused_before_connecting(srv, user, password):
    with pytest.raises(ex.InvalidArgError) as ei:
        _as(srv, user, password)
    assert password not in str(ei.value)


@pytest.mark.parametrize("fields, code", [
    ([(A.USER, b"")], 60),
    ([(A.USER, b"x" * 64)], 60),
    ([(A.USER, b"ok"), (A.PASSWORD, b"")], 62),
    ([(A.USER, b"ok"), (A.PASSWORD, b"not-a-bcrypt-hash")], 62),
    ([(A.USER, b"ok"), (A.PASSWORD, A.hash_password("pw")), (A.ROLES, bytes([1, 64]) + b"r" * 64)], 70),
])
def test_server_refuses_bad_names_and_hashes_on_the_wire(srv, admin, fields, code):
    import socket

    host, port = srv.config["hosts"][0][:2]
    with socket.create_connection((host, port), timeout=5) as sock:
        login = A.pack_admin(A.LOGIN, [(A.USER, b"admin"), (A.CREDENTIAL, A.hash_password("admin"))])
        assert _raw_admin(sock, login) == 0
        assert _raw_admin(sock, A.pack_admin(A.CREATE_USER, fields)) == code
        for role, code in ((b"", 70), (b"r" * 64, 70)):
            assert _raw_admin(sock, A.pack_admin(A.CREATE_ROLE, [(A.ROLE, role)])) == code


@pytest.mark.parametrize("privileges, code", [
    (bytes([1, 99]), 72),  # an unknown privilege code (the client refuses it before sending)
    (bytes([1, 10, 4]) + b"test" + bytes([0]), 0),
])
def test_server_checks_raw_privileges(srv, admin, privileges, code):
    import socket

    host, port = srv.config["hosts"][0][:2]
    with socket.create_connection((host, port), timeout=5) as sock:
        login = A.pack_admin(A.LOGIN, [(A.USER, b"admin"), (A.CREDENTIAL, A.hash_password("admin"))])
        assert _raw_admin(sock, login) == 0
        assert _raw_admin(sock, A.pack_admin(A.CREATE_ROLE, [(A.ROLE, b"raw"), (A.PRIVILEGES, privileges)])) == code


def test_empty_password_is_accepted_as_the_server_only_sees_its_hash(srv, admin):
    admin.admin_create_user("nopw", "", ["read"])
    _as(srv, "nopw", "").close()


@pytest.mark.parametrize("call, exc", [
    (lambda c: c.admin_create_user(1, "pw", []), ex.InvalidArgError),
    (lambda c: c.admin_create_user("u", None, []), ex.InvalidArgError),
    (lambda c: c.admin_create_user("u", "pw", "read"), ex.InvalidArgError),
    (lambda c: c.admin_create_role("r", [{"code": 99}]), ex.InvalidArgError),
    (lambda c: c.admin_create_role("r", [{"code": "superuser"}]), ex.InvalidArgError),
    (lambda c: c.admin_create_role("r", [{"code": 10, "bogus": 1}]), ex.InvalidArgError),
    (lambda c: c.admin_create_role("r", [{"code": aerospike_py.PRIV_SYS_ADMIN, "ns": "test"}]), ex.ClientError),
    (lambda c: c.admin_create_role("r", [{"code": aerospike_py.PRIV_READ, "set": "s"}]), ex.ClientError),
    (lambda c: c.admin_create_role("r", [], read_quota=-1), ex.InvalidArgError),
    (lambda c: c.admin_set_quotas("r", write_quota=True), ex.InvalidArgError),
    (lambda c: c.admin_set_whitelist("r", "127.0.0.1"), ex.InvalidArgError),
])
def test_bad_input_raises_before_sending(srv, admin, call, exc):
    requests = srv.node.requests
    with pytest.raises(exc):
        call(admin)
    assert srv.node.requests == requests


# -- permissions: every privilege x every command class --------------------------------------------

COMMANDS = ("read", "write", "delete", "batch_read", "batch_write", "query", "background", "udf_apply",
            "udf_background", "truncate", "udf_admin", "udf_put", "sindex", "sindex_create", "query_admin",
            "sys_admin", "user_admin", "info")
ALLOWED = {
    "read": {"read", "batch_read", "query"},
    "read-write": {"read", "write", "delete", "batch_read", "batch_write", "query", "background"},
    "read-write-udf": {"read", "write", "delete", "batch_read", "batch_write", "query", "background", "udf_apply",
                       "udf_background"},
    "write": {"write", "delete", "batch_write", "background"},
    "truncate": {"truncate"},
    "sindex-admin": {"sindex", "sindex_create"},
    "udf-admin": {"udf_admin", "udf_put"},
    "data-admin": {"truncate", "udf_admin", "udf_put", "sindex", "sindex_create", "query_admin"},
    "sys-admin": {"sys_admin", "truncate", "udf_admin", "udf_put", "sindex", "sindex_create", "query_admin"},
    "user-admin": {"user_admin"},
}


def _run_command(c, what, lua):
    """0 when allowed (whatever else happens), else the refusal's result code."""
    try:
        if what == "query":
            c.query("test", "sec").results()
        elif what == "udf_apply":
            c.apply(KEY, "nomodule", "nofunction", [])
        elif what == "udf_put":
            c.udf_put(str(lua))
        elif what == "sindex_create":
            c.index_integer_create("test", "sec", "i", "sec_i_idx")
        elif what == "read":
            c.get(KEY)
        elif what == "write":
            c.put(KEY, {"a": 1})
        elif what == "delete":
            c.remove(KEY)
        elif what == "background":
            c.query("test", "sec").execute_background([{"op": aerospike_py.OPERATOR_WRITE, "bin": "bg", "val": 1}])
        elif what == "udf_background":
            c.query("test", "sec").execute_udf_background("nomodule", "nofunction", [])
        elif what == "batch_read":  # refusals are per record, as the real server checks each
            res = c.batch_read([KEY, ("test", "sec", "k2")])
            codes = {r.result for r in res.batch_records}
            return 81 if codes == {81} else 0
        elif what == "batch_write":
            res = c.batch_write([(KEY, {"a": 1})])
            codes = {r.result for r in res.batch_records}
            return 81 if 81 in codes else 0
        elif what == "truncate":
            c.truncate("test", "sec")
        elif what in ("udf_admin", "sindex", "query_admin", "sys_admin", "info"):
            command = {"udf_admin": "udf-remove:filename=nothing.lua",
                       "sindex": "sindex-delete:namespace=test;indexname=none",
                       "query_admin": "query-abort:trid=1",
                       "sys_admin": "set-config:context=service;proto-fd-max=20000",
                       "info": "build"}[what]
            value = c.info_random_node(command)
            return 81 if value.startswith("ERROR:81") else 0
        elif what == "user_admin":
            c.admin_query_users_info()
    except aerospike_py.AerospikeError as e:
        return e.code if e.code in (80, 81) else 0
    return 0


@pytest.mark.parametrize("privilege", sorted(ALLOWED))
def test_permission_matrix(srv, admin, privilege, tmp_path):
    lua = tmp_path / "sec_perm.lua"
    lua.write_text("function hello(rec)\n  return 1\nend\n")
    admin.admin_create_user("m", "pw", [privilege])
    c = _as(srv, "m", "pw")
    try:
        got = {what: _run_command(c, what, lua) for what in COMMANDS}
    finally:
        c.close()
    want = {what: 0 if what in ALLOWED[privilege] | {"info"} else 81 for what in COMMANDS}
    assert got == want


def test_scoped_privileges(srv, admin):
    admin.admin_create_role("scoped", [{"code": "read-write", "ns": "test", "set": "s1"},
                                       {"code": "read", "ns": "bar"}])
    admin.admin_create_user("sc", "pw", ["scoped"])
    c = _as(srv, "sc", "pw")
    try:
        assert _code(c.put, ("test", "s1", 1), {"a": 1}) == 0
        assert _code(c.put, ("test", "s2", 1), {"a": 1}) == 81
        assert _code(c.put, ("bar", "s1", 1), {"a": 1}) == 81
        assert _code(c.get, ("bar", "any", 1)) == 2  # allowed: the record just does not exist
        assert _code(c.get, ("test", "s2", 1)) == 81
        c.put(("test", "s1", 1), {"a": 1})
        keys = [("test", "s1", 1), ("test", "s2", 1), ("bar", "x", 1), ("test", "s1", 2)]
        res = c.batch_read(keys)  # one batch, per-record results: 81 only where refused
        assert [r.result for r in res.batch_records] == [0, 81, 2, 2]
        assert res.batch_records[0].record.bins == {"a": 1}
        res = c.batch_write([(("test", "s1", 3), {"b": 1}), (("bar", "x", 3), {"b": 1})])
        assert [r.result for r in res.batch_records] == [0, 81]
        assert c.get(("test", "s1", 3)).bins == {"b": 1}
    finally:
        c.close()


def test_own_user_and_roles_are_readable_without_user_admin(srv, admin):
    admin.admin_create_user("me", "pw", ["read"])
    c = _as(srv, "me", "pw")
    try:
        assert c.admin_query_user_info("me")["roles"] == ["read"]
        assert c.admin_query_role("read")["privileges"] == [{"code": 10, "ns": "", "set": ""}]
        assert _code(c.admin_query_user_info, "admin") == 81
        assert _code(c.admin_query_role, "write") == 81
    finally:
        c.close()


# -- async -----------------------------------------------------------------------------------------

def test_async_client_logs_in_and_manages_users(srv, admin):
    async def main():
        a = await aerospike_py.AsyncClient({**srv.config, "min_conns_per_node": 2}).connect()
        try:
            await a.admin_create_user("au", "pw", ["read-write"])
            assert (await a.admin_query_user_info("au"))["roles"] == ["read-write"]
            await a.admin_change_password("au", "pw2")
        finally:
            await a.close()
        u = await aerospike_py.AsyncClient({"hosts": srv.config["hosts"], "user": "au", "password": "pw2"}).connect()
        try:
            await asyncio.gather(*(u.put(("test", "sec", i), {"i": i}) for i in range(20)))
            assert (await u.get(("test", "sec", 3))).bins == {"i": 3}
            with pytest.raises(ex.AdminError) as ei:
                await u.admin_query_users_info()
            assert ei.value.code == 81
        finally:
            await u.close()
        with pytest.raises(ex.AdminError) as ei:
            await aerospike_py.AsyncClient({"hosts": srv.config["hosts"], "user": "au", "password": "bad"}).connect()
        assert ei.value.code == 65

    asyncio.run(main())


# -- the real server (Community Edition: no security) -----------------------------------------------

def test_real_ce_answers_security_not_supported(real_server):
    c = aerospike_py.client(real_server.config).connect()
    try:
        for call in (c.admin_query_users_info, lambda: c.admin_create_user("security_x", "pw", ["read"]),
                     lambda: c.admin_query_role("read")):
            with pytest.raises(ex.AdminError) as ei:
                call()
            assert ei.value.code == 51
    finally:
        c.close()
    with pytest.raises(ex.AdminError) as ei:
        aerospike_py.client({**real_server.config, "user": "admin", "password": "admin"}).connect()
    assert ei.value.code == 51


def test_real_ce_official_client_gets_the_same_code(real_server):
    aerospike = pytest.importorskip("aerospike")
    o = aerospike.client({"hosts": real_server.config["hosts"]}).connect()
    try:
        with pytest.raises(aerospike.exception.AerospikeError) as ei:
            o.admin_query_users_info()
        assert ei.value.code == 51
    finally:
        o.close()


def test_embedded_without_security_answers_like_ce(server, client):
    with pytest.raises(ex.AdminError) as ei:
        client.admin_query_users_info()
    assert ei.value.code == 51


# -- golden bytes: the official client's admin requests, captured by the server --------------------

@pytest.fixture
def recorder(srv):
    """Admin frame bodies the server receives (LOGIN and AUTHENTICATE kept apart)."""
    sec = srv.security
    frames: list[bytes] = []
    real = sec.handle_admin

    def record(node, conn, body):
        frames.append(bytes(body))
        return real(node, conn, body)

    sec.handle_admin = record
    yield frames
    del sec.handle_admin


def _commands(frames, login=False):
    return [f for f in frames if (f[2] in (A.LOGIN, A.AUTHENTICATE)) == login]


GOLDEN_CALLS = [
    ("admin_create_user", ("g1", "pw", ["read", "write"])),
    ("admin_grant_roles", ("g1", ["truncate"])),
    ("admin_revoke_roles", ("g1", ["read"])),
    ("admin_query_user_info", ("g1",)),
    ("admin_query_users_info", ()),
    ("admin_create_role", ("gr", [{"code": aerospike_py.PRIV_READ, "ns": "test", "set": "s"},
                                  {"code": aerospike_py.PRIV_SYS_ADMIN}, {"code": aerospike_py.PRIV_WRITE, "ns": "bar"}],
                           None, ["127.0.0.1", "10.0.0.0/8"], 7, 9)),
    ("admin_create_role", ("gr2", [{"code": aerospike_py.PRIV_READ_WRITE_UDF}])),
    ("admin_grant_privileges", ("gr", [{"code": aerospike_py.PRIV_TRUNCATE, "ns": "test"}])),
    ("admin_revoke_privileges", ("gr", [{"code": aerospike_py.PRIV_SYS_ADMIN}])),
    ("admin_set_whitelist", ("gr", ["192.168.0.1"])),
    ("admin_set_whitelist", ("gr", [])),
    ("admin_set_quotas", ("gr", 3, 4)),
    ("admin_query_role", ("gr",)),
    ("admin_query_roles", ()),
    ("admin_drop_role", ("gr2",)),
    ("admin_drop_user", ("g1",)),
]


def test_admin_frames_match_the_official_client(srv, admin, recorder):
    aerospike = pytest.importorskip("aerospike")
    recorder.clear()
    official = aerospike.client({"hosts": srv.config["hosts"], "user": "admin", "password": "admin"}).connect()
    try:
        login = _commands(recorder, login=True)
        ours_login = A.login_request(0, "admin", A.hash_password("admin"), None)[8:]
        assert ours_login in login  # the official client's LOGIN, byte for byte (its AUTHENTICATEs on other connections may come first)
        for name, args in GOLDEN_CALLS:
            recorder.clear()
            getattr(official, name)(*args)
            theirs = _commands(recorder)
            recorder.clear()
            try:
                getattr(admin, name)(*args)  # the same request again: the server may refuse it now
            except ex.AdminError:
                pass
            assert _commands(recorder) == theirs, name
    finally:
        official.close()


def test_authenticate_frames_match_the_official_client(srv, admin, recorder):
    """The official client's AUTHENTICATE (token of its LOGIN, on its other connections) is the
    frame ours builds for that token, byte for byte."""
    aerospike = pytest.importorskip("aerospike")
    recorder.clear()
    official = aerospike.client({"hosts": srv.config["hosts"], "user": "admin", "password": "admin",
                                 "min_conns_per_node": 3}).connect()
    try:
        for _ in range(5):
            official.admin_query_user_info("admin")
        auths = [f for f in recorder if f[2] == A.AUTHENTICATE]
        assert auths, "the official client opened no second connection"
        for frame in auths:
            (_, _, fields), = A.iter_records(frame)
            assert A.authenticate_request(0, "admin", fields[A.SESSION_TOKEN])[8:] == frame
    finally:
        official.close()


def test_own_password_change_frame_matches_the_official_client(srv, admin, recorder):
    aerospike = pytest.importorskip("aerospike")
    admin.admin_create_user("cp", "old", ["read"])
    official = aerospike.client({"hosts": srv.config["hosts"], "user": "cp", "password": "old"}).connect()
    ours = _as(srv, "cp", "old")
    try:
        recorder.clear()
        official.admin_change_password("cp", "new")
        theirs = _commands(recorder)
        admin.admin_change_password("cp", "old")  # back (this ends cp's sessions: ours logs in again)
        recorder.clear()
        ours.admin_change_password("cp", "new")
        assert _commands(recorder) == theirs and theirs[0][2] == A.CHANGE_PASSWORD
    finally:
        official.close()
        ours.close()


def test_official_client_gets_the_same_permission_errors(srv, admin):
    aerospike = pytest.importorskip("aerospike")
    admin.admin_create_user("peer", "pw", ["read"])
    official = aerospike.client({"hosts": srv.config["hosts"], "user": "peer", "password": "pw"}).connect()
    ours = _as(srv, "peer", "pw")
    try:
        for off_call, our_call in [
            (lambda: official.put(KEY, {"a": 1}), lambda: ours.put(KEY, {"a": 1})),
            (lambda: official.remove(KEY), lambda: ours.remove(KEY)),
            (lambda: official.admin_query_users_info(), lambda: ours.admin_query_users_info()),
            (lambda: official.admin_query_user_info("admin"), lambda: ours.admin_query_user_info("admin")),
            (lambda: official.admin_create_role("x", [{"code": aerospike.PRIV_READ}]),
             lambda: ours.admin_create_role("x", [{"code": aerospike_py.PRIV_READ}])),
            (lambda: official.admin_drop_user("admin"), lambda: ours.admin_drop_user("admin")),
            (lambda: official.info_random_node("truncate:namespace=test;set=sec"),
             lambda: ours.truncate("test", "sec")),
        ]:
            with pytest.raises(aerospike.exception.AerospikeError) as theirs:
                off_call()
            assert theirs.value.code == _code(our_call) == 81
    finally:
        official.close()
        ours.close()


def test_official_client_gets_the_same_quota_and_bad_name_errors(srv, admin):
    aerospike = pytest.importorskip("aerospike")
    now = 2_000_000_000.0
    srv.clock._now = lambda: now  # frozen server time: one quota window
    try:
        admin.admin_create_role("q1", [{"code": "read-write"}], read_quota=5, write_quota=1)
        admin.admin_create_user("quser", "pw", ["q1"])
        official = aerospike.client({"hosts": srv.config["hosts"], "user": "quser", "password": "pw"}).connect()
        ours = _as(srv, "quser", "pw")
        try:
            official.put(KEY, {"a": 1})
            with pytest.raises(aerospike.exception.AerospikeError) as theirs:
                official.put(KEY, {"a": 2})
            assert theirs.value.code == _code(ours.put, KEY, {"a": 2}) == 83
            with pytest.raises(aerospike.exception.AerospikeError) as theirs:
                official.scan("test", "sec").results()  # no rate under a quota
            assert theirs.value.code == _code(ours.scan("test", "sec").results) == 83
        finally:
            official.close()
            ours.close()
    finally:
        import time

        srv.clock._now = time.time
    # Bad names the official client sends on (the server answers): our client raises the same code
    # before sending.
    official = aerospike.client({"hosts": srv.config["hosts"], "user": "admin", "password": "admin"}).connect()
    try:
        for name, args in [("admin_create_user", ("", "pw", ["read"])), ("admin_drop_user", ("u" * 64,)),
                           ("admin_query_user_info", ("u" * 64,)),
                           ("admin_create_role", ("", [{"code": aerospike_py.PRIV_READ}])),
                           ("admin_create_role", ("r" * 64, [{"code": aerospike_py.PRIV_READ}])),
                           ("admin_drop_role", ("r" * 64,))]:
            with pytest.raises(aerospike.exception.AerospikeError) as theirs:
                getattr(official, name)(*args)
            assert theirs.value.code == _code(getattr(admin, name), *args) in (60, 70), name
    finally:
        official.close()


def test_async_pool_gives_back_the_slot_of_a_refused_login(srv, admin):
    admin.admin_create_user("slot", "pw", ["read-write"])

    async def main():
        a = await aerospike_py.AsyncClient({"hosts": srv.config["hosts"], "user": "slot", "password": "pw"}).connect()
        try:
            await a.put(KEY, {"a": 1})
            admin.admin_change_password("slot", "other")  # ends its sessions; its password is wrong now
            srv.call(srv.node.close_client_connections)
            node = a._cluster.node_list[0]
            for _ in range(3):
                with pytest.raises(ex.AdminError) as ei:
                    await a.get(KEY)
                assert ei.value.code == 65
            assert node.async_pool.count == 0  # every refused connection gave its slot back
        finally:
            await a.close()

    asyncio.run(main())


def test_sync_pool_gives_back_the_slot_of_a_refused_login(srv, admin):
    admin.admin_create_user("slot2", "pw", ["read-write"])
    c = _as(srv, "slot2", "pw")
    try:
        c.put(KEY, {"a": 1})
        admin.admin_change_password("slot2", "other")
        srv.call(srv.node.close_client_connections)
        node = c._cluster.node_list[0]
        for _ in range(3):
            assert _code(c.get, KEY) == 65
        assert node.conn_count == 0
    finally:
        c.close()


def test_three_node_cluster_shares_its_users():
    from aerospike_py.server import EmbeddedCluster

    with EmbeddedCluster(nodes=3, security=True) as cl:
        seed = cl.config["hosts"][:1]
        with aerospike_py.client({**cl.config, "hosts": seed}).connect() as c:
            assert len(c.get_node_names()) == 3
            c.admin_create_user("clu", "pw", ["read-write"])  # on one node, known to all
        logins = cl.security.logins
        with aerospike_py.client({"hosts": seed, "user": "clu", "password": "pw", "min_conns_per_node": 2}).connect() as u:
            for i in range(30):
                u.put(("test", "sec", i), {"i": i})
            assert all(u.get(("test", "sec", i)).bins == {"i": i} for i in range(30))
            assert u.admin_query_user_info("clu")["roles"] == ["read-write"]
        assert cl.security.logins - logins == 3  # one LOGIN per node (tend connections); tokens for the rest


def test_quotas_apply_at_each_node():
    from aerospike_py.server import EmbeddedCluster

    with EmbeddedCluster(nodes=2, security=True) as cl:
        now = 2_000_000_000.0
        cl.clock._now = lambda: now  # frozen server time: one quota window
        with aerospike_py.client(cl.config).connect() as c:
            c.admin_create_role("w1", [{"code": "read-write"}], write_quota=1)
            c.admin_create_user("pernode", "pw", ["w1"])
        with aerospike_py.client({"hosts": cl.config["hosts"], "user": "pernode", "password": "pw"}).connect() as u:
            codes = [_code(u.put, ("test", "sec", i), {"i": i}) for i in range(20)]
        # As on a real cluster, the quota applies at each node: one write per node this second.
        assert sorted(codes) == [0, 0] + [83] * 18

