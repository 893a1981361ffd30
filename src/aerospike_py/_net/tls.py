"""TLS configuration as the official clients take it (``config["tls"]``) -> ``ssl.SSLContext``.

Accepted keys: ``enable``, ``cafile``, ``capath``, ``certfile``, ``keyfile``, ``keyfile_pw``,
``protocols`` (e.g. ``"TLSv1.2 TLSv1.3"``, ``"all -TLSv1 -TLSv1.1"``), ``cipher_suite`` (OpenSSL
cipher list), ``crl_check``, ``crl_check_all``, ``log_session_info`` (accepted, no effect),
``verify`` (default true: certificate chain and name checked). The server's certificate name is
checked against the host's TLS name (``(host, port, tls_name)``), else against the host itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..exception import _InvalidArgType, _InvalidArgValue

if TYPE_CHECKING:  # ssl itself is imported when TLS is configured (off the import path)
    import ssl

_KEYS = frozenset({"enable", "cafile", "capath", "certfile", "keyfile", "keyfile_pw", "protocols",
                   "cipher_suite", "crl_check", "crl_check_all", "log_session_info", "cert_blacklist",
                   "for_login_only", "verify"})
_VERSIONS = {"tlsv1": "TLSv1", "tlsv1.1": "TLSv1_1", "tlsv1.2": "TLSv1_2", "tlsv1.3": "TLSv1_3"}
_ORDER = list(_VERSIONS)


def _protocols(spec: str) -> tuple[ssl.TLSVersion, ssl.TLSVersion]:
    """``"TLSv1.2"``, ``"+TLSv1.2 +TLSv1.3"``, ``"all -TLSv1"`` -> (minimum, maximum) version."""
    enabled: set[str] = set()
    for token in spec.replace(",", " ").split():
        sign = token[0] if token[0] in "+-" else "+"
        name = token.lstrip("+-").lower()
        names = _ORDER if name == "all" else [name]
        for n in names:
            if n not in _VERSIONS:
                raise _InvalidArgValue(f"tls protocols: unknown protocol {token!r}")
            (enabled.add if sign == "+" else enabled.discard)(n)
    if not enabled:
        raise _InvalidArgValue(f"tls protocols {spec!r} enable no protocol")
    ordered = [n for n in _ORDER if n in enabled]
    import ssl

    return ssl.TLSVersion[_VERSIONS[ordered[0]]], ssl.TLSVersion[_VERSIONS[ordered[-1]]]


def tls_context(tls: Any) -> ssl.SSLContext | None:
    """The client's SSL context for ``config["tls"]`` (``None`` when TLS is not enabled)."""
    if tls is None:
        return None
    if not isinstance(tls, dict):
        raise _InvalidArgType("config 'tls' must be a dict")
    unknown = set(tls) - _KEYS
    if unknown:
        raise _InvalidArgValue(f"unknown tls keys {sorted(unknown)}")
    if not tls.get("enable", False):
        return None
    if tls.get("for_login_only"):
        raise _InvalidArgValue("tls 'for_login_only' is not supported: TLS is used on every connection")
    if tls.get("cert_blacklist"):
        raise _InvalidArgValue("tls 'cert_blacklist' is not supported (use a CRL with 'crl_check')")
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if tls.get("verify", True):
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    cafile, capath = tls.get("cafile"), tls.get("capath")
    try:
        if cafile or capath:
            ctx.load_verify_locations(cafile=cafile, capath=capath)
        else:
            ctx.load_default_certs()
        if tls.get("certfile"):
            pw = tls.get("keyfile_pw")
            ctx.load_cert_chain(tls["certfile"], tls.get("keyfile"), password=pw)
        elif tls.get("keyfile"):
            raise _InvalidArgValue("tls 'keyfile' needs 'certfile'")
        if tls.get("cipher_suite"):
            ctx.set_ciphers(tls["cipher_suite"])
    except (OSError, ssl.SSLError) as e:
        # The key password is never part of the text (ssl does not echo it).
        raise _InvalidArgValue(f"tls configuration: {e}") from None
    if tls.get("protocols"):
        ctx.minimum_version, ctx.maximum_version = _protocols(str(tls["protocols"]))
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls.get("crl_check_all"):
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
    elif tls.get("crl_check"):
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return ctx


__all__ = ["tls_context"]
