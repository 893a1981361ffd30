"""Admin frame codec (sans-IO): what is packed parses back, in the client's and the server's use."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aerospike_py._wire import admin as A

names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=","), max_size=20).filter(
    lambda s: len(s.encode()) <= 63)
privileges = st.one_of(
    st.tuples(st.sampled_from([0, 1, 2, 3, 4]), st.just(""), st.just("")),
    st.tuples(st.sampled_from([10, 11, 12, 13, 14]), names, names),
)


@given(st.lists(privileges, max_size=20))
def test_privileges_round_trip(privs):
    assert A.parse_privileges(A.pack_privileges(privs)) == privs


@given(st.lists(names, max_size=30))
def test_roles_round_trip(roles):
    assert A.parse_roles(A.pack_roles(roles)) == roles


@given(st.lists(names.filter(bool), max_size=10))
def test_whitelist_round_trip(addresses):
    assert A.parse_whitelist(A.pack_whitelist(addresses)) == addresses


@given(st.lists(st.integers(0, 2**32 - 1), max_size=8))
def test_info_round_trip(values):
    assert A.parse_info(A.pack_info(values)) == values


@given(st.integers(0, 255), st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=40)), max_size=6,
                                     unique_by=lambda f: f[0]))
def test_frames_parse_back(command, fields):
    frame = A.pack_admin(command, fields)
    assert frame[:2] == b"\x02\x02" and int.from_bytes(frame[2:8], "big") == len(frame) - 8
    [(result, cmd, parsed)] = list(A.iter_records(frame[8:]))
    assert (result, cmd, parsed) == (0, command, dict(fields))


def test_stream_ends_with_query_end():
    stream = A.pack_stream([A.pack_record(0, [(A.USER, b"u")]), A.pack_record(0, [(A.USER, b"v")])])
    first_len = int.from_bytes(stream[2:8], "big")
    records = list(A.iter_records(stream[8:8 + first_len]))
    assert [f[A.USER] for _, _, f in records] == [b"u", b"v"]
    assert [r for r, _, _ in A.iter_records(stream[16 + first_len:])] == [A.QUERY_END]


def test_login_requests_by_mode():
    cred = b"$2a$10$" + b"x" * 53
    internal = list(A.iter_records(A.login_request(0, "u", cred, None)[8:]))[0]
    external = list(A.iter_records(A.login_request(1, "u", cred, "pw")[8:]))[0]
    pki = list(A.iter_records(A.login_request(2, None, None, None)[8:]))[0]
    assert internal[2] == {A.USER: b"u", A.CREDENTIAL: cred}
    assert external[2] == {A.USER: b"u", A.CREDENTIAL: cred, A.CLEAR_PASSWORD: b"pw"}
    assert pki[1:] == (A.LOGIN, {})
    assert list(A.iter_records(A.authenticate_request(2, None, b"tok")[8:]))[0][2] == {A.SESSION_TOKEN: b"tok"}


def test_auth_steps_prefer_a_newer_token_then_login():
    from aerospike_py._net.auth import Auth

    auth = Auth(0, "u", "pw")
    addr = "h:1"
    assert auth.first_request(addr)[0] is None  # no token yet: LOGIN
    login_ok = A.pack_admin(0, [(A.SESSION_TOKEN, b"t1"), (A.SESSION_TTL, A.u32(3600))])[8:]
    assert auth.on_reply(addr, None, login_ok)
    token, _ = auth.first_request(addr)
    assert token == b"t1" and not auth.expiring(addr)
    refused = A.pack_admin(0, (), 66)[8:]
    # Another connection logged in meanwhile (t2): the refusal of t1 keeps t2, the next step uses it.
    auth._sessions[addr] = (b"t2", auth._sessions[addr][1])
    assert not auth.on_reply(addr, b"t1", refused)
    assert auth.next_request(addr, 1)[0] == b"t2"
    assert not auth.on_reply(addr, b"t2", refused)
    assert auth.next_request(addr, 2)[0] is None and auth.expiring(addr)
    import pytest

    from aerospike_py.exception import AdminError

    with pytest.raises(AdminError) as ei:
        auth.on_reply(addr, None, A.pack_admin(0, (), 65)[8:])
    assert ei.value.code == 65 and "pw" not in str(ei.value).replace("password", "")
    assert auth.on_reply(addr, None, A.pack_admin(0, (), 52)[8:])  # security not enabled: nothing to do
    assert auth.first_request(addr) is None and not auth.expiring(addr)

