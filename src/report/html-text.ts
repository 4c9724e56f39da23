// Text in the HTML report: every string that reaches the page goes through `escapeHtml` (element
// content, attribute values and SVG <text> alike), and the few number formats the report prints.
// Formats never depend on the locale, so the same input gives the same page everywhere.

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes a value for HTML text or a quoted attribute value (also inside inline SVG). */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** `0x3800000000`. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** 1234567 → `1,234,567`. */
export function formatCount(n: number): string {
  const s = String(Math.trunc(Math.abs(n))).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return n < 0 ? `-${s}` : s;
}

/** Bytes in binary units: `4 KiB`, `2 MiB`, `1 GiB`, `12 KiB`, `1.5 MiB`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const shown = Number.isInteger(v) ? String(v) : v.toFixed(1);
  return `${shown} ${units[u]}`;
}

/** Milliseconds as `850 ms` or `12.3 s`. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Cuts `s` to at most `max` characters, ending in `…` when cut (before escaping). */
export function truncate(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** Quotes a word for a POSIX shell when it needs quoting. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Monospace text in the SVGs: font size and the advance of one character, for fitting labels. */
export const SVG_FONT = 11;
export const SVG_CHAR_W = 6.7;

/** How many monospace characters fit in `width` pixels. */
export function fitChars(width: number): number {
  return Math.max(1, Math.floor(width / SVG_CHAR_W));
}

/**
 * An SVG <text> element, escaped, cut to `width` pixels when given (the full text then goes in a
 * <title>), in `size` px when given.
 */
export function svgText(
  x: number,
  y: number,
  text: string,
  opts: { width?: number; cls?: string; anchor?: 'start' | 'middle' | 'end'; size?: number } = {},
): string {
  const scale = (opts.size ?? SVG_FONT) / SVG_FONT;
  const shown = opts.width !== undefined ? truncate(text, fitChars(opts.width / scale)) : text;
  const cls = opts.cls ? ` class="${opts.cls}"` : '';
  const anchor = opts.anchor && opts.anchor !== 'start' ? ` text-anchor="${opts.anchor}"` : '';
  const size = opts.size !== undefined ? ` font-size="${opts.size}"` : '';
  const title = shown !== text ? `<title>${escapeHtml(text)}</title>` : '';
  return `<text x="${num(x)}" y="${num(y)}"${cls}${anchor}${size}>${title}${escapeHtml(shown)}</text>`;
}

/** A coordinate, printed short and stable. */
export function num(n: number): string {
  return String(Math.round(n * 10) / 10);
}
