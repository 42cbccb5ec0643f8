// The model_type values of config.json that attn loads, in one place for every loader's messages (Node and
// browser alike; this file imports nothing).

/** config.json model_type values attn reads: GPT-2, the BERT family, the encoder-decoders. */
export const SUPPORTED_MODEL_TYPES = ['gpt2', 'bert', 'roberta', 'distilbert', 'marian', 't5'] as const;
