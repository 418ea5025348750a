/** Where a run writes and what it reads from its surroundings; tests inject their own. */
export interface Io {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
  /** The environment (`WHITEPAY_RPC_URL`, `WHITEPAY_PRIVATE_KEY`, …); never `process.env` read elsewhere. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Base for relative file paths (defaults to `process.cwd()`). */
  readonly cwd?: string;
}

/** JSON with bigints as decimal strings (uint256 values do not fit a JS number). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

export type Cell = string | number | bigint | boolean | null | undefined;

function cellText(c: Cell): string {
  if (c === null || c === undefined) return '-';
  return String(c);
}

/**
 * An aligned plain-text table: a header row, then one row per record; numbers (and bigints) right-aligned.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((r) => headers.map((_, i) => cellText(r[i])));
  const right = headers.map(
    (_, i) =>
      rows.length > 0 &&
      rows.every((r) => typeof r[i] === 'number' || typeof r[i] === 'bigint' || r[i] == null),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...text.map(line)].join('\n');
}

/** `key  value` lines with the keys aligned. */
export function formatPairs(pairs: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${cellText(v)}`).join('\n');
}

/** `0x1234…abcd` for long hex in human tables (JSON always has the full value). */
export function shortHex(hex: string, keep = 6): string {
  return hex.length <= 2 + 2 * keep + 1 ? hex : `${hex.slice(0, 2 + keep)}…${hex.slice(-keep)}`;
}
