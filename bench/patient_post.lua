-- wrk script for bench/patient.py: one patient request, sent again and again with one session cookie.
--
-- PATIENT_COOKIE   the Cookie header, e.g. "screener=..." (required)
-- PATIENT_METHOD   POST (default) or GET
-- PATIENT_BODY     the urlencoded form for a POST, csrf_token included
-- PATIENT_EXPECT   the status class every response must have: "3" (default, a redirect) or "2"
-- PATIENT_LOCATION optional: the redirect's Location must end with this (a lost session redirects
--                  to the start page instead of the next question page)
--
-- wrk only counts statuses outside 2xx/3xx as errors; a lost session answers with a 302 to the start
-- page, so this script counts every response outside the expected class (or redirected elsewhere) and prints
-- "unexpected responses: N (first status S)" when the run is done.

wrk.method = os.getenv("PATIENT_METHOD") or "POST"
wrk.headers["Cookie"] = os.getenv("PATIENT_COOKIE")
if wrk.method == "POST" then
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.body = os.getenv("PATIENT_BODY")
end
local expect = tonumber(os.getenv("PATIENT_EXPECT") or "3")
local location = os.getenv("PATIENT_LOCATION") or ""

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  unexpected = 0
  first = 0
end

local function wrong_place(status, headers)
  if location == "" or math.floor(status / 100) ~= 3 then
    return false
  end
  local got = headers["Location"] or headers["location"] or ""
  return string.sub(got, -string.len(location)) ~= location
end

function response(status, headers, body)
  if math.floor(status / 100) ~= expect or wrong_place(status, headers) then
    unexpected = unexpected + 1
    if first == 0 then
      first = status
    end
  end
end

function done(summary, latency, requests)
  local total, status = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
    if status == 0 then
      status = thread:get("first")
    end
  end
  io.write(string.format("unexpected responses: %d (first status %d)\n", total, status))
end
