"""Command definitions: one per public operation, independent of sync or async execution.

A command holds the request bytes, the routing facts (namespace, digest, read or write) and a
parser that turns the reply frame into the public result type (or raises the mapped exception).
Executors in ``aerospike_py._net`` run them.
"""
