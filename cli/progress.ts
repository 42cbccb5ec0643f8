// A one-line progress bar on stderr: `step 120/1000 [████░░░░] loss 3.21 · 5.4k tok/s · ETA 2m10s`.
// On a terminal it redraws in place; when stderr is a file or pipe (CI, logs) it prints a plain line at most
// every `plainEverySec` seconds so logs stay readable.

export class ProgressBar {
  private lastPlain = 0;
  private lastDraw = 0;
  private readonly tty: boolean;
  private readonly start = performance.now();

  constructor(
    private total: number,
    private readonly label = '',
    private readonly plainEverySec = 10,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(out.isTTY) && !process.env['CI'];
  }

  /** Redraw for `done` of `total` with extra text after the bar; `etaSec` overrides the linear estimate. */
  update(done: number, extra = '', etaSec?: number): void {
    const now = performance.now();
    const elapsed = (now - this.start) / 1000;
    const eta = etaSec ?? (done > 0 ? (elapsed / done) * (this.total - done) : NaN);
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const text = `${this.label}${done}/${this.total} ${bar(frac, 24)} ${extra}${Number.isFinite(eta) ? ` · ETA ${duration(eta)}` : ''}`;
    if (this.tty) {
      if (now - this.lastDraw < 50 && done < this.total) return; // at most 20 redraws a second
      this.lastDraw = now;
      const width = this.out.columns ?? 100;
      this.out.write(`\r${text.slice(0, width - 1).padEnd(width - 1)}`);
    } else if (now - this.lastPlain >= this.plainEverySec * 1000 || done >= this.total) {
      this.lastPlain = now;
      this.out.write(text + '\n');
    }
  }

  /** The total can change while running (a time budget is turned into a number of steps after a few). */
  setTotal(total: number): void {
    this.total = total;
  }

  /** Print a message on its own line without breaking the bar. */
  log(message: string): void {
    if (this.tty) this.out.write(`\r\x1b[K${message}\n`);
    else this.out.write(message + '\n');
  }

  done(): void {
    if (this.tty) this.out.write('\n');
  }
}

function bar(frac: number, width: number): string {
  const full = Math.round(frac * width);
  return '[' + '█'.repeat(full) + '░'.repeat(width - full) + ']';
}

/** 135 → "2m15s", 7200 → "2h00m". */
export function duration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '?';
  if (sec < 60) return `${sec.toFixed(0)}s`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m${String(Math.floor(sec % 60)).padStart(2, '0')}s`;
  return `${Math.floor(sec / 3600)}h${String(Math.floor((sec % 3600) / 60)).padStart(2, '0')}m`;
}

/** 5400 → "5.4k". */
export function compact(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1e9) return (n / 1e9).toFixed(2) + 'G';
  if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(2) + 'M';
  if (Math.abs(n) >= 1e3) return (n / 1e3).toFixed(1) + 'k';
  return n.toFixed(n >= 100 ? 0 : 2);
}
