-- One endpoint's traffic for bench/soak.sh (wrk -s). The endpoint and its data come from the
-- environment: SOAK_ENDPOINT (maps|points|track|search|similar|audio|transcode), SOAK_TOKEN (Bearer),
-- SOAK_TRACKS (ids 1..N), SOAK_AUDIO ("id:size ..." of tracks with real files). Every response that is
-- not 2xx counts as failed; done() prints one SOAK line that soak.sh collects.
local kind = os.getenv("SOAK_ENDPOINT") or "maps"
local token = os.getenv("SOAK_TOKEN") or ""
local ntracks = tonumber(os.getenv("SOAK_TRACKS") or "1")
local audio = {}
for id, size in string.gmatch(os.getenv("SOAK_AUDIO") or "", "(%d+):(%d+)") do
  table.insert(audio, { id = id, size = tonumber(size) })
end
local words = { "song", "artist", "album", "blues", "jazz", "rock", "metal", "pop", "classical", "disco" }

local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
  table.insert(threads, thread)
end

function init(args)
  -- each thread its own sequence: wrk's threads start at the same second
  math.randomseed(os.time() * 1000 + (seed or 0) * 7919)
  ok, bad = 0, 0
end

local function range_for(a, cap)
  local r = math.random(10)
  if r == 1 then return nil end                                     -- the whole file
  if r == 2 then return "bytes=-" .. math.random(1, 65536) end       -- a tail
  local start = math.random(0, math.min(a.size, cap) - 1)
  if r == 3 then return "bytes=" .. start .. "-" end                 -- to the end
  return "bytes=" .. start .. "-" .. (start + math.random(0, 262143)) -- a chunk, end maybe clipped
end

function request()
  local headers = { Authorization = "Bearer " .. token }
  local path
  if kind == "maps" then
    path = "/api/maps"
  elseif kind == "points" then
    path = "/api/maps/" .. math.random(1, 3) .. "/points"
    if math.random(20) == 1 then path = path .. "?format=json" end
  elseif kind == "track" then
    path = "/api/tracks/" .. math.random(1, ntracks)
  elseif kind == "search" then
    local w = words[math.random(#words)]
    if math.random(2) == 1 then w = w .. "%20" .. math.random(1, 999) end
    path = "/api/search?q=" .. w .. "&limit=20"
  elseif kind == "similar" then
    path = "/api/tracks/" .. math.random(1, ntracks) .. "/similar?k=12"
  else -- audio, transcode: tracks with files; a transcode's size is unknown before it is made, so its
       -- ranges start in the first 32 KiB (every transcode here is longer)
    local a = audio[math.random(#audio)]
    headers.Range = range_for(a, kind == "transcode" and 32768 or a.size)
    path = "/api/tracks/" .. a.id .. "/audio"
  end
  return wrk.format("GET", path, headers)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
  local good, failed = 0, 0
  for _, t in ipairs(threads) do
    good = good + t:get("ok")
    failed = failed + t:get("bad")
  end
  local e = summary.errors
  local sockets = e.connect + e.read + e.write + e.timeout
  io.write(string.format("SOAK %s requests=%d ok=%d non2xx=%d socket_errors=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    kind, summary.requests, good, failed, sockets, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
