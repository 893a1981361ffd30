"""Info commands: info_all / info_random_node / truncate / ping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._wire.info import info_error, pack_info_request, parse_info_response
from ..exception import (
    ClientError,
    _error_from_result_code,
    _invalid_arg,
    _InvalidArgType,
    _InvalidArgValue,
)
from .base import Command


def _check_command(command: Any) -> str:
    if not isinstance(command, str) or not command.strip():
        raise _InvalidArgValue(f"info command must be a non-empty str, got {command!r}")
    return command.strip()


def answers(body: Any, names: Sequence[str], node: str) -> dict[str, str]:
    """The answers to the info commands ``names``. A node that refuses the whole request as not
    authenticated (its session of the connection expired or was revoked) raises AdminError 80:
    the retry engine logs in afresh and asks once more, as for any command."""
    if bytes(body[:9]) == b"ERROR:80:":
        raise _error_from_result_code(80, f"info request refused by node {node}: not authenticated", node=node)
    return parse_info_response(body, names)


def _info_value(cmd: Command, body: Any, node: str) -> str:
    names = cmd.extra
    info = answers(body, names, node)
    if len(names) == 1:
        return info.get(names[0], "")
    return "".join(f"{k}\t{v}\n" for k, v in info.items() if not k.startswith("ERROR:"))


def info(command: Any, policy: Any) -> Command:
    """A raw info request; the result is the answer's value (several commands: the whole text)."""
    command = _check_command(command)
    names = [c for c in command.split("\n") if c]
    return Command(None, pack_info_request(*names), False, _info_value, policy, names)


def _check_ok(cmd: Command, body: Any, node: str) -> None:
    info = answers(body, cmd.extra[:1], node)
    value = info.get(cmd.extra[0], "")
    err = info_error(value)
    if err is not None:
        code, text = err
        raise _error_from_result_code(code, f"{cmd.extra[0]!r} failed on node {node}: {text}", node=node)
    if value.strip().lower() not in ("ok", ""):
        raise ClientError(f"{cmd.extra[0]!r} on node {node} answered {value!r}", node=node)


def truncate(namespace: Any, set_name: Any, nanos: Any, policy: Any) -> Command:
    if not isinstance(namespace, str) or not namespace:
        raise _InvalidArgValue("truncate needs a namespace name")
    if set_name is not None and not isinstance(set_name, str):
        raise _InvalidArgType("truncate set_name must be a str or None")
    if isinstance(nanos, bool) or not isinstance(nanos, int) or nanos < 0:
        raise _invalid_arg(f"truncate nanos must be an int >= 0, got {nanos!r}", nanos)
    if set_name:
        command = f"truncate:namespace={namespace};set={set_name}"
    else:
        command = f"truncate-namespace:namespace={namespace}"
    if nanos:
        command += f";lut={nanos}"
    return Command(None, pack_info_request(command), False, _check_ok, policy, [command])
