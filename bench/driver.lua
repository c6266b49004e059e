-- wrk script for bench/: realistic comment bodies, and an optional wrk2-style paced mode.
--
-- Arguments (after --): mode (single | batch), path, bearer key or "-", texts file (one JSON
-- string literal per line), run id, batch size, requests/s for this thread (0 = closed loop).
-- A paced thread sends on a fixed schedule and measures each latency from the time the request
-- was due, not when it went out, so a stall counts against every request it delayed
-- (no coordinated omission). done() prints one "BENCH key=value ..." line for bench/load.py.

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

function init(args)
  mode, path, key, texts_path, run_id = args[1], args[2], args[3], args[4], args[5]
  batch_size = tonumber(args[6])
  rate = tonumber(args[7])
  threads = tonumber(args[8])
  texts = {}
  for line in io.lines(texts_path) do texts[#texts + 1] = line end
  sent = 0
  hist = {}  -- paced latencies, in buckets of 10 microseconds
  due = {}
  first_due, last_due = 1, 0
  next_due = nil
  interval = rate > 0 and 1000000 / rate or 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if key ~= "-" then wrk.headers["Authorization"] = "Bearer " .. key end
end

local function comment(n)
  return '{"id":"' .. run_id .. '-' .. thread_id .. '-' .. n .. '","article_id":"article-'
    .. (n % 40) .. '","author":{"id":"reader-' .. (n % 997) .. '","name":"Reader ' .. (n % 997)
    .. '"},"text":' .. texts[((n - 1) * threads + thread_id - 1) % #texts + 1] .. '}'
end

function request()
  sent = sent + 1
  local body
  if mode == "batch" then
    local parts = {}
    for j = 1, batch_size do parts[j] = comment((sent - 1) * batch_size + j) end
    body = '{"comments":[' .. table.concat(parts, ",") .. ']}'
  else
    body = comment(sent)
  end
  return wrk.format(nil, path, nil, body)
end

-- PACED_ONLY_BEGIN
function delay()
  local now = now_us()
  if next_due == nil then next_due = now end
  local at = next_due
  next_due = next_due + interval
  last_due = last_due + 1
  due[last_due] = at
  -- wrk takes whole milliseconds; rounding up sends up to 1 ms late, which only adds latency.
  local wait = at - now
  if wait <= 0 then return 0 end
  return math.ceil(wait / 1000)
end

function response(status, headers, body)
  local at = due[first_due]
  if at == nil then return end
  due[first_due] = nil
  first_due = first_due + 1
  local bucket = math.floor((now_us() - at) / 10)
  hist[bucket] = (hist[bucket] or 0) + 1
end
-- PACED_ONLY_END

local function percentile(buckets, total, p)
  local keys = {}
  for b, _ in pairs(buckets) do keys[#keys + 1] = b end
  table.sort(keys)
  local want, seen = total * p / 100, 0
  for _, b in ipairs(keys) do
    seen = seen + buckets[b]
    if seen >= want then return (b + 1) * 10 end
  end
  return 0
end

function done(summary, latency, requests)
  local e = summary.errors
  local line = string.format(
    "BENCH requests=%d duration_us=%d connect_errors=%d read_errors=%d write_errors=%d "
    .. "status_errors=%d timeouts=%d p50_us=%d p99_us=%d max_us=%d",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max)
  local merged, total = {}, 0
  for _, thread in ipairs(threads) do
    local h = thread:get("hist")
    if h then
      for b, c in pairs(h) do
        merged[b] = (merged[b] or 0) + c
        total = total + c
      end
    end
  end
  if total > 0 then
    line = line .. string.format(" paced=%d paced_p50_us=%d paced_p99_us=%d", total,
      percentile(merged, total, 50), percentile(merged, total, 99))
  end
  print(line)
end
