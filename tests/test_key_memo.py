"""The memo of recently parsed keys never hands a key's entry to an equal key of another type."""

from __future__ import annotations

import pytest

from aerospike_py._commands.batch import parse_keys
from aerospike_py._commands.keys import parse_key
from aerospike_py.exception import InvalidArgError


@pytest.mark.parametrize("other", [True, 1.0])
def test_equal_keys_of_other_types_are_refused(other):
    one = ("test", "memo", 1)
    assert parse_key(one)[1] == 1
    assert parse_key(one) is parse_key(("test", "memo", 1))  # from the memo
    with pytest.raises(InvalidArgError):
        parse_key(("test", "memo", other))
    parse_keys([one, one])  # all in the memo
    with pytest.raises(InvalidArgError, match=r"keys\[1\]"):
        parse_keys([one, ("test", "memo", other)])


def test_batch_keys_from_memo_match_fresh_parse():
    keys = [("test", "memo", i) for i in range(50)] + [("test", "memo", f"s{i}") for i in range(50)]
    fresh = [parse_key(k) for k in keys]
    again = parse_keys(keys)
    assert again == fresh
    assert [k[5] for k in again] == [(k[0], k[1], k[2], f[2]) for k, f in zip(keys, fresh, strict=True)]


def test_unhashable_and_short_keys_still_named():
    with pytest.raises(InvalidArgError, match=r"keys\[1\]"):
        parse_keys([("test", "memo", 1), ("test", "memo", [1])])
    with pytest.raises(InvalidArgError, match=r"keys\[0\]"):
        parse_keys([("test", "memo")])


def test_full_memo_drops_its_older_half():
    from aerospike_py._commands import keys as K

    K._RECENT.clear()
    first = [("test", "memo_evict", i) for i in range(K._RECENT_KEYS)]
    for k in first:
        parse_key(k)
    assert len(K._RECENT) == K._RECENT_KEYS
    newer = ("test", "memo_evict", "newer")
    parse_key(newer)
    assert len(K._RECENT) == K._RECENT_KEYS // 2 + 1
    assert first[0] not in K._RECENT and first[K._RECENT_KEYS // 2 - 1] not in K._RECENT
    assert first[K._RECENT_KEYS // 2] in K._RECENT and first[-1] in K._RECENT and newer in K._RECENT
    assert parse_key(first[0]) == parse_key(("test", "memo_evict", 0))  # parsed again, the same key


@pytest.mark.parametrize("openssl", [True, False], ids=["openssl", "pure-python"])
def test_fresh_keys_get_the_reference_digest_and_partition(openssl, monkeypatch):
    """The memo-miss path (digest and partition id inlined) agrees with compute_digest and
    partition_id, with OpenSSL's RIPEMD-160 and with the pure-Python fallback."""
    from aerospike_py._commands import keys as K
    from aerospike_py._wire.digest import compute_digest, partition_id

    monkeypatch.setattr(K, "_RECENT", {})
    monkeypatch.setattr(K, "_SPACES", {})
    if not openssl:
        real = K.KeySpace.__init__

        def no_openssl(self, namespace, set_name):
            real(self, namespace, set_name)
            self.hasher.bases = None

        monkeypatch.setattr(K.KeySpace, "__init__", no_openssl)
    for user_key, ptype, kb in [("a", 3, b"a"), ("", 3, b""), (7, 1, (7).to_bytes(8, "big")),
                                (-1, 1, b"\xff" * 8), ("é" * 40, 3, ("é" * 40).encode())]:
        rk = parse_key(("test", "memo-miss", user_key))
        assert rk.digest == compute_digest("memo-miss", ptype, kb)
        assert rk.partition_id == partition_id(rk.digest)
        assert rk.public == ("test", "memo-miss", user_key, rk.digest)
    if not openssl:
        assert K._SPACES[("test", "memo-miss")].hasher.bases is None
