-- Store time in epoch ms: the `now` ARGV when a test passes its clock in, else Redis TIME.
local function clock_now(arg)
  if arg ~= nil and arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
