"""TLS: certificates made at test time; chain and name verification, expiry, mutual TLS, PKI login,
sync and async clients, a 3-node cluster over TLS, and the official client as a peer."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("cryptography")

import aerospike_py  # noqa: E402
from _certs import TLS_NAME, make_certs  # noqa: E402
from aerospike_py import exception as ex  # noqa: E402
from aerospike_py.server import EmbeddedCluster, EmbeddedServer  # noqa: E402

KEY = ("test", "tls", "k")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_srv(certs):
    with EmbeddedServer(tls={"certfile": certs.server.cert, "keyfile": certs.server.key, "cafile": certs.ca.file},
                        tls_name=TLS_NAME) as srv:
        yield srv


@pytest.fixture(scope="module")
def mtls_srv(certs):
    """Client certificates required; security on (PKI users map from the certificate's name)."""
    pytest.importorskip("bcrypt")
    with EmbeddedServer(tls={"certfile": certs.server.cert, "keyfile": certs.server.key, "cafile": certs.ca.file,
                             "verify_client": True}, tls_name=TLS_NAME, security=True) as srv:
        srv.call(srv.security.add_role, "app", [(11, "test", "")])
        srv.call(srv.security.add_user, "pkiuser", "unused-password", ["app"])
        yield srv


def _cfg(srv, tls, name=TLS_NAME, **extra):
    return {"hosts": [(srv.host, srv.port, name)], "tls": {"enable": True, **tls}, **extra}


def _connect_error(config):
    with pytest.raises(aerospike_py.AerospikeError) as ei:
        aerospike_py.client(config).connect()
    return ei.value


def test_config_of_a_tls_server_connects(tls_srv):
    cfg = tls_srv.config
    assert cfg["hosts"] == [(tls_srv.host, tls_srv.port, TLS_NAME)] and cfg["tls"]["enable"]
    with aerospike_py.client(cfg).connect() as c:
        c.put(KEY, {"a": 1})
        assert c.get(KEY).bins == {"a": 1}
        assert c.info_random_node("build")


def test_async_client_over_tls(tls_srv):
    async def main():
        a = await aerospike_py.AsyncClient({**tls_srv.config, "min_conns_per_node": 2}).connect()
        try:
            await asyncio.gather(*(a.put(("test", "tls", i), {"i": i}) for i in range(10)))
            assert (await a.get(("test", "tls", 7))).bins == {"i": 7}
        finally:
            await a.close()

    asyncio.run(main())


def test_wrong_ca_is_refused(tls_srv, certs):
    err = _connect_error(_cfg(tls_srv, {"cafile": str(certs.other_ca.file)}))
    assert isinstance(err, ex.ClusterError) and "CERTIFICATE_VERIFY_FAILED" in str(err)


def test_wrong_name_is_refused(tls_srv, certs):
    err = _connect_error(_cfg(tls_srv, {"cafile": str(certs.ca.file)}, name="not.the.name"))
    assert "CERTIFICATE_VERIFY_FAILED" in str(err) and "mismatch" in str(err).lower()


def test_host_without_tls_name_is_checked_against_the_address(tls_srv, certs):
    cfg = {"hosts": [(tls_srv.host, tls_srv.port)], "tls": {"enable": True, "cafile": str(certs.ca.file)}}
    with aerospike_py.client(cfg).connect() as c:  # the certificate lists 127.0.0.1
        assert c.is_connected()


@pytest.mark.parametrize("which", ["expired", "wrong_name"])
def test_bad_server_certificates(certs, which):
    issued = getattr(certs, which)
    with EmbeddedServer(tls={"certfile": issued.cert, "keyfile": issued.key}, tls_name=TLS_NAME) as srv:
        err = _connect_error(_cfg(srv, {"cafile": str(certs.ca.file)}))
    assert "CERTIFICATE_VERIFY_FAILED" in str(err)
    assert ("expired" in str(err)) == (which == "expired")


def _async_connect_error(config):
    async def main():
        with pytest.raises(aerospike_py.AerospikeError) as ei:
            await aerospike_py.AsyncClient(config).connect()
        return ei.value

    return asyncio.run(main())


@pytest.mark.parametrize("case", ["wrong_ca", "wrong_name", "expired", "no_client_cert", "rogue_client_cert"])
def test_async_client_refusals_over_tls(tls_srv, mtls_srv, certs, case):
    ca = {"cafile": str(certs.ca.file)}
    if case == "expired":
        with EmbeddedServer(tls={"certfile": certs.expired.cert, "keyfile": certs.expired.key},
                            tls_name=TLS_NAME) as srv:
            err = _async_connect_error(_cfg(srv, ca))
        assert "CERTIFICATE_VERIFY_FAILED" in str(err) and "expired" in str(err)
        return
    config = {
        "wrong_ca": _cfg(tls_srv, {"cafile": str(certs.other_ca.file)}),
        "wrong_name": _cfg(tls_srv, ca, name="not.the.name"),
        "no_client_cert": _cfg(mtls_srv, ca, user="admin", password="admin", timeout=2000),
        "rogue_client_cert": _cfg(mtls_srv, {**ca, "certfile": str(certs.rogue_client.cert),
                                             "keyfile": str(certs.rogue_client.key)},
                                  user="admin", password="admin", timeout=2000),
    }[case]
    err = _async_connect_error(config)
    if case in ("wrong_ca", "wrong_name"):
        assert isinstance(err, ex.ClusterError) and "CERTIFICATE_VERIFY_FAILED" in str(err)
        assert ("mismatch" in str(err).lower()) == (case == "wrong_name")
    else:  # the server ends the handshake: the client never gets to log in
        assert isinstance(err, ex.ClusterError) and err.code == -11


def test_async_client_with_a_client_certificate_logs_in_over_mutual_tls(mtls_srv, certs):
    tls = {"cafile": str(certs.ca.file), "certfile": str(certs.client_locked.cert),
           "keyfile": str(certs.client_locked.key), "keyfile_pw": "keypw"}

    async def main():
        a = await aerospike_py.AsyncClient(_cfg(mtls_srv, tls, user="admin", password="admin",
                                                min_conns_per_node=2)).connect()
        try:
            await a.admin_create_user("tls_async", "pw", ["read-write"])
            assert (await a.admin_query_user_info("tls_async"))["roles"] == ["read-write"]
            await a.admin_drop_user("tls_async")
        finally:
            await a.close()

    logins = mtls_srv.security.logins
    asyncio.run(main())
    assert mtls_srv.security.logins > logins


def test_plain_client_cannot_talk_to_a_tls_server(tls_srv):
    err = _connect_error({"hosts": [(tls_srv.host, tls_srv.port)], "timeout": 500})
    assert isinstance(err, (ex.ClusterError, ex.AerospikeTimeoutError))


def test_client_certificate_required(mtls_srv, certs):
    ca = {"cafile": str(certs.ca.file)}
    _connect_error(_cfg(mtls_srv, ca, user="admin", password="admin"))  # no certificate
    _connect_error(_cfg(mtls_srv, {**ca, "certfile": str(certs.rogue_client.cert),
                                   "keyfile": str(certs.rogue_client.key)}, user="admin", password="admin"))
    good = {**ca, "certfile": str(certs.client_locked.cert), "keyfile": str(certs.client_locked.key),
            "keyfile_pw": "keypw"}
    with aerospike_py.client(_cfg(mtls_srv, good, user="admin", password="admin")).connect() as c:
        assert c.admin_query_user_info("admin")["roles"] == ["user-admin"]


def test_wrong_key_password_is_a_config_error_without_the_password(certs):
    with pytest.raises(ex.InvalidArgError) as ei:
        aerospike_py.client({"hosts": [("127.0.0.1", 1)], "tls": {
            "enable": True, "certfile": str(certs.client_locked.cert), "keyfile": str(certs.client_locked.key),
            "keyfile_pw": "not-the-pw-xyz"}}).connect()
    assert "not-the-pw-xyz" not in str(ei.value)


def test_pki_login_maps_the_certificate_to_a_user(mtls_srv, certs):
    tls = {"cafile": str(certs.ca.file), "certfile": str(certs.pki_user.cert), "keyfile": str(certs.pki_user.key)}
    with aerospike_py.client(_cfg(mtls_srv, tls, auth_mode=aerospike_py.AUTH_PKI)).connect() as c:
        c.put(KEY, {"pki": 1})
        assert c.get(KEY).bins == {"pki": 1}
        with pytest.raises(ex.AdminError) as ei:
            c.put(("bar", "tls", 1), {"a": 1})
        assert ei.value.code == 81
    other = {**tls, "certfile": str(certs.client.cert), "keyfile": str(certs.client.key)}
    err = _connect_error(_cfg(mtls_srv, other, auth_mode=aerospike_py.AUTH_PKI))
    assert isinstance(err, ex.AdminError) and err.code == 60  # no user "client-app"


def test_tls_config_errors():
    for tls in ({"enable": True, "bogus": 1}, {"enable": True, "cafile": "/nonexistent/ca.pem"},
                {"enable": True, "protocols": "SSLv3"}, {"enable": True, "for_login_only": True}):
        with pytest.raises(ex.InvalidArgError):
            aerospike_py.client({"hosts": [("127.0.0.1", 1)], "tls": tls}).connect()


def test_protocol_bounds(tls_srv, certs):
    ca = {"cafile": str(certs.ca.file)}
    with aerospike_py.client(_cfg(tls_srv, {**ca, "protocols": "TLSv1.3"})).connect() as c:
        assert c.is_connected()
    with aerospike_py.client(_cfg(tls_srv, {**ca, "protocols": "all -TLSv1 -TLSv1.1 -TLSv1.3"})).connect() as c:
        assert c.is_connected()


def test_three_node_cluster_over_tls(certs):
    with EmbeddedCluster(nodes=3, tls={"certfile": certs.server.cert, "keyfile": certs.server.key,
                                       "cafile": certs.ca.file}, tls_name=TLS_NAME) as cl:
        seed = cl.config["hosts"][:1]  # one seed: the others come from peers-tls-std
        with aerospike_py.client({**cl.config, "hosts": seed}).connect() as c:
            assert len(c.get_node_names()) == 3
            for i in range(30):
                c.put(("test", "tls", i), {"i": i})
            assert all(c.get(("test", "tls", i)).bins == {"i": i} for i in range(30))


def test_official_client_over_tls_and_pki(tls_srv, mtls_srv, certs):
    aerospike = pytest.importorskip("aerospike")
    o = aerospike.client({"hosts": [(tls_srv.host, tls_srv.port, TLS_NAME)],
                          "tls": {"enable": True, "cafile": str(certs.ca.file)}}).connect()
    try:
        o.put(("test", "tls", "official"), {"official": 1})
        assert o.get(("test", "tls", "official"))[2] == {"official": 1}
    finally:
        o.close()
    o = aerospike.client({"hosts": [(mtls_srv.host, mtls_srv.port, TLS_NAME)], "policies": {"auth_mode": aerospike.AUTH_PKI},
                          "tls": {"enable": True, "cafile": str(certs.ca.file), "certfile": str(certs.pki_user.cert),
                                  "keyfile": str(certs.pki_user.key)}}).connect()
    try:
        o.put(("test", "tls", "official-pki"), {"pki": 2})
        assert o.get(("test", "tls", "official-pki"))[2] == {"pki": 2}
    finally:
        o.close()


def test_cli_with_security_and_tls(certs):
    import os
    import re
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "aerospike_py.server", "--port", "0", "--security", "--tls-cert", str(certs.server.cert),
         "--tls-key", str(certs.server.key), "--tls-name", TLS_NAME], stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "(TLS)" in line and "admin/admin" in line, line
        port = int(re.search(r"listening on [\d.]+:(\d+)", line).group(1))
        cfg = {"hosts": [("127.0.0.1", port, TLS_NAME)], "tls": {"enable": True, "cafile": str(certs.ca.file)}}
        with pytest.raises(ex.AdminError):
            aerospike_py.client(cfg).connect()
        with aerospike_py.client({**cfg, "user": "admin", "password": "admin"}).connect() as c:
            assert [u["user"] for u in c.admin_query_users_info()] == ["admin"]
    finally:
        proc.terminate()
        proc.wait(5)
