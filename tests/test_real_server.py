"""The real-server fixture itself: our client talks to a real Aerospike server."""

from __future__ import annotations

import aerospike_py


def test_put_get_on_real_server(real_server) -> None:
    with aerospike_py.client(real_server.config).connect() as c:
        key = ("test", "fixture_check", "k1")
        c.put(key, {"a": 1, "s": "x"})
        assert c.get(key).bins == {"a": 1, "s": "x"}
        c.remove(key)
