-- Loaded by generated scripts that define `requests`, a list of complete raw HTTP requests
-- (each pre-signed for its own API key): send them in turn, round and round.
local next_index = 0

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end
