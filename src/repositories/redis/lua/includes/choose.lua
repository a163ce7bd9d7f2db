-- Member choice (docs/admission.md rule 11) among in-service members with room.
-- breadth-first: least loaded by count / maxSessions (compared without division),
-- ties to the lower count, then to config order. depth-first: first in config order.
-- Returns the member spec, or nil.
local function choose_member(spec, state)
  local best, best_count
  for _, m in ipairs(spec.members) do
    local count = state['m:' .. m.id] or 0
    if m.state == 'active' and count < m.maxSessions then
      if spec.strategy == 'depth-first' then return m end
      if best == nil then
        best, best_count = m, count
      else
        local lhs, rhs = count * best.maxSessions, best_count * m.maxSessions
        if lhs < rhs or (lhs == rhs and count < best_count) then best, best_count = m, count end
      end
    end
  end
  return best
end
