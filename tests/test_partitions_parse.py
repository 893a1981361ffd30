"""``replicas`` info answers: good maps parsed, broken ones left out (never an untyped error)."""

from __future__ import annotations

import base64

from aerospike_py._net.partitions import bitmap_partitions, build_bitmap, parse_replicas

FULL = base64.b64encode(build_bitmap(range(4096))).decode()
NONE = base64.b64encode(build_bitmap([])).decode()


def test_good_maps_with_and_without_regime() -> None:
    got = parse_replicas(f"test:3,2,{FULL},{NONE};bar:1,{FULL}")
    assert got["test"][0] == 3 and len(bitmap_partitions(got["test"][1][0])) == 4096
    assert bitmap_partitions(got["test"][1][1]) == []
    assert got["bar"] == (0, [base64.b64decode(FULL)])


def test_broken_maps_are_left_out() -> None:
    bad = [
        "test:0,1,!!!notbase64!!!",  # not base64
        f"test:0,1,{FULL[:-8]}",  # cut: fewer than 512 bytes
        "test:0,1,AAAA",  # valid base64, wrong size
        f"test:1,3,{FULL},{FULL}",  # fewer maps than announced
        f"test:0,{FULL}",  # no replica at all
    ]
    for value in bad:
        assert parse_replicas(value + f";bar:0,1,{FULL}") == {"bar": (0, [base64.b64decode(FULL)])}, value
