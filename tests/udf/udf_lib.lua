-- Record UDFs for the UDF tests: the same module runs on the embedded and on a real server.

function echo(rec, v) return v end
function echo_all(rec, ...) return list{...} end
function typeof(rec, v) return type(v) end
function hello(rec, name) return "hello " .. tostring(name) end

function get_bin(rec, name) return rec[name] end
function set_bin(rec, name, v)
  rec[name] = v
  if aerospike:exists(rec) then return aerospike:update(rec) end
  return aerospike:create(rec)
end
function set_no_update(rec, name, v) rec[name] = v; return rec[name] end
function bump(rec, name, n)
  if not aerospike:exists(rec) then return nil end
  local v = rec[name]
  if v == nil then v = 0 end
  rec[name] = v + n
  aerospike:update(rec)
  return rec[name]
end
function create_only(rec, name, v) rec[name] = v; return aerospike:create(rec) end
function update_only(rec, name, v) rec[name] = v; return aerospike:update(rec) end
function remove(rec) return aerospike:remove(rec) end
function remove_bin(rec, name) rec[name] = nil; return aerospike:update(rec) end
function touch(rec) return aerospike:update(rec) end
function set_ttl(rec, ttl) record.set_ttl(rec, ttl); return aerospike:update(rec) end

function meta(rec)
  local m = map()
  m.gen = record.gen(rec)
  m.ttl = record.ttl(rec)
  m.set = record.setname(rec)
  m.key = record.key(rec)
  m.digest = record.digest(rec)
  m.exists = aerospike:exists(rec)
  m.numbins = record.numbins(rec)
  return m
end
function gen_after_update(rec, name, v)
  rec[name] = v
  aerospike:update(rec)
  return record.gen(rec)
end

function lists(rec)
  local l = list{1, "two", 3.5}
  list.append(l, 4)
  list.prepend(l, 0)
  list.insert(l, 2, "ins")
  list.remove(l, 3)
  local t = list.take(l, 3)
  local d = list.drop(l, 3)
  local out = list()
  for v in list.iterator(l) do list.append(out, v) end
  return map{all = l, take = t, drop = d, size = list.size(l), len = #l, iter = out, str = tostring(list{1, "a"})}
end
function maps(rec)
  local m = map{a = 1, b = "x"}
  m.c = list{1, 2}
  m.d = map{e = 2.5}
  map.remove(m, "a")
  local keys = 0
  for k in map.keys(m) do keys = keys + 1 end
  return map{m = m, size = map.size(m), keys = keys, b = m.b, missing = m.zz}
end
function nested_write(rec, name)
  rec[name] = map{l = list{1, list{2, 3}, map{x = "y"}}, n = -7, f = 1.25, s = "str", t = true}
  if aerospike:exists(rec) then aerospike:update(rec) else aerospike:create(rec) end
  return rec[name]
end
function bytes_ops(rec)
  local b = bytes(8)
  bytes.append_byte(b, 1)
  bytes.append_string(b, "AB")
  bytes.append_int16(b, 258)
  bytes.append_int32_le(b, 1)
  local s = bytes.size(b)
  return list{b, s, bytes.get_byte(b, 1), bytes.get_string(b, 2, 2), bytes.get_int16(b, 4), bytes.get_int32_le(b, 6), b[2]}
end
function bytes_arg(rec, b) return list{bytes.size(b), b[1], type(b)} end
function bins_of(rec)
  local names = record.bin_names(rec)
  table.sort(names)
  return list(names)
end
function numbers(rec) return list{1, 1.5, 2^53, 7 // 2, 7 / 2, -0.0 == 0.0, math.maxinteger, 3 | 4} end

function fail(rec) error("deliberate failure") end
function fail_level0(rec) error("no position", 0) end
function fail_table(rec) error({a = 1}) end
function fail_nil_index(rec) local x = nil; return x.y end
function fail_call(rec) return undefined_fn() end
function bad_bin_value(rec) rec["f"] = function() end; return aerospike:update(rec) end
function ret_function(rec) return function() end end
function ret_table(rec) return {1, 2} end
function loop(rec) while true do end end
function log_all(rec) trace("t %d", 1); debug("d"); info("i %s", "x"); warn("w"); return 1 end

function sandbox(rec)
  return map{io = type(io), load = type(load), dofile = type(dofile), loadfile = type(loadfile),
             os_execute = type(os and os.execute), string_dump = type(string.dump)}
end
function require_missing(rec) return require("udf_no_such_module") end
function memory_hog(rec) local t = {} for i = 1, 1e9 do t[i] = i end return #t end
