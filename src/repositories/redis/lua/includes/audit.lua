--- @include "keys"
-- One audit record (src/domain/audit.ts): every field in the written order, '' where it
-- does not apply, the time as a decimal string. XADD with an auto id.
local function audit(base, now, ev, f)
  redis.call('XADD', key_audit(base), '*', 't', string.format('%d', now), 'ev', ev,
    'own', f.own or '', 'ag', f.ag or '', 'm', f.m or '', 'g', f.g or '', 'code', f.code or '',
    'pc', f.pc or '', 'by', f.by or '', 'act', f.act or '', 'd', f.d or '')
end
