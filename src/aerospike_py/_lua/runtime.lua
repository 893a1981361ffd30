-- The Lua side of UDFs, shared by the embedded server and the client's aggregation: Aerospike's
-- list/map/bytes/geojson types, the record API (rec[bin], record.*, aerospike:*), logging, the
-- sandbox every module runs in, the call wrapper with its time limit, and stream UDFs (the
-- map/filter/aggregate/reduce pipeline). Runs once per engine in the privileged global
-- environment; modules only see the table built by new_env().
local host = ...              -- Python callbacks: expired(), log(level, msg), now_ms(), source(name)
local G = _G
local rawget, rawset, setmetatable, getmetatable = rawget, rawset, setmetatable, getmetatable
local type, tostring, error, pairs, ipairs, select, pcall, xpcall = type, tostring, error, pairs, ipairs, select, pcall, xpcall
local tconcat, tinsert, tremove, sformat, spack, sunpack = table.concat, table.insert, table.remove, string.format, string.pack, string.unpack
local mtype, floor = math.type, math.floor

local API = {}
-- A nil stored in a map (the real server keeps the key; see Map.__newindex).
local NILV = setmetatable({}, {__name = "nil", __tostring = function() return "NIL" end})

---------------------------------------------------------------------------- value kinds
local List, Map, Bytes, GeoJSON, Record, Aerospike = {}, {}, {}, {}, {}, {}
API.List, API.Map, API.Bytes, API.GeoJSON = List, Map, Bytes, GeoJSON

local function kind(v)
  local mt = getmetatable(v)
  if mt == List then return 1 elseif mt == Map then return 2 elseif mt == Bytes then return 3
  elseif mt == GeoJSON then return 4 elseif mt == Record then return 5 end
  return 0
end
API.kind = kind

-- type() as modules see it: Aerospike's values are userdata, as on a real server.
local function as_type(v)
  local t = type(v)
  if t == "table" then
    local mt = getmetatable(v)
    if mt == List or mt == Map or mt == Bytes or mt == GeoJSON or mt == Record or mt == Aerospike then
      return "userdata"
    end
  end
  return t
end

