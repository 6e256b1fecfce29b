-- wrk script: GET /api/me, each request with the next token from the file given after
-- `--` (one token per line). Threads start at different offsets.
local tokens = {}
local i = 0

function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  i = math.random(#tokens)
end

function request()
  i = i % #tokens + 1
  return wrk.format("GET", "/api/me", { ["x-amzn-oidc-data"] = tokens[i] })
end
