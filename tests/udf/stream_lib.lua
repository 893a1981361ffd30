-- Stream UDFs for aggregation tests (our client and the official one, embedded and real servers).
local function one(rec) return 1 end
local function add(a, b) return a + b end

function count(s) return s : map(one) : reduce(add) end

function sum_bin(s, bin) return s : map(function(r) return r[bin] end) : reduce(add) end

function average(s, bin)
  local function pair(r) return map{sum = r[bin], count = 1} end
  local function merge(a, b) return map{sum = a.sum + b.sum, count = a.count + b.count} end
  local function finish(m) return m.sum / m.count end
  return s : map(pair) : reduce(merge) : map(finish)
end

function above(s, bin, lo)
  return s : filter(function(r) return r[bin] >= lo end) : map(function(r) return r[bin] end)
end

function count_above(s, bin, lo)
  return s : filter(function(r) return r[bin] >= lo end) : map(one) : reduce(add)
end

-- A group-by with aggregate: counts per parity of a bin.
function parity_counts(s, bin)
  local function agg(m, r)
    local k = r[bin] % 2 == 0 and "even" or "odd"
    m[k] = (m[k] or 0) + 1
    return m
  end
  return s : aggregate(map(), agg) : reduce(function(a, b) return map.merge(a, b, add) end)
end

-- stream:groupby (bins grouped into lists), then the group sizes.
function group_sizes(s, bin)
  local function sizes(m)
    local out = map()
    for k, l in map.pairs(m) do out[k] = list.size(l) end
    return out
  end
  return s : map(function(r) return r[bin] end) : groupby(function(v) return v % 3 end) : map(sizes)
end

-- An aggregate whose numeric value passes 1000: emitted at once, the aggregation starts again.
function big_steps(s, bin)
  return s : aggregate(0, function(a, r) return a + r[bin] * 1000 end)
end

function values_of(s, bin) return s : map(function(r) return list{r[bin], tostring(r[bin]), bytes(0)} end) end
function meta_of(s) return s : map(function(r) return record.setname(r) .. ":" .. tostring(record.gen(r)) end) end
function args_echo(s, a, b) return s : map(function(r) return list{a, b} end) : reduce(function(x, y) return x end) end
function nothing(s) return s : filter(function(r) return false end) : map(one) : reduce(add) end
function nils(s) return s : map(function(r) return nil end) end
function fail_map(s) return s : map(function(r) error("boom in map") end) end
function fail_reduce(s) return s : map(one) : reduce(function(a, b) error("boom in reduce") end) end
function fail_final(s) return s : map(one) : reduce(add) : map(function(v) error("boom on the client") end) end
function not_a_stream(s) return 5 end
