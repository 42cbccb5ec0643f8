// Argument parsing for every `attn` command, on Node's own util.parseArgs: typed options, `--help`, and errors
// that say what to do ("unknown option --stepz for `attn train`; run `attn train --help`").
import { parseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Shown in --help, e.g. 'N', 'DIR', 'FILE...'. */
  value?: string;
  help: string;
  default?: string | boolean;
}

export interface CommandSpec {
  name: string; // 'train'
  summary: string;
  usage: string; // 'attn train --data FILES|DIR [options]'
  options: Record<string, OptionSpec>;
  /** Free-form lines after the options (examples). */
  epilog?: string[];
  allowPositionals?: boolean;
}

/** The usage text of a command. */
export function helpText(spec: CommandSpec): string {
  const lines = [`${spec.usage}`, '', spec.summary, '', 'Options:'];
  const rows = Object.entries(spec.options).map(([name, o]) => {
    const left = `  ${o.short ? `-${o.short}, ` : ''}--${name}${o.value ? ` ${o.value}` : ''}`;
    const def = o.default !== undefined && o.default !== false ? ` (default: ${String(o.default)})` : '';
    return [left, o.help + def] as const;
  });
  rows.push(['  -h, --help', 'show this help'] as const);
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  for (const [l, r] of rows) lines.push(l.padEnd(w) + r);
  if (spec.epilog?.length) lines.push('', ...spec.epilog);
  return lines.join('\n');
}

export class UsageError extends Error {}

export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

/** Parse argv for a command; returns null when --help was asked (the help is printed). */
export function parseCommand(spec: CommandSpec, argv: string[]): { values: ParsedValues; positionals: string[] } | null {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(helpText(spec));
    return null;
  }
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: spec.allowPositionals ?? false, strict: true });
    const values: ParsedValues = { ...(r.values as ParsedValues) };
    for (const [name, o] of Object.entries(spec.options)) {
      if (values[name] === undefined && o.default !== undefined) values[name] = o.default;
    }
    return { values, positionals: r.positionals };
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split('\n')[0]} — for \`attn ${spec.name}\`; run \`attn ${spec.name} --help\``);
  }
}

/** A numeric option: checks it is a number in range, and names the option when it is not. */
export function num(values: ParsedValues, name: string, opts: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  const bad = typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(v) || (opts.int && !Number.isInteger(v)) || (opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max);
  if (bad) {
    const range = [opts.int ? 'an integer' : 'a number', opts.min !== undefined ? `≥ ${opts.min}` : '', opts.max !== undefined ? `≤ ${opts.max}` : ''].filter(Boolean).join(' ');
    throw new UsageError(`--${name} must be ${range}, got '${String(raw)}'`);
  }
  return v;
}

export function str(values: ParsedValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function list(values: ParsedValues, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}