-- as_val's text form (tostring of a list or map, and of values inside them).
local val_tostring
local function quoted(s) return '"' .. s .. '"' end
val_tostring = function(v, inner)
  local k = kind(v)
  if k == 1 then
    local parts = {}
    for i = 1, v._n do parts[i] = val_tostring(v._v[i], true) end
    return "[" .. tconcat(parts, ", ") .. "]"
  elseif k == 2 then
    local parts = {}
    for key, val in pairs(v._m) do
      if val == NILV then val = nil end
      parts[#parts + 1] = val_tostring(v._k[key], true) .. ":" .. val_tostring(val, true)
    end
    return "{" .. tconcat(parts, ", ") .. "}"
  elseif k == 3 then
    if not inner then return "Bytes()" end
    return (v._s:gsub(".", function(c) return sformat("%02X", c:byte()) end))
  elseif k == 4 then
    return v._s
  elseif type(v) == "string" then
    return inner and quoted(v) or v
  elseif v == nil then
    return "NIL"
  end
  return tostring(v)
end

---------------------------------------------------------------------------- list
local list = {}
local function new_list(t, n)
  return setmetatable({_v = t or {}, _n = n or (t and #t or 0)}, List)
end
API.new_list = new_list
List.__index = function(l, i) return rawget(l, "_v")[i] end
List.__newindex = function(l, i, v)
  if mtype(i) ~= "integer" or i < 1 then error("invalid list index", 2) end
  rawget(l, "_v")[i] = v
  if i > rawget(l, "_n") then rawset(l, "_n", i) end
end
List.__len = function(l) return rawget(l, "_n") end
List.__tostring = function(l) return val_tostring(l) end
List.__name = "List"

local function check_list(l, fn)
  if getmetatable(l) ~= List then error("bad argument #1 to '" .. fn .. "' (List expected)", 3) end
  return l
end
function list.create(cap) return new_list({}, 0) end
list.new = list.create
function list.size(l) return check_list(l, "size")._n end
function list.nbytes(l) return 0 end
function list.append(l, v) check_list(l, "append"); l._n = l._n + 1; l._v[l._n] = v end
function list.prepend(l, v) check_list(l, "prepend"); tinsert(l._v, 1, v); l._n = l._n + 1 end
function list.insert(l, i, v)
  check_list(l, "insert")
  if mtype(i) ~= "integer" or i < 1 then return end
  if i > l._n then l._v[i] = v; l._n = i else tinsert(l._v, i, v); l._n = l._n + 1 end
end
function list.remove(l, i)
  check_list(l, "remove")
  if mtype(i) ~= "integer" or i < 1 or i > l._n then return end
  local t, n = l._v, l._n
  for j = i, n - 1 do t[j] = t[j + 1] end
  t[n] = nil
  l._n = n - 1
end
function list.concat(l, o)
  check_list(l, "concat"); check_list(o, "concat")
  for i = 1, o._n do l._v[l._n + i] = o._v[i] end
  l._n = l._n + o._n
end
function list.trim(l, i)
  check_list(l, "trim")
  if mtype(i) ~= "integer" or i < 1 then return end
  for j = i, l._n do l._v[j] = nil end
  if i - 1 < l._n then l._n = i - 1 end
end
function list.take(l, n)
  check_list(l, "take")
  n = floor(n)
  if n > l._n then n = l._n end
  local t = {}
  for i = 1, n do t[i] = l._v[i] end
  return new_list(t, n > 0 and n or 0)
end
function list.drop(l, n)
  check_list(l, "drop")
  n = floor(n)
  local t, m = {}, 0
  for i = n + 1, l._n do m = m + 1; t[m] = l._v[i] end
  return new_list(t, m)
end
function list.iterator(l)
  check_list(l, "iterator")
  local i = 0
  return function()
    i = i + 1
    if i <= l._n then return l._v[i] end
  end
end
function list.tostring(l) return val_tostring(l) end
function list.clone(l)
  check_list(l, "clone")
  local t = {}
  for i = 1, l._n do t[i] = l._v[i] end
  return new_list(t, l._n)
end
function list.merge(a, b)
  local c = list.clone(a)
  list.concat(c, b)
  return c
end
setmetatable(list, {__call = function(_, t, cap)
  if t == nil then return new_list({}, 0) end
  if type(t) ~= "table" or getmetatable(t) ~= nil then error("bad argument #1 to 'list' (table expected)", 2) end
  -- As the real server's list(): the values of numeric keys, in next() order (nils are skipped).
  local v, n = {}, 0
  for k, x in pairs(t) do
    if type(k) == "number" then n = n + 1; v[n] = x end
  end
  return new_list(v, n)
end})

---------------------------------------------------------------------------- map
-- _m: normalised key -> value; _k: normalised key -> original key (Bytes keys compare by content).
local map = {}
local function norm(k)
  if getmetatable(k) == Bytes then return "\0B" .. k._s end
  return k
end
local function new_map()
  return setmetatable({_m = {}, _k = {}, _n = 0}, Map)
end
API.new_map = new_map
function API.map_set(m, k, v)
  if v == nil then v = NILV end
  local nk = norm(k)
  if rawget(m, "_m")[nk] == nil then rawset(m, "_n", rawget(m, "_n") + 1) end
  rawget(m, "_m")[nk] = v
  rawget(m, "_k")[nk] = k
end
Map.__index = function(m, k)
  if k == nil then return nil end
  local v = rawget(m, "_m")[norm(k)]
  if v == NILV then return nil end
  return v
end
Map.__newindex = function(m, k, v)
  if k == nil then error("map key is nil", 2) end
  -- As on the real server, assigning nil keeps the key with a nil value (map.remove drops it).
  if v == nil then v = NILV end
  local nk = norm(k)
  local mm = rawget(m, "_m")
  if mm[nk] == nil then rawset(m, "_n", rawget(m, "_n") + 1) end
  mm[nk] = v
  rawget(m, "_k")[nk] = k
end
Map.__len = function(m) return rawget(m, "_n") end
Map.__tostring = function(m) return val_tostring(m) end
Map.__name = "Map"

local function check_map(m, fn)
  if getmetatable(m) ~= Map then error("bad argument #1 to '" .. fn .. "' (Map expected)", 3) end
  return m
end
function map.create(cap) return new_map() end
map.new = map.create
function map.size(m) return check_map(m, "size")._n end
function map.nbytes(m) return 0 end
function map.remove(m, k)
  check_map(m, "remove")
  local nk = norm(k)
  if m._m[nk] ~= nil then m._n = m._n - 1 end
  m._m[nk] = nil
  m._k[nk] = nil
end
function map.pairs(m)
  check_map(m, "pairs")
  local mm, ks = m._m, m._k
  local nk
  return function()
    local v
    nk, v = next(mm, nk)
    if nk ~= nil then
      if v == NILV then v = nil end
      return ks[nk], v
    end
  end
end
map.iterator = map.pairs
function map.keys(m)
  check_map(m, "keys")
  local mm, ks = m._m, m._k
  local nk
  return function()
    nk = next(mm, nk)
    if nk ~= nil then return ks[nk] end
  end
end
function map.values(m)
  check_map(m, "values")
  local mm = m._m
  local nk
  return function()
    local v
    nk, v = next(mm, nk)
    if nk ~= nil then
      if v == NILV then v = nil end
      return v
    end
  end
end
function map.tostring(m) return val_tostring(m) end
function map.clone(m)
  local c = new_map()
  for k, v in map.pairs(m) do c[k] = v end
  return c
end
function map.merge(m1, m2, f)
  local c = map.clone(m1)
  for k, v in map.pairs(m2) do
    local old = c[k]
    if old ~= nil and f and type(f) == "function" then c[k] = f(old, v) or v else c[k] = v end
  end
  return c
end
function map.diff(m1, m2)
  local c = new_map()
  for k, v in map.pairs(m1) do if m2[k] == nil then c[k] = v end end
  for k, v in map.pairs(m2) do if m1[k] == nil then c[k] = v end end
  return c
end
setmetatable(map, {__call = function(_, t, cap)
  local m = new_map()
  if t == nil then return m end
  if type(t) ~= "table" or getmetatable(t) ~= nil then error("bad argument #1 to 'map' (table expected)", 2) end
  for k, v in pairs(t) do m[k] = v end
  return m
end})

---------------------------------------------------------------------------- bytes
-- _s: the content (a Lua string), _t: the particle type (4, blob).
local bytes = {}
local function new_bytes(s, t)
  return setmetatable({_s = s or "", _t = t or 4}, Bytes)
end
API.new_bytes = new_bytes
local function check_bytes(b, fn)
  if getmetatable(b) ~= Bytes then error("bad argument #1 to '" .. fn .. "' (Bytes expected)", 3) end
  return b
end
local function ipos(i)
  return mtype(i) == "integer" and i >= 1
end
-- Write string w at 1-based position i (zero-padding a gap); false when i is not a position.
local function put(b, i, w)
  if not ipos(i) then return false end
  local s = b._s
  if i > #s + 1 then s = s .. string.rep("\0", i - #s - 1) end
  b._s = s:sub(1, i - 1) .. w .. s:sub(i + #w)
  return true
end
local function get(b, i, n)
  if not ipos(i) or i + n - 1 > #b._s then return nil end
  return b._s:sub(i, i + n - 1)
end
function bytes.size(b) return #check_bytes(b, "size")._s end
function bytes.set_size(b, n)
  check_bytes(b, "set_size")
  if mtype(n) ~= "integer" or n < 0 then return false end
  local s = b._s
  b._s = n <= #s and s:sub(1, n) or s .. string.rep("\0", n - #s)
  return true
end
function bytes.get_type(b) return check_bytes(b, "get_type")._t end
function bytes.set_type(b, t) check_bytes(b, "set_type")._t = t; return true end
function bytes.get_string(b, i, n) return get(check_bytes(b, "get_string"), i, n) end
function bytes.get_bytes(b, i, n)
  local s = get(check_bytes(b, "get_bytes"), i, n)
  return s and new_bytes(s) or nil
end
function bytes.get_byte(b, i)
  local s = get(check_bytes(b, "get_byte"), i, 1)
  return s and s:byte() or nil
end
function bytes.set_string(b, i, s) return put(check_bytes(b, "set_string"), i, s) end
function bytes.set_bytes(b, i, o) return put(check_bytes(b, "set_bytes"), i, check_bytes(o, "set_bytes")._s) end
function bytes.set_byte(b, i, v) return put(check_bytes(b, "set_byte"), i, string.char(v & 0xFF)) end
function bytes.append_string(b, s) check_bytes(b, "append_string"); b._s = b._s .. s; return true end
function bytes.append_bytes(b, o) check_bytes(b, "append_bytes"); b._s = b._s .. check_bytes(o, "append_bytes")._s; return true end
function bytes.append_byte(b, v) check_bytes(b, "append_byte"); b._s = b._s .. string.char(v & 0xFF); return true end
for _, spec in ipairs({{"int16", 2}, {"int32", 4}, {"int64", 8}}) do
  local name, n = spec[1], spec[2]
  for _, order in ipairs({{"", ">"}, {"_be", ">"}, {"_le", "<"}}) do
    local fmt = order[2] .. "i" .. n
    bytes["get_" .. name .. order[1]] = function(b, i)
      local s = get(check_bytes(b, "get_" .. name), i, n)
      return s and (sunpack(fmt, s)) or nil
    end
    bytes["set_" .. name .. order[1]] = function(b, i, v)
      return put(check_bytes(b, "set_" .. name), i, spack(order[2] .. "I" .. n, v & ((1 << (8 * n)) - 1 | (n == 8 and -1 or 0))))
    end
    bytes["append_" .. name .. order[1]] = function(b, v)
      check_bytes(b, "append_" .. name)
      b._s = b._s .. spack(order[2] .. "I" .. n, v & ((1 << (8 * n)) - 1 | (n == 8 and -1 or 0)))
      return true
    end
  end
end
local function varint(v)
  local out = {}
  v = v & 0xFFFFFFFF
  repeat
    local c = v & 0x7F
    v = v >> 7
    if v ~= 0 then c = c | 0x80 end
    out[#out + 1] = string.char(c)
  until v == 0
  return tconcat(out)
end
function bytes.get_var_int(b, i)
  check_bytes(b, "get_var_int")
  if not ipos(i) then return nil end
  local s, v, shift, j = b._s, 0, 0, i
  while j <= #s do
    local c = s:byte(j)
    v = v | ((c & 0x7F) << shift)
    if c & 0x80 == 0 then return v, j - i + 1 end
    shift = shift + 7
    j = j + 1
  end
  return nil
end
function bytes.set_var_int(b, i, v)
  local w = varint(v)
  if not put(check_bytes(b, "set_var_int"), i, w) then return 0 end
  return #w
end
function bytes.append_var_int(b, v)
  check_bytes(b, "append_var_int")
  local w = varint(v)
  b._s = b._s .. w
  return #w
end
Bytes.__index = function(b, i) return bytes.get_byte(b, i) end
Bytes.__newindex = function(b, i, v) bytes.set_byte(b, i, v) end
Bytes.__len = function(b) return #rawget(b, "_s") end
Bytes.__tostring = function(b) return "Bytes()" end
Bytes.__name = "Bytes"
setmetatable(bytes, {__call = function(_, n) return new_bytes("", 4) end})

---------------------------------------------------------------------------- geojson
local geojson = setmetatable({}, {__call = function(_, s) return setmetatable({_s = tostring(s)}, GeoJSON) end})
GeoJSON.__tostring = function(g) return rawget(g, "_s") end
GeoJSON.__name = "GeoJSON"
function API.new_geojson(s) return setmetatable({_s = s}, GeoJSON) end

---------------------------------------------------------------------------- record
-- A record is a table with metatable Record. Its state (see API.new_record):
--   _bins     stored bins as they are now in this call (updates applied), name -> value
--   _names    the stored bins' names in storage order, as the real server keeps them: new bins go
--             last, the last bin takes a deleted bin's place
--   _cache    bins set since the last update, name -> {value} (a value may be nil: delete);
--   _corder   the names of _cache in the order they were first set
--   _open     the record exists in storage (or was created in this call)
--   _updates  aerospike:create/update/remove succeeded: the record must be written
--   _meta     gen, ttl, lut, set, key, digest, size (as stored when the call began)
--   _ttl      the record TTL to write (record.set_ttl changes it), _dropkey
local record = {}
local UDF_BIN_LIMIT = 512

Record.__index = function(r, name)
  if type(name) ~= "string" then error("bad argument #2 to 'index' (string expected)", 2) end
  local c = rawget(r, "_cache")[name]
  if c ~= nil then return c[1] end
  if #name > 15 then return nil end
  return rawget(r, "_bins")[name]
end
local storable
Record.__newindex = function(r, name, v)
  if type(name) ~= "string" then error("bad argument #2 to 'newindex' (string expected)", 2) end
  if v ~= nil and not storable(v) then error("can't set bin " .. name .. " to unsupported type", 2) end
  if #name > 15 then return end
  local cache = rawget(r, "_cache")
  if cache[name] == nil then
    rawset(r, "_ncache", rawget(r, "_ncache") + 1)
    local corder = rawget(r, "_corder")
    corder[#corder + 1] = name
  end
  cache[name] = {v}
end
Record.__name = "Record"
Record.__tostring = function(r) return "Record()" end

local function check_rec(r, fn)
  if getmetatable(r) ~= Record then error("bad argument #1 to '" .. fn .. "' (Record expected)", 3) end
  return r
end
storable = function(v)
  local t = type(v)
  if t == "number" or t == "string" or t == "boolean" then return true end
  local k = kind(v)
  return k >= 1 and k <= 4
end

function API.new_record(bins, names, meta, exists, ttl)
  return setmetatable({_bins = bins, _names = names, _cache = {}, _corder = {}, _ncache = 0, _open = exists,
                       _updates = false, _written = {},
                       _meta = meta, _ttl = ttl, _dropkey = false, _failed = 0, _created = false}, Record)
end

-- Apply cached bin changes to _bins (the server's execute_updates); 0 or -1.
local function execute_updates(r)
  local bins, names, cache = r._bins, r._names, r._cache
  local n = #names
  for _, name in ipairs(r._corder) do
    local v = cache[name][1]
    if v == nil then
      if bins[name] ~= nil then  -- the record's last bin takes the deleted one's place
        for i = 1, n do
          if names[i] == name then names[i] = names[n]; names[n] = nil; break end
        end
        n = n - 1
      end
      bins[name] = nil
    else
      if not storable(v) then r._failed = 12; r._updates = false; return -1 end
      if bins[name] == nil then
        if n >= UDF_BIN_LIMIT then r._failed = 21; r._updates = false; return -1 end
        n = n + 1
        names[#names + 1] = name
      end
      bins[name] = v
      r._written[name] = true
    end
  end
  r._cache, r._corder, r._ncache = {}, {}, 0
  r._updates = true
  return 0
end

function record.gen(r) check_rec(r, "gen"); return r._open and r._meta.gen or 0 end
function record.ttl(r) check_rec(r, "ttl"); return r._open and r._meta.ttl or 0 end
function record.last_update_time(r) check_rec(r, "last_update_time"); return r._open and r._meta.lut or 0 end
function record.size(r) check_rec(r, "size"); return r._open and r._meta.size or 0 end
function record.memory_size(r) return record.size(r) end
function record.device_size(r) check_rec(r, "device_size"); return 0 end
function record.setname(r) check_rec(r, "setname"); if r._open then return r._meta.set end end
function record.key(r)
  check_rec(r, "key")
  if r._open and not r._dropkey then return r._meta.key end
end
function record.digest(r) check_rec(r, "digest"); return new_bytes(r._meta.digest) end
function record.numbins(r)
  check_rec(r, "numbins")
  if not r._open then return 0 end
  return #r._names
end
function record.bin_names(r)
  check_rec(r, "bin_names")
  local t = {}
  if r._open then for i, name in ipairs(r._names) do t[i] = name end end
  return t
end
function record.set_ttl(r, ttl)
  check_rec(r, "set_ttl")
  if mtype(ttl) ~= "integer" then ttl = floor(tonumber(ttl) or 0) end
  r._ttl = ttl & 0xFFFFFFFF
  return 0
end
function record.drop_key(r) check_rec(r, "drop_key"); if not r._open then return -1 end; r._dropkey = true; return 0 end
function record.set_type(r, t) check_rec(r, "set_type"); return 0 end

---------------------------------------------------------------------------- aerospike
local aerospike = setmetatable({}, Aerospike)
Aerospike.__index = Aerospike
Aerospike.__name = "Aerospike"
function Aerospike.exists(self, r) return check_rec(r, "exists")._open end
function Aerospike.create(self, r)
  check_rec(r, "create")
  if r._open then
    if next(r._bins) ~= nil then return 1 end
    return execute_updates(r)
  end
  r._open = true
  r._created = true
  local rv = execute_updates(r)
  if rv ~= 0 then r._open = false; r._created = false end
  return rv
end
function Aerospike.update(self, r)
  check_rec(r, "update")
  if not r._open then return -2 end
  return execute_updates(r)
end
function Aerospike.remove(self, r)
  check_rec(r, "remove")
  if not r._open then return 1 end
  r._cache, r._corder, r._ncache = {}, {}, 0
  for i, name in ipairs(r._names) do r._cache[name] = {nil}; r._corder[i] = name end
  return execute_updates(r)
end
function Aerospike.log(self, level, msg) host.log(level, tostring(msg)); return 0 end
function Aerospike.get_current_time(self) return host.now_ms() end
function Aerospike.set_context(self) return 0 end
function Aerospike.get_config(self) return nil end

local function logger(level)
  return function(m, ...)
    local ok, text = pcall(sformat, tostring(m), ...)
    host.log(level, ok and text or tostring(m))
    return 0
  end
end

---------------------------------------------------------------------------- sandbox
local timed_out = false
local TIMEOUT = "UDF Execution Timeout"
local function hook()
  if timed_out or host.expired() then
    timed_out = true
    error(TIMEOUT, 0)
  end
end

local function guard(ok, ...)
  if timed_out then error(TIMEOUT, 0) end
  return ok, ...
end
local function safe_pcall(f, ...) return guard(pcall(f, ...)) end
local function safe_xpcall(f, h, ...) return guard(xpcall(f, h, ...)) end

local function copy(t, names)
  local out = {}
  for _, n in ipairs(names) do out[n] = t[n] end
  return out
end
local STRING = {"byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "rep",
                "reverse", "sub", "upper", "pack", "packsize", "unpack"}
local TABLE = {"concat", "insert", "move", "pack", "remove", "sort", "unpack"}
local MATH = {"abs", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge", "log", "max", "maxinteger",
              "min", "mininteger", "modf", "pi", "rad", "random", "randomseed", "sin", "sqrt", "tan",
              "tointeger", "type", "ult", "atan", "asin", "acos"}
local OS = {"time", "clock", "date", "difftime"}

-- A fresh global table for one module: the safe standard library and Aerospike's API. No io,
-- no os.execute/getenv/remove, no load/loadfile/dofile/require of files, no debug, no string.dump.
function API.new_env()
  local env
  local loaded = {}
  local function require_module(name)
    if type(name) ~= "string" then error("bad argument #1 to 'require' (string expected)", 2) end
    if loaded[name] ~= nil then return loaded[name] end
    local src = host.source(name)
    if src == nil then error("module '" .. name .. "' not found", 2) end
    local f, err = load(src, "@./" .. name .. ".lua", "t", env)
    if not f then error(err, 2) end
    local res = f()
    if res == nil then res = true end
    loaded[name] = res
    return res
  end
  env = {
    assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = safe_pcall,
    xpcall = safe_xpcall, rawequal = rawequal, rawget = rawget, rawlen = rawlen, rawset = rawset,
    select = select, setmetatable = setmetatable, getmetatable = getmetatable, tonumber = tonumber,
    tostring = tostring, type = as_type, unpack = table.unpack, _VERSION = _VERSION,
    string = copy(string, STRING), table = copy(table, TABLE), math = copy(math, MATH),
    utf8 = copy(utf8, {"char", "charpattern", "codepoint", "codes", "len", "offset"}),
    coroutine = copy(coroutine, {"create", "isyieldable", "resume", "running", "status", "wrap", "yield", "close"}),
    os = copy(os, OS),
    list = list, map = map, bytes = bytes, geojson = geojson, record = record, aerospike = aerospike,
    List = List, Map = Map, Bytes = Bytes, GeoJSON = GeoJSON,
    trace = logger(4), debug = logger(3), info = logger(2), warn = logger(1),
    print = function(...)
      local parts = {}
      for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
      host.log(2, tconcat(parts, "\t"))
    end,
    require = require_module,
  }
  env.math.sum = function(a, b) return a + b end
  env.math.product = function(a, b) return a * b end
  env._G = env
  return env
end

-- Load a module's source into env; returns true or false, message.
function API.load(source, chunkname, env)
  local f, err = load(source, chunkname, "t", env)
  if not f then return false, err end
  debug.sethook(hook, "", 1000)
  timed_out = false
  local ok, e = pcall(f)
  debug.sethook()
  if not ok then return false, e end
  return true, nil
end

-- Call env[fname](rec, ...) as the server's apply_record does: (true, value) or (false, error).
function API.call(env, fname, r, args, nargs)
  timed_out = false
  local f = env[fname]
  if f == nil then return false, "function not found" end
  debug.sethook(hook, "", 1000)
  local ok, res = pcall(f, r, table.unpack(args, 1, nargs))
  debug.sethook()
  if timed_out then return false, TIMEOUT end
  return ok, res
end

-- A stored record's bins as a Lua table (for Python, which cannot index Record instances).
function API.record_state(r)
  return r._bins, r._names, r._updates, r._open, r._ttl, r._dropkey, r._failed, r._created == true, r._written
end

---------------------------------------------------------------------------- stream UDFs
-- A stream function gets a StreamOps object and returns it with its stages recorded. The server
-- runs the stages up to and including the first reduce (a reduce runs on both sides); the
-- client runs the rest, from that reduce on, over the values of every node (Aerospike's
-- stream_ops.lua semantics: a stage that yields nil ends its stream, a numeric aggregate value of
-- 1000 or more is emitted early and the aggregation starts again from its initial value).
local SCOPE_SERVER, SCOPE_CLIENT, SCOPE_EITHER, SCOPE_BOTH = 1, 2, 3, 4
local StreamOps = {}
StreamOps.__index = StreamOps
StreamOps.__name = "StreamOps"

local function s_map(nxt, f)
  local done = false
  return function()
    if done then return nil end
    local a = nxt()
    if a ~= nil then return f(a) end
    done = true
  end
end
local function s_filter(nxt, p)
  local done = false
  return function()
    if done then return nil end
    for a in nxt do
      if p(a) then return a end
    end
    done = true
  end
end
local function s_reduce(nxt, f)
  local done = false
  return function()
    if done then return nil end
    local a = nxt()
    if a ~= nil then
      for b in nxt do a = f(a, b) end
    end
    done = true
    return a
  end
end
local function clone_init(v)
  local t = type(v)
  if t ~= "table" then return v end
  local k = kind(v)
  if k == 1 then return list.clone(v) elseif k == 2 then return map.clone(v) elseif k ~= 0 then return nil end
  local out = {}
  for key, x in pairs(v) do out[key] = x end
  return out
end
local function s_aggregate(nxt, init, f)
  local done = false
  return function()
    if done then return nil end
    local a = clone_init(init)
    for b in nxt do
      a = f(a, b)
      if type(a) == "number" and a >= 1000 then return a end
    end
    done = true
    return a
  end
end
local function add_stage(self, scope, fn, ...)
  local ops = rawget(self, "ops")
  ops[#ops + 1] = {scope = scope, fn = fn, args = table.pack(...)}
  return self
end
function StreamOps.map(self, f) return add_stage(self, SCOPE_EITHER, s_map, f) end
function StreamOps.filter(self, p) return add_stage(self, SCOPE_EITHER, s_filter, p) end
function StreamOps.aggregate(self, init, f) return add_stage(self, SCOPE_SERVER, s_aggregate, init, f) end
function StreamOps.reduce(self, f) return add_stage(self, SCOPE_BOTH, s_reduce, f) end
function StreamOps.groupby(self, f)
  local function group(m, v)
    local k = f and f(v) or nil
    local l = m[k] or list()
    list.append(l, v)
    m[k] = l
    return m
  end
  local function concat(l1, l2)
    local l = list.clone(l1)
    for v in list.iterator(l2) do list.append(l, v) end
    return l
  end
  return self:aggregate(map(), group):reduce(function(m1, m2) return map.merge(m1, m2, concat) end)
end

-- The stages of one side: the server's run until the first reduce (included), the client's start there.
local function select_stages(ops, scope)
  local server, client, phase = {}, {}, SCOPE_SERVER
  for _, op in ipairs(ops) do
    if phase == SCOPE_SERVER then
      server[#server + 1] = op
      if op.scope == SCOPE_BOTH then client[#client + 1] = op; phase = SCOPE_CLIENT end
    else
      client[#client + 1] = op
    end
  end
  return scope == SCOPE_CLIENT and client or server
end

-- The aggregation function's result must be the StreamOps it was given (or one like it): the
-- real server's error text when it is not (its aerospike.lua indexes `result.ops`, line 33).
local function stages_of(result)
  local ops = type(result) == "table" and kind(result) == 0 and rawget(result, "ops")
  if type(ops) ~= "table" then
    error('[string "aerospike.lua"]:33: attempt to index a ' .. as_type(result) .. " value (global 'result')", 0)
  end
  return ops
end

local function guarded(fn, ...)
  timed_out = false
  debug.sethook(hook, "", 1000)
  local res = table.pack(pcall(fn, ...))
  debug.sethook()
  if timed_out then return false, TIMEOUT end
  return table.unpack(res, 1, res.n)
end

-- The stages env[fname](stream, args...) sets up for one side (1 server, 2 client):
-- (true, stages, count) or (false, error).
function API.stages(env, fname, scope, args, nargs)
  local f = env[fname]
  if f == nil then return false, "function not found" end
  return guarded(function()
    local stages = select_stages(stages_of(f(setmetatable({ops = {}}, StreamOps), table.unpack(args, 1, nargs))), scope)
    return stages, #stages
  end)
end

-- Run stages over values[1..n]: (true, out, m) with the m values they yield, or (false, error).
function API.run_stages(stages, values, n)
  return guarded(function()
    local i = 0
    local it = function()
      if i < n then i = i + 1; return values[i] end
    end
    for _, op in ipairs(stages) do it = op.fn(it, table.unpack(op.args, 1, op.args.n)) end
    local out, m = {}, 0
    for v in it do m = m + 1; out[m] = v end
    return out, m
  end)
end

API.list, API.map, API.bytes = list, map, bytes
return API
