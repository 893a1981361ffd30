"""CDT (list and map) facts of the wire protocol, as the server numbers them: operation codes,
return types, write flags and context types.

The one table used by the client's list/map operations (``_commands/cdt.py``), the expression
builders (``exp.py``) and the embedded server (``server/cdt.py``, ``server/expressions.py``).
A CDT operation travels as msgpack ``[code, args...]`` (with a context:
``[CTX_PREFIX, [ctx_type, ctx_value, ...], [code, args...]]``).
"""

# List operation codes (0-63: modify codes below 16 and from 32; reads 16-31).
L_SET_TYPE, L_APPEND, L_APPEND_ITEMS, L_INSERT, L_INSERT_ITEMS = 0, 1, 2, 3, 4
L_POP, L_POP_RANGE, L_REMOVE, L_REMOVE_RANGE, L_SET, L_TRIM, L_CLEAR, L_INCREMENT, L_SORT = 5, 6, 7, 8, 9, 10, 11, 12, 13
L_SIZE, L_GET, L_GET_RANGE, L_GET_BY_INDEX, L_GET_BY_RANK, L_GET_BY_VALUE, L_GET_BY_VALUE_LIST = 16, 17, 18, 19, 21, 22, 23
L_GET_BY_INDEX_RANGE, L_GET_BY_VALUE_INTERVAL, L_GET_BY_RANK_RANGE, L_GET_BY_VALUE_REL_RANK_RANGE = 24, 25, 26, 27
L_REMOVE_BY_INDEX, L_REMOVE_BY_RANK, L_REMOVE_BY_VALUE, L_REMOVE_BY_VALUE_LIST = 32, 34, 35, 36
L_REMOVE_BY_INDEX_RANGE, L_REMOVE_BY_VALUE_INTERVAL, L_REMOVE_BY_RANK_RANGE = 37, 38, 39
L_REMOVE_BY_VALUE_REL_RANK_RANGE = 40

# Map operation codes (64-127: modify codes below 96, reads from 96).
M_SET_TYPE, M_ADD, M_ADD_ITEMS, M_PUT, M_PUT_ITEMS, M_REPLACE, M_REPLACE_ITEMS = 64, 65, 66, 67, 68, 69, 70
M_INCREMENT, M_DECREMENT, M_CLEAR = 73, 74, 75
M_REMOVE_BY_KEY, M_REMOVE_BY_INDEX, M_REMOVE_BY_RANK, M_REMOVE_BY_KEY_LIST = 76, 77, 79, 81
M_REMOVE_ALL_BY_VALUE, M_REMOVE_BY_VALUE_LIST, M_REMOVE_BY_KEY_INTERVAL, M_REMOVE_BY_INDEX_RANGE = 82, 83, 84, 85
M_REMOVE_BY_VALUE_INTERVAL, M_REMOVE_BY_RANK_RANGE = 86, 87
M_REMOVE_BY_KEY_REL_INDEX_RANGE, M_REMOVE_BY_VALUE_REL_RANK_RANGE = 88, 89
M_SIZE, M_GET_BY_KEY, M_GET_BY_INDEX, M_GET_BY_RANK, M_GET_ALL_BY_VALUE = 96, 97, 98, 100, 102
M_GET_BY_KEY_INTERVAL, M_GET_BY_INDEX_RANGE, M_GET_BY_VALUE_INTERVAL, M_GET_BY_RANK_RANGE = 103, 104, 105, 106
M_GET_BY_KEY_LIST, M_GET_BY_VALUE_LIST = 107, 108
M_GET_BY_KEY_REL_INDEX_RANGE, M_GET_BY_VALUE_REL_RANK_RANGE = 109, 110


def is_list_code(code: int) -> bool:
    """Whether CDT op ``code`` is a list operation (else a map operation)."""
    return code < 64


def is_modify_code(code: int) -> bool:
    """Whether CDT op ``code`` modifies its list/map (sent as wire op CDT_MODIFY, else CDT_READ)."""
    return code < 16 or 32 <= code < 96


# Return types (``return_type`` argument of the selecting operations); INVERTED selects the rest.
RT_NONE, RT_INDEX, RT_REV_INDEX, RT_RANK, RT_REV_RANK, RT_COUNT, RT_KEY, RT_VALUE, RT_KEY_VALUE = range(9)
RT_EXISTS, RT_UNORDERED_MAP, RT_ORDERED_MAP = 13, 16, 17
INVERTED = 0x10000
LIST_RETURN_TYPES = frozenset({RT_NONE, RT_INDEX, RT_REV_INDEX, RT_RANK, RT_REV_RANK, RT_COUNT, RT_VALUE, RT_EXISTS})
MAP_RETURN_TYPES = frozenset({RT_NONE, RT_INDEX, RT_REV_INDEX, RT_RANK, RT_REV_RANK, RT_COUNT, RT_KEY, RT_VALUE,
                              RT_KEY_VALUE, RT_EXISTS, RT_UNORDERED_MAP, RT_ORDERED_MAP})

# List write flags / map write flags.
L_ADD_UNIQUE, L_INSERT_BOUNDED, NO_FAIL, PARTIAL = 1, 2, 4, 8
M_CREATE_ONLY, M_UPDATE_ONLY = 1, 2

# Contexts: the prefix of a payload with a context, the context types (low 6 bits) and the create
# flags (bits 6-7) of a context level.
CTX_PREFIX = 0xFF
CTX_TYPES = frozenset({0x10, 0x11, 0x13, 0x20, 0x21, 0x22, 0x23})
CTX_CREATE_MASK = 0xC0
