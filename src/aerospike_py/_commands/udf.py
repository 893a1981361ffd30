"""User-defined functions: ``apply`` (a record UDF call) and module registration over info.

``apply`` is a write message whose fields name the module (30), the function (31) and carry the
arguments as a msgpack list (32); it has no ops. The reply holds one bin: ``SUCCESS`` with the
function's value, or ``FAILURE`` with the error text (result code 100, ``file:line: message``).

Registration is info: ``udf-put:filename=..;content=<base64>;content-len=..;udf-type=LUA;``,
``udf-remove:filename=..;``, ``udf-list`` and ``udf-get:filename=..;``. ``udf_put`` and
``udf_remove`` then poll ``udf-list`` on every node until all of them agree (:func:`wait_steps`),
as the official clients' register tasks do.
"""

from __future__ import annotations

import base64
import os
import struct
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from .._policy import write_attrs
from .._wire import constants as W
from .._wire.info import info_error, pack_info_request
from .._wire.message import _PROTO_MSG, MSG_HEADER, pack_field, pack_message_raw, parse_bins, skip_fields
from .._wire.values import ValueTypeError, decode_particle, pack_cdt
from ..exception import (
    AerospikeError,
    AerospikeTimeoutError,
    InvalidArgError,
    UDFError,
    _error_from_result_code,
)
from .base import Command, raise_for
from .info import answers
from .keys import parse_key
from .record import _fields

if TYPE_CHECKING:
    from .._net.cluster import Node

_unpack_header = MSG_HEADER.unpack_from
_unpack_u32 = struct.Struct(">I").unpack_from
#: ``udf_type`` values: only Lua exists.
UDF_TYPE_LUA = 0
#: Seconds between two ``udf-list`` polls of a register/remove task.
POLL_INTERVAL = 0.05


# --------------------------------------------------------------------------- arguments


