// Label names ↔ class ids: the `label2id` / `id2label` pair a Hugging Face config.json stores.
//
// Built from the training file, the order must not depend on the order rows happen to be in, or two runs on
// a shuffled file would train different heads for the same data. So the names are sorted (as run_glue.py and
// run_ner.py do with `label_list.sort()`): numerically when every name is a number ("2" < "10"), otherwise
// by UTF-16 code units ("B-LOC" < "B-PER" < "I-LOC" < "O"), which is the same for every JavaScript engine.

import { DataError } from './errors.js';

/** Class names and ids, in both directions. id2label[i] is the name of class i. */
export interface LabelMap {
  label2id: Map<string, number>;
  id2label: string[];
}

/**
 * A label map over the distinct names in `labels`, sorted as described at the top of this file.
 * Example: `buildLabelMap(['pos', 'neg', 'pos']).id2label` → `['neg', 'pos']`.
 */
export function buildLabelMap(labels: Iterable<string>): LabelMap {
  const names = [...new Set(labels)];
  const numeric = names.length > 0 && names.every((n) => n.trim() !== '' && Number.isFinite(Number(n)));
  names.sort(numeric ? (a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return labelMapFromList(names);
}

/**
 * A label map that keeps the given order (from a model's config.json `id2label`, or a list the user wrote).
 * Example: `labelMapFromList(['O', 'B-PER', 'I-PER']).label2id.get('B-PER')` → 1. Duplicate names are an error.
 */
export function labelMapFromList(id2label: readonly string[]): LabelMap {
  const label2id = new Map<string, number>();
  id2label.forEach((name, i) => {
    if (label2id.has(name)) throw new Error(`label list names ${JSON.stringify(name)} twice (ids ${label2id.get(name)} and ${i})`);
    label2id.set(name, i);
  });
  return { label2id, id2label: id2label.slice() };
}

/**
 * The id of `label`, or a DataError naming where the unknown label was and which labels are known (an eval
 * file with a class the training file never had cannot be scored by the trained head).
 */
export function labelId(map: LabelMap, label: string, source: string, line: number): number {
  const id = map.label2id.get(label);
  if (id === undefined) {
    const known = map.id2label.map((l) => JSON.stringify(l));
    const shown = known.length > 30 ? known.slice(0, 30).join(', ') + `, … (${known.length} in all)` : known.join(', ');
    throw new DataError(source, line, `label ${JSON.stringify(label)} is not one of the known labels: ${shown}`);
  }
  return id;
}
