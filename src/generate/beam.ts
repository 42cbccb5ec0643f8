// Beam search bookkeeping with the exact rules of Hugging Face transformers 4.36.2 (BeamHypotheses and
// BeamSearchScorer in generation/beam_search.py), so that attn returns the same sequences and the same
// `sequences_scores` for the same logits.
//
// The idea: keep the num_beams best partial sequences ("beams") of every prompt. Each step, every beam is
// extended by every token; a candidate's score is its beam's running sum of log-probabilities plus the new
// token's log-probability. The best candidates become the next beams; a candidate ending in EOS instead
// becomes a finished "hypothesis", whose score is normalised by length:
//
//     score = Σ log p(token) / (generated length) ^ length_penalty
//
// (length_penalty > 0 favours longer outputs, < 0 shorter ones). Each prompt keeps its num_beams best
// finished hypotheses; the search for a prompt ends when no open beam can beat them any more (early_stopping).
//
// Shapes: B prompts, nb = num_beams, rows = B·nb (beam j of prompt b is row b·nb + j), L tokens per row,
// k = candidates kept per prompt per step (2·nb).

/** A finished (or, at the end, still open) sequence and its length-normalised score. */
interface Hypothesis {
  score: number;
  tokens: Int32Array; // prompt + generated, without the final EOS
}

/** The best finished hypotheses of one prompt (transformers' BeamHypotheses). */
export class BeamHypotheses {
  /** In insertion order, like transformers' list (this matters for the order of equal scores). */
  readonly beams: Hypothesis[] = [];
  /** Score of the worst kept hypothesis; 1e9 while empty (transformers' initial value). */
  worstScore = 1e9;

  constructor(
    readonly numBeams: number,
    readonly lengthPenalty: number,
    readonly earlyStopping: boolean | 'never',
    readonly maxLength: number,
  ) {}

  get size(): number {
    return this.beams.length;
  }