def check_name(what: str, value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise InvalidArgError(f"{what} must be a non-empty str, got {value!r}")
    b = value.encode()
    if len(b) > 127:
        raise InvalidArgError(f"{what} is too long ({len(b)} bytes)")
    return b


def pack_args(args: Any) -> bytes:
    """The argument list as the msgpack list the server passes to the function."""
    if args is None:
        args = []
    elif not isinstance(args, (list, tuple)):
        raise InvalidArgError(f"UDF args must be a list, not {type(args).__name__}")
    try:
        return pack_cdt(list(args))
    except (ValueTypeError, TypeError, OverflowError, ValueError) as e:
        raise InvalidArgError(f"UDF args: {e}") from None


def udf_fields(module: bytes, function: bytes, arglist: bytes) -> list[bytes]:
    """Fields 30-32 of a UDF call (``apply`` and ``batch_apply`` entries)."""
    return [pack_field(W.FIELD_UDF_PACKAGE_NAME, module), pack_field(W.FIELD_UDF_FUNCTION, function),
            pack_field(W.FIELD_UDF_ARGLIST, arglist)]


# --------------------------------------------------------------------------- apply


def udf_result(bins: dict[str, Any] | None, rc: int, node: str, key: Any) -> Any:
    """The function's value from a reply's bins, or the UDFError its ``FAILURE`` bin describes."""
    if bins:
        if rc == 0 and "SUCCESS" in bins:
            return bins["SUCCESS"]
        failure = bins.get("FAILURE")
        if failure is not None:
            raise _error_from_result_code(rc or 100, failure if isinstance(failure, str) else repr(failure),
                                         node=node, key=key)
    return None


#: A successful reply's bytes 18..30 and 30..37 (no fields, one op on bin SUCCESS: value after byte 37).
_ONE_OP = b"\x00\x00\x00\x01"


def _parse_apply(cmd: Command, body: Any, node: str) -> Any:
    if body[5] == 0 and body[18:22] == _ONE_OP and body[29] == 7 and body[30:37] == b"SUCCESS":
        if type(body) is not bytes:
            body = bytes(body)
        pt = body[27]
        v = body[37:26 + _unpack_u32(body, 22)[0]]
        if pt == 1:
            return int.from_bytes(v, "big", signed=True)
        if pt == 3:
            return v.decode()
        return decode_particle(pt, v)
    _, _, _, _, _, rc, _gen, _vt, _, nfields, nops = _unpack_header(body, 0)
    if nops:
        bins, _ = parse_bins(body, skip_fields(body, 22, nfields) if nfields else 22, nops)
        if rc == 0 or "FAILURE" in bins:
            return udf_result(bins, rc, node, cmd.key.to_public())
    if rc:
        raise_for(cmd, rc, node)
    return None


#: (module, function) -> their two packed fields (bounded; names repeat in real use).
_NAME_FIELDS: dict[tuple[str, str], bytes] = {}
_NO_ARGS = pack_field(W.FIELD_UDF_ARGLIST, pack_cdt([]))
_pack_proto = struct.Struct(">Q").pack
#: ``(module, function, id(policy), id(key space)) -> (policy, space, whole request up to the
#: digest for no arguments, the same without its 8-byte proto header, the name fields after the
#: digest, the same followed by an empty argument list)``: an apply with a long-lived policy (``cacheable``: the defaults) and no filter or
#: user key to send only joins bytes, as ``record.get`` does with its templates. Bounded.
_TEMPLATES: dict[tuple[str, str, int, int], tuple[Any, Any, bytes, bytes, bytes, bytes]] = {}


def apply(key: Any, module: Any, function: Any, args: Any, policy: Any) -> Command:
    """A record UDF call: ``module.function(rec, *args)`` on the record at ``key``."""
    k = parse_key(key)
    if type(module) is str and type(function) is str:
        t = _TEMPLATES.get((module, function, id(policy), id(k.space)))
        if t is not None and t[0] is policy and t[1] is k.space:
            if args is None or (not args and type(args) in (list, tuple)):
                return Command(k, t[2] + k.digest + t[5], True, _parse_apply, policy)
            body = t[3] + k.digest + t[4] + pack_field(W.FIELD_UDF_ARGLIST, pack_args(args))
            return Command(k, _pack_proto(_PROTO_MSG | len(body)) + body, True, _parse_apply, policy)
        cmd = _apply(k, module, function, args, policy)
        _cache_template(k, module, function, policy)
        return cmd
    return _apply(k, module, function, args, policy)


def _cache_template(k: Any, module: str, function: str, policy: Any) -> None:
    """Remember the request template of ``apply`` with this policy in this key space (see
    :data:`_TEMPLATES`): only a long-lived policy, no filter expression, no user key to send."""
    if not policy.cacheable or policy["filter_expression"] is not None or write_attrs(policy, None)[4] == 1:
        return
    req = _apply(k, module, function, None, policy).request
    at = 8 + 22 + len(k.space.prefix)  # the digest's offset: proto and message headers, ns/set fields
    if len(_TEMPLATES) >= 256:
        _TEMPLATES.clear()
    _TEMPLATES[(module, function, id(policy), id(k.space))] = (policy, k.space, req[:at], req[8:at],
                                                                req[at + 20:-len(_NO_ARGS)], req[at + 20:])


def _apply(k: Any, module: Any, function: Any, args: Any, policy: Any) -> Command:
    names = _NAME_FIELDS.get((module, function)) if type(module) is str and type(function) is str else None
    if names is None:
        names = (pack_field(W.FIELD_UDF_PACKAGE_NAME, check_name("UDF module", module))
                 + pack_field(W.FIELD_UDF_FUNCTION, check_name("UDF function", function)))
        if len(_NAME_FIELDS) < 1024 and type(module) is str and type(function) is str:
            _NAME_FIELDS[(module, function)] = names
    arglist = _NO_ARGS if not args and (args is None or type(args) in (list, tuple)) else \
        pack_field(W.FIELD_UDF_ARGLIST, pack_args(args))
    info2, info3, generation, ttl, key_policy, _ = write_attrs(policy, None)
    nf, fields = _fields(k, policy, key_policy == 1)
    req = pack_message_raw(0, info2, info3, generation, ttl, policy["total_timeout"], nf + 3,
                           fields + names + arglist, 0, b"")
    return Command(k, req, True, _parse_apply, policy)


# --------------------------------------------------------------------------- registration


class InfoNodeCommand(Command):
    """An info request for one given node (``node``), as ``_run_many`` runs it."""

    __slots__ = ("node",)

    node: Node | None


def module_name(module: Any) -> str:
    """``name`` or ``name.lua`` -> ``name.lua`` (the server's file name of a Lua module)."""
    name = check_name("UDF module", module).decode()
    return name if name.endswith(".lua") else name + ".lua"


def _info_answer(cmd: Command, body: Any, node: str) -> str:
    return answers(body, (cmd.extra,), node).get(cmd.extra, "")


def registration_error(answer: str, node: str) -> AerospikeError | None:
    """The UDFError of an ``error=...`` answer to udf-put/udf-get/udf-remove, else None.

    A Lua compile error reads ``error=compile_error;file=F;line=L;message=<base64>``: the message
    becomes ``F:L: message``, as the server writes run-time errors.
    """
    if not answer.startswith("error=") and not answer.startswith("ERROR"):
        return None
    if answer.startswith("ERROR"):
        err = info_error(answer)
        if err is not None and 51 <= err[0] <= 83:  # a security refusal keeps its code (AdminError)
            return _error_from_result_code(err[0], answer, node=node)
        return UDFError(answer, 100, node=node)
    params = dict(p.partition("=")[::2] for p in answer.split(";") if p)
    kind = params.get("error", "")
    text = kind
    if "message" in params:
        try:
            msg = base64.b64decode(params["message"]).decode(errors="replace")
        except ValueError:
            msg = params["message"]
        text = f"{params.get('file', '')}:{params.get('line', '')}: {msg}"
    return UDFError(text, 100, node=node)


def _check_answer(cmd: Command, body: Any, node: str) -> str:
    answer = _info_answer(cmd, body, node)
    err = registration_error(answer, node)
    if err is not None:
        raise err
    return answer


def udf_put(filename: Any, udf_type: Any, policy: Any) -> tuple[Command, str]:
    """``(udf-put command, module file name)``; the file is read here."""
    if isinstance(udf_type, bool) or udf_type != UDF_TYPE_LUA:
        raise InvalidArgError(f"udf_type must be 0 (Lua), got {udf_type!r}")
    if not isinstance(filename, (str, os.PathLike)) or not str(filename):
        raise InvalidArgError(f"udf_put needs a file name, got {filename!r}")
    try:
        with open(filename, "rb") as fh:
            content = fh.read()
    except OSError as e:
        raise InvalidArgError(f"cannot read UDF file {str(filename)!r}: {e.strerror}") from None
    name = os.path.basename(os.fspath(filename))
    check_name("UDF file name", name)
    b64 = base64.b64encode(content).decode()
    command = f"udf-put:filename={name};content={b64};content-len={len(b64)};udf-type=LUA;"
    return Command(None, pack_info_request(command), False, _check_answer, policy, command), name


def udf_remove(module: Any, policy: Any) -> tuple[Command, str]:
    name = module_name(module)
    command = f"udf-remove:filename={name};"
    return Command(None, pack_info_request(command), False, _check_answer, policy, command), name


def _parse_list(cmd: Command, body: Any, node: str) -> list[dict[str, Any]]:
    return parse_udf_list(_check_answer(cmd, body, node))


def parse_udf_list(answer: str) -> list[dict[str, Any]]:
    """``filename=a.lua,hash=..,type=LUA;...`` -> ``[{"name", "hash", "type", "content"}]``, as the
    official client gives them: the hash as it comes (hex text in a ``bytearray``), content empty."""
    out = []
    for item in answer.split(";"):
        if not item:
            continue
        d = dict(p.partition("=")[::2] for p in item.split(","))
        out.append({"name": d.get("filename", ""), "hash": bytearray(d.get("hash", "").encode()),
                    "type": UDF_TYPE_LUA if d.get("type", "LUA") == "LUA" else -1, "content": bytearray()})
    return out


def udf_list(policy: Any, node: Any = None) -> Command:
    cmd = InfoNodeCommand(None, pack_info_request("udf-list"), False, _parse_list, policy, "udf-list")
    cmd.node = node
    return cmd


def _parse_get(cmd: Command, body: Any, node: str) -> str:
    answer = _check_answer(cmd, body, node)
    params = dict(p.partition("=")[::2] for p in answer.split(";") if p)
    if "content" not in params:
        raise UDFError(f"unexpected udf-get answer {answer!r}", 100, node=node)
    return base64.b64decode(params["content"]).decode(errors="replace")


def udf_get(module: Any, language: Any, policy: Any) -> Command:
    """``udf-get`` of the file name as given, as the official client sends it: ``"m.lua"``; the
    real server answers ``error=not_found`` for ``"m"`` (UDFError), and so do we."""
    if isinstance(language, bool) or language != UDF_TYPE_LUA:
        raise InvalidArgError(f"language must be 0 (Lua), got {language!r}")
    command = f"udf-get:filename={check_name('UDF module', module).decode()};"
    return Command(None, pack_info_request(command), False, _parse_get, policy, command)


#: One step of a task driven by ``BatchMixin._drive``: ``(commands, parallel, combine, delay_s)``.
Step = tuple[list[Any], bool, Callable[[list[Any]], Any], float]


def _as_is(results: list[Any]) -> list[Any]:
    return results


def wait_steps(cluster_view: Callable[[], Any], first: Command, name: str, present: bool, policy: Any,
               clock: Callable[[], float] = time.monotonic) -> Generator[Step, Any, None]:
    """Run ``first`` (udf-put or udf-remove), then poll ``udf-list`` on every node until each has
    (``present``) or has not module ``name``; AerospikeTimeoutError after the policy's timeout."""
    results = yield [first], False, _as_is, 0.0
    if isinstance(results[0], BaseException):
        raise results[0]
    timeout = policy["total_timeout"] / 1000 or 30.0
    deadline = clock() + max(timeout, 1.0)
    delay = 0.0
    while True:
        cmds = [udf_list(policy, node) for node in cluster_view().node_list]
        results = yield cmds, True, _as_is, delay
        done = True
        for r in results:
            if isinstance(r, BaseException):
                raise r
            if any(m["name"] == name for m in r) != present:
                done = False
        if done:
            return None
        if clock() >= deadline:
            what = "registered" if present else "removed"
            raise AerospikeTimeoutError(f"UDF module {name!r} not {what} on every node in time", 9)
        delay = POLL_INTERVAL
