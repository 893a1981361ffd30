"""The package's loggers: ``aerospike_py`` and its children, silent unless the application
configures logging (a ``NullHandler`` on the package logger, set up before any module logs)."""

from __future__ import annotations

import logging

#: The package's logger (``logging.getLogger("aerospike_py")``).
logger = logging.getLogger("aerospike_py")
logger.addHandler(logging.NullHandler())


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` for a module of the package (its records reach :data:`logger`)."""
    return logging.getLogger(name)
