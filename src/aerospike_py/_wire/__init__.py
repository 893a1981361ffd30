"""Sans-IO codec of the Aerospike wire protocol: bytes in, bytes out, no sockets, no clocks."""
