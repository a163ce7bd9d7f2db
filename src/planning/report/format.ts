import type { VariantResult } from '../planner';

/** "today" or "telework ×2". */
export function variantLabel(v: Pick<VariantResult, 'variant' | 'growth'>): string {
  return v.variant === 'today' ? 'today' : `telework ×${+v.growth.toFixed(2)}`;
}

/** 60,000 */
export function int(n: number): string {
  return Math.round(n).toLocaleString('en-GB');
}

/** 1.23 % (two significant decimals below 1 %, one above), "0 %" for zero. */
export function pct(x: number): string {
  if (x === 0) return '0 %';
  const p = x * 100;
  if (p < 0.01) return '< 0.01 %';
  return `${p < 1 ? p.toFixed(2) : p < 10 ? p.toFixed(1) : p.toFixed(0)} %`;
}

/** Plain number for CSV: fixed decimals, no thousands separators. */
export function csvNumber(x: number, decimals = 6): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(decimals).replace(/0+$/, '').replace(/\.$/, '');
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
