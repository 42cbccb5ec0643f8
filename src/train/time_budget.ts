// A time budget for a training loop whose number of steps is not known in advance.
//
// With `--time`, the learning-rate schedule should still reach its end (decay to minLr) when time runs out, so the
// loop needs to know how many steps fit. We cannot know that from the first step: it pays for JIT warm-up and
// first-touch allocations and can take several times a normal step. So the first `skip` steps are not measured,
// and from `skip + 6` on, every 20 steps, the average time per step since then (evaluations included, so a loop
// that evaluates every epoch budgets for them) gives the steps that fit in what is left, less one evaluation.
// Runs without a time limit never call this, which keeps them exactly reproducible.

export class StepBudget {
  private readonly limitSec: number;
  private readonly maxSteps: number;
  private readonly from: number;
  private readonly at: number;
  private fromMs = 0;

  /**
   * `limitSec` of training from `t0Ms` (a performance.now() reading), at most `maxSteps` steps; the loop starts at
   * step `startStep` (non-zero when resuming). Example: `const budget = new StepBudget(240, 1e6, 0, performance.now())`.
   */
  constructor(limitSec: number, maxSteps: number, startStep: number, private readonly t0Ms: number, skip = 2) {
    this.limitSec = limitSec;
    this.maxSteps = maxSteps;
    this.from = startStep + skip;
    this.at = startStep + skip + 6;
  }

  /** True once the budget is spent (checked before every step). */
  spent(nowMs: number): boolean {
    return this.limitSec > 0 && (nowMs - this.t0Ms) / 1000 >= this.limitSec;
  }

  /**
   * Called at the start of step `step` (0-based count of steps done); returns the new total number of steps when
   * it is time to re-fit the schedule, else null. `evalSec` is the duration of the last evaluation (0 if none yet):
   * the reserve for the final one.
   */
  refit(step: number, nowMs: number, evalSec: number): number | null {
    if (this.limitSec <= 0) return null;
    if (step === this.from) this.fromMs = nowMs;
    if (step < this.at || (step - this.at) % 20 !== 0) return null;
    const perStep = (nowMs - this.fromMs) / 1000 / (step - this.from);
    const reserve = evalSec > 0 ? evalSec : 0.03 * this.limitSec;
    const remaining = this.limitSec - (nowMs - this.t0Ms) / 1000 - reserve;
    return Math.min(this.maxSteps, Math.max(step + 1, step + Math.floor(remaining / perStep)));
  }
}
