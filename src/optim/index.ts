// Optimizers (AdamW, SGD), gradient clipping and learning-rate schedules.
export { Optimizer, type ParamGroup, type ParamGroupInput } from './optimizer.js';
export { AdamW, type AdamWOptions, type AdamWStateDict } from './adamw.js';
export { SGD, type SGDOptions, type SGDStateDict } from './sgd.js';
export { WeightAverage } from './average.js';
export { clipGradNorm, cosineWithWarmup, linearWithWarmup, type WarmupSchedule } from './schedule.js';
