// Model Zoo 2.3.0's LLaVA config: still the flat format of 2.2.1, but the data config
// (LlavaHDF5MapDataProcessorConfig) no longer takes bos_token_id, pad_token_id or fp16_type, and gains
// a few loader options. Everything else is 2.2.1's schema.
import { z } from "zod";
import { DataConfig as DataConfig221, flatLlavaConfig } from "./cerebras-2.2.1.js";

export const DataConfig = DataConfig221.omit({ bos_token_id: true, pad_token_id: true, fp16_type: true }).extend({
  use_worker_cache: z.boolean().optional(),
  mixture: z.array(z.strictObject({ data_dir: z.string(), weight: z.number().positive(), data_subset: z.string().optional() })).optional(),
  num_samples: z.number().int().positive().optional(),
  sort_files: z.boolean().optional(),
  use_vsl: z.literal(false).optional(),
  pad_last: z.boolean().optional(),
  data_subset: z.string().optional(),
  dataset_map_fn: z.string().optional(),
});

export const LlavaConfig = flatLlavaConfig(DataConfig);