  /**
   * Offers a hypothesis. generatedLen counts the tokens generated after the prompt *including* the EOS that
   * finished it (transformers >= 4.36; earlier versions divided by the whole length without EOS).
   */
  add(tokens: Int32Array, sumLogprobs: number, generatedLen: number): void {
    const score = sumLogprobs / generatedLen ** this.lengthPenalty;
    if (this.beams.length < this.numBeams || score > this.worstScore) {
      this.beams.push({ score, tokens });
      if (this.beams.length > this.numBeams) {
        // Drop the worst; on equal scores the earlier one (Python sorts (score, index) pairs).
        const order = this.beams.map((b, i) => [b.score, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        this.beams.splice(order[0]![1], 1);
        this.worstScore = order[1]![0];
      } else {
        this.worstScore = Math.min(score, this.worstScore);
      }
    }
  }

  /**
   * Can any open beam still beat the worst kept hypothesis? `bestSumLogprobs` is the best running score among
   * this step's candidates, `curLen` the row length including this step's token.
   */
  isDone(bestSumLogprobs: number, curLen: number, promptLength: number): boolean {
    if (this.beams.length < this.numBeams) return false;
    if (this.earlyStopping === true) return true; // num_beams finished hypotheses are enough
    if (this.earlyStopping === false) {
      // Heuristic: pretend the best beam would finish now. (Not a bound when length_penalty > 0: a longer
      // continuation divides by a larger length and can still come out better; "never" handles that.)
      const highest = bestSumLogprobs / (curLen - promptLength) ** this.lengthPenalty;
      return this.worstScore >= highest;
    }
    // "never": the best score any continuation could still reach. Log-probabilities are <= 0, so with
    // length_penalty > 0 the largest denominator (the longest allowed length) gives the highest score.
    const denomLength = this.lengthPenalty > 0 ? this.maxLength - promptLength : curLen - promptLength;
    const highest = bestSumLogprobs / denomLength ** this.lengthPenalty;
    return this.worstScore >= highest;
  }
}

/** What one step of beam search decided: per row the running score, the next token and the parent row. */
export interface BeamStep {
  scores: Float32Array; // (rows)
  tokens: Int32Array; // (rows)
  parents: Int32Array; // (rows): global row index the new row continues
}

/** transformers' BeamSearchScorer: one BeamHypotheses per prompt plus the step logic. */
export class BeamSearchScorer {
  readonly hyps: BeamHypotheses[];
  readonly done: boolean[];

  constructor(
    readonly batchSize: number,
    readonly numBeams: number,
    readonly lengthPenalty: number,
    readonly earlyStopping: boolean | 'never',
    readonly numReturnSequences: number,
    readonly maxLength: number,
  ) {
    this.hyps = Array.from({ length: batchSize }, () => new BeamHypotheses(numBeams, lengthPenalty, earlyStopping, maxLength));
    this.done = new Array<boolean>(batchSize).fill(false);
  }

  get isDone(): boolean {
    return this.done.every((d) => d);
  }

  /**
   * One step. `ids` (rows, L) are the beams before this step's token. For prompt b, candidate c (best first,
   * k per prompt) extends beam candBeam[b·k + c] (0..nb-1) with token candToken[...] and has running score
   * candScore[...]. Walk the candidates in rank order: an EOS candidate among the first nb ranks becomes a
   * finished hypothesis (EOS candidates further down are skipped); the others become the next beams until
   * nb of them are chosen.
   */
  process(
    ids: Int32Array,
    L: number,
    candScore: Float32Array,
    candToken: Int32Array,
    candBeam: Int32Array,
    k: number,
    eos: readonly number[],
    padTokenId: number | null,
    promptLength: number,
  ): BeamStep {
    const nb = this.numBeams;
    const rows = this.batchSize * nb;
    const next: BeamStep = { scores: new Float32Array(rows), tokens: new Int32Array(rows), parents: new Int32Array(rows) };
    const curLen = L + 1; // the length the candidates' scores refer to (this step's token included)
    for (let b = 0; b < this.batchSize; b++) {
      if (this.done[b]) {
        // Finished prompts keep padding along (their result is already in this.hyps[b]).
        if (padTokenId === null) throw new Error('beam search: a prompt finished before the others, so pad_token_id (or eos_token_id) must be set');
        for (let j = 0; j < nb; j++) {
          next.scores[b * nb + j] = 0;
          next.tokens[b * nb + j] = padTokenId;
          next.parents[b * nb + j] = b * nb + j;
        }
        continue;
      }
      let chosen = 0;
      for (let c = 0; c < k && chosen < nb; c++) {
        const token = candToken[b * k + c]!;
        const score = candScore[b * k + c]!;
        const parent = b * nb + candBeam[b * k + c]!;
        if (eos.includes(token)) {
          if (c >= nb) continue; // an EOS outside the top nb ranks is not good enough to finish a hypothesis
          this.hyps[b]!.add(ids.slice(parent * L, (parent + 1) * L), score, curLen - promptLength);
        } else {
          next.scores[b * nb + chosen] = score;
          next.tokens[b * nb + chosen] = token;
          next.parents[b * nb + chosen] = parent;
          chosen++;
        }
      }
      if (chosen < nb) {
        throw new Error(`beam search: only ${chosen} of ${nb} beams could continue for prompt ${b} (too many candidates were EOS); this needs at least ${nb} non-EOS candidates among ${k}`);
      }
      // Best candidate score of this step = the first (they are sorted), EOS or not.
      this.done[b] = this.done[b]! || this.hyps[b]!.isDone(candScore[b * k]!, curLen, promptLength);
    }
    return next;
  }

  /**
   * Ends the search: prompts that are not done add all their open beams (scored by their current length),
   * then each prompt returns its numReturnSequences best hypotheses, best first. Rows have the length of the
   * longest returned hypothesis + 1 (room for its EOS), capped at maxLength; a shorter hypothesis gets its
   * EOS appended and is filled with pad_token_id.
   */
  finalize(ids: Int32Array, L: number, beamScores: Float32Array, eos: readonly number[], padTokenId: number | null, promptLength: number): { sequences: Int32Array[]; scores: Float32Array } {
    const nb = this.numBeams;
    for (let b = 0; b < this.batchSize; b++) {
      if (this.done[b]) continue;
      for (let j = 0; j < nb; j++) {
        const row = b * nb + j;
        this.hyps[b]!.add(ids.slice(row * L, (row + 1) * L), beamScores[row]!, L - promptLength);
      }
    }
    const best: Hypothesis[] = [];
    for (let b = 0; b < this.batchSize; b++) {
      // Python: sorted(beams, key=score) (stable), then pop() from the end: best score first, and among equal
      // scores the one added last.
      const sorted = [...this.hyps[b]!.beams].sort((x, y) => x.score - y.score);
      for (let j = 0; j < this.numReturnSequences; j++) {
        const h = sorted.pop();
        if (!h) throw new Error(`beam search: prompt ${b} has fewer than num_return_sequences = ${this.numReturnSequences} hypotheses`);
        best.push(h);
      }
    }
    let longest = 0;
    let shortest = Infinity;
    for (const h of best) {
      longest = Math.max(longest, h.tokens.length);
      shortest = Math.min(shortest, h.tokens.length);
    }
    const width = Math.min(longest + 1, this.maxLength);
    if (shortest !== longest && padTokenId === null) {
      throw new Error('beam search: hypotheses of different lengths need pad_token_id (or eos_token_id) to fill the shorter ones');
    }
    const sequences = best.map((h) => {
      const row = new Int32Array(width).fill(padTokenId ?? 0);
      row.set(h.tokens);
      if (h.tokens.length < width) {
        if (eos.length === 0) throw new Error('beam search: a hypothesis ended early without an eos_token_id to append');
        row[h.tokens.length] = eos[0]!; // only the first EOS id is written back
      }
      return row;
    });
    return { sequences, scores: Float32Array.from(best.map((h) => h.score)) };
  }
}
