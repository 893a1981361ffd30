-- Record UDFs of the differential harness (tests/_diffharness.py): registered on both servers.

function get(rec, name) return rec[name] end
function put(rec, name, v)
  rec[name] = v
  if aerospike:exists(rec) then return aerospike:update(rec) end
  return aerospike:create(rec)
end
function add(rec, name, n)
  if not aerospike:exists(rec) then return nil end
  local v = rec[name]
  if type(v) ~= "number" then v = 0 end
  rec[name] = v + n
  aerospike:update(rec)
  return rec[name]
end
function del(rec) return aerospike:remove(rec) end
function drop_bin(rec, name)
  if not aerospike:exists(rec) then return -1 end
  rec[name] = nil
  return aerospike:update(rec)
end
function ttl(rec, t)
  if not aerospike:exists(rec) then return nil end
  record.set_ttl(rec, t)
  return aerospike:update(rec)
end
function meta(rec)
  local m = map()
  m.exists = aerospike:exists(rec)
  if m.exists then
    m.gen = record.gen(rec)
    m.numbins = record.numbins(rec)
    local names = list()
    for _, n in ipairs(record.bin_names(rec)) do list.append(names, n) end
    m.names = names
  end
  return m
end
function push(rec, name, v)
  local l = rec[name]
  if getmetatable(l) ~= getmetatable(list()) then l = list() end
  list.append(l, v)
  rec[name] = l
  if aerospike:exists(rec) then aerospike:update(rec) else aerospike:create(rec) end
  return list.size(l)
end
function mput(rec, name, k, v)
  local m = rec[name]
  if getmetatable(m) ~= getmetatable(map()) then m = map() end
  m[k] = v
  rec[name] = m
  if aerospike:exists(rec) then aerospike:update(rec) else aerospike:create(rec) end
  return map.size(m)
end
function fail(rec, msg) error(msg) end
function echo(rec, a, b) return list{a, b} end
