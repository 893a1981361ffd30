"""The server's way of failing a command with a result code."""


class ResultError(Exception):
    """Fail the current command with Aerospike result ``code``."""

    #: The failed record's generation and void time, which real servers put in the error reply.
    generation = 0
    void_time = 0

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message or f"result code {code}")
        self.code = code


# Result codes the server uses.
OK = 0
SERVER_ERROR = 1
KEY_NOT_FOUND = 2
GENERATION = 3
PARAMETER = 4
KEY_EXISTS = 5
BIN_EXISTS = 6
TIMEOUT = 9
PARTITION_UNAVAILABLE = 11
INCOMPATIBLE_TYPE = 12
RECORD_TOO_BIG = 13
KEY_BUSY = 14
UNSUPPORTED_FEATURE = 16
BIN_NOT_FOUND = 17
KEY_MISMATCH = 19
NAMESPACE_NOT_FOUND = 20
BIN_NAME = 21
FORBIDDEN = 22
ELEMENT_NOT_FOUND = 23
ELEMENT_EXISTS = 24
ENTERPRISE_ONLY = 25
OP_NOT_APPLICABLE = 26
FILTERED_OUT = 27
UDF_ERROR = 100
GEO_INVALID_GEOJSON = 160
INDEX_FOUND = 200
INDEX_NOT_FOUND = 201
