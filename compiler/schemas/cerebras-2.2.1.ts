// Strict zod mirrors of the Cerebras Model Zoo 2.2.1 LLaVA config classes (LlavaConfig and the
// constructor keyword arguments of ViTModel, GPT2LMHeadModel and FeedForwardNetwork). Unknown keys are
// rejected everywhere, as the Model Zoo rejects them at construction. llavac is stricter in three places
// where the Model Zoo accepts a config that then misbehaves: `freeze` must be a list (None crashes),
// `image_feature_select_layer_idx` must be explicit (omitting it silently runs all layers plus the final
// norm), and `train_input.max_sequence_length` must be absent (it is compared with the wrong dimension).
import { z } from "zod";

const int = z.number().int();
const num = z.number();
const str = z.string();
const bool = z.boolean();

const transform = z.discriminatedUnion("name", [
  z.strictObject({ name: z.literal("expand_to_square"), background_color: z.tuple([int, int, int]) }),
  z.strictObject({
    name: z.literal("resize"),
    // torchvision's Resize: the shorter side, or [height, width] exactly (create_transform passes it through).
    size: z.union([int.positive(), z.tuple([int.positive(), int.positive()])]),
    interpolation: z.enum(["bicubic", "bilinear", "nearest", "lanczos"]).optional(),
  }),
  z.strictObject({ name: z.literal("center_crop"), size: int.positive() }),
  z.strictObject({ name: z.literal("to_tensor") }),
  z.strictObject({ name: z.literal("normalize"), mean: z.array(num).length(3), std: z.array(num.positive()).length(3) }),
]);

export const DataConfig = z.strictObject({
  data_processor: z.literal("LlavaHDF5MapDataProcessor"),
  data_dir: z.union([str, z.array(str).min(1)]),
  img_data_dir: str,
  bos_token_id: int.nonnegative().optional(),
  pad_token_id: int.nonnegative().optional(),
  fp16_type: z.enum(["bfloat16", "float16", "cbfloat16"]).optional(),
  image_data_size: z.tuple([int.positive(), int.positive(), int.positive()]),
  mixed_precision: bool.optional(),
  transforms: z.array(transform),
  shuffle: bool.optional(),
  shuffle_seed: int.nonnegative().optional(),
  batch_size: int.positive(),
  micro_batch_size: z.union([int.positive(), z.enum(["auto", "explore"])]).optional(),
  drop_last: bool.optional(),
  num_workers: int.nonnegative().optional(),
  prefetch_factor: int.positive().optional(),
  persistent_workers: bool.optional(),
  max_sequence_length: z.never().optional(),
});

export const ViTModel = z
  .strictObject({
    name: z.literal("ViTModel"),
    position_embedding_type: z.enum(["fixed", "learned"]).nullable().optional(),
    embedding_dropout_rate: num.min(0).max(1).optional(),
    hidden_size: int.positive(),
    use_post_embed_layer_norm: bool.optional(),
    use_embed_proj_bias: bool.optional(),
    num_hidden_layers: int.positive(),
    layer_norm_epsilon: num.positive().optional(),
    num_heads: int.positive(),
    attention_module: str.optional(),
    attention_type: z.enum(["scaled_dot_product", "dot_product"]).optional(),
    attention_softmax_fp32: bool.optional(),
    dropout_rate: num.min(0).max(1).optional(),
    nonlinearity: str.optional(),
    pooler_nonlinearity: str.nullable().optional(),
    attention_dropout_rate: num.min(0).max(1).optional(),
    use_projection_bias_in_attention: bool.optional(),
    use_ffn_bias_in_attention: bool.optional(),
    filter_size: int.positive(),
    use_ffn_bias: bool.optional(),
    use_final_layer_norm: bool.optional(),
    initializer_range: num.positive().optional(),
    norm_first: bool.optional(),
    image_size: z.tuple([int.positive(), int.positive()]),
    num_channels: int.positive().optional(),
    patch_size: z.tuple([int.positive(), int.positive()]),
    use_conv_patchified_embedding: bool.optional(),
    use_encoder_pooler_layer: bool.optional(),
    prepend_cls_token: bool.optional(),
  })
  .superRefine((v, ctx) => {
    if (v.image_size[0] % v.patch_size[0] !== 0 || v.image_size[1] % v.patch_size[1] !== 0)
      ctx.addIssue({ code: "custom", message: "image_size must be divisible by patch_size", path: ["patch_size"] });
  });

/** GPT2LMHeadModel's keyword arguments for a LLaMA text model in 2.2.1 (and 2.3.0). */
export const LLAMA_FIELDS = {
  name: z.literal("LlamaModel"),
  vocab_size: int.positive(),
  hidden_size: int.positive(),
  position_embedding_type: z.enum(["rotary", "learned", "fixed", "alibi", "relative"]).optional(),
  position_embedding_offset: int.optional(),
  rotary_dim: int.positive().optional(),
  rope_theta: num.positive().optional(),
  share_embedding_weights: bool.optional(),
  max_position_embeddings: int.positive(),
  embd_pdrop: num.min(0).max(1).optional(),
  num_hidden_layers: int.positive(),
  dropout_rate: num.min(0).max(1).optional(),
  layer_norm_epsilon: num.positive().optional(),
  norm_type: z.enum(["rmsnorm", "layernorm"]).optional(),
  num_heads: int.positive(),
  attention_module: z.enum(["aiayn_attention", "multiquery_attention"]).optional(),
  // MultiQueryAttention's own argument: grouped-query attention with num_kv_groups key/value heads.
  extra_attention_params: z.strictObject({ num_kv_groups: int.positive() }).optional(),
  // Mistral's sliding window (the attention mask's window, in positions).
  attention_sliding_window_length: int.positive().optional(),
  attention_type: z.enum(["scaled_dot_product", "dot_product"]).optional(),
  attention_dropout_rate: num.min(0).max(1).optional(),
  attention_softmax_fp32: bool.optional(),
  use_projection_bias_in_attention: bool.optional(),
  use_ffn_bias_in_attention: bool.optional(),
  filter_size: int.positive(),
  nonlinearity: str.optional(),
  use_ffn_bias: bool.optional(),
  use_bias_in_output: bool.optional(),
  initializer_range: num.positive().optional(),
  embeddings_scale: num.optional(),
  pos_scaling_factor: num.optional(),
};

type LlamaForChecks = {
  hidden_size: number;
  num_heads: number;
  rotary_dim?: number | undefined;
  attention_module?: string | undefined;
  extra_attention_params?: { num_kv_groups: number } | undefined;
};

/** LlamaModel's cross-field rules (every release). */
export const checkLlama = (v: LlamaForChecks, ctx: z.RefinementCtx): void => {
  const head = v.hidden_size / v.num_heads;
  if (!Number.isInteger(head)) ctx.addIssue({ code: "custom", message: "hidden_size must be divisible by num_heads", path: ["num_heads"] });
  if (v.rotary_dim !== undefined && (v.rotary_dim > head || v.rotary_dim % 2 !== 0))
    ctx.addIssue({ code: "custom", message: "rotary_dim must be even and at most hidden_size / num_heads", path: ["rotary_dim"] });
  const groups = v.extra_attention_params?.num_kv_groups;
  if (groups !== undefined && v.attention_module !== "multiquery_attention")
    ctx.addIssue({
      code: "custom",
      message: "num_kv_groups is read only by attention_module: multiquery_attention",
      path: ["attention_module"],
    });
  if (groups !== undefined && v.num_heads % groups !== 0)
    ctx.addIssue({
      code: "custom",
      message: "num_heads has to be a multiple of num_kv_groups",
      path: ["extra_attention_params", "num_kv_groups"],
    });
};

export const LlamaModel = z.strictObject(LLAMA_FIELDS).superRefine(checkLlama);

export const FeedForwardNetwork = z
  .strictObject({
    name: z.enum(["FeedForwardNetwork", "MLP"]),
    input_unit: int.positive(),
    layers_units: z.array(int.positive()).min(1),
    layers_activation: z.array(str.nullable()).optional(),
    layers_dropout_rates: z.array(num.nullable()).optional(),
    use_bias: bool.optional(),
  })
  .superRefine((v, ctx) => {
    if (v.layers_activation && v.layers_activation.length !== v.layers_units.length)
      ctx.addIssue({ code: "custom", message: "layers_activation needs one entry per layer", path: ["layers_activation"] });
  });

export const LlavaModelFields = z.strictObject({
  freeze: z.array(str),
  image_feature_select_layer_idx: int,
  image_start_idx: int.nonnegative(),
  image_feature_select_mode: z.enum(["patch", "cls_patch"]),
  loss_scaling: z.enum(["num_tokens", "batch_size"]),
  loss_weight: num,
  image_model: ViTModel,
  text_model: LlamaModel,
  projector: z.strictObject({ image_model: FeedForwardNetwork.optional(), text_model: FeedForwardNetwork.optional() }),
  mixed_precision: bool.optional(),
  fp16_type: z.enum(["bfloat16", "float16", "cbfloat16"]).optional(),
  boundary_casting: bool.optional(),
  lora_params: z.unknown().optional(),
});

/** The cross-field rules of LlavaModelConfig (every release). */
type ModelForChecks = Pick<z.infer<typeof LlavaModelFields>, "loss_scaling" | "loss_weight" | "projector" | "image_model" | "text_model">;

export const checkLlavaModel = (m: ModelForChecks, ctx: z.RefinementCtx): void => {
  if (m.loss_scaling === "num_tokens" && m.loss_weight !== 1)
    ctx.addIssue({ code: "custom", message: "loss_weight must be 1.0 with num_tokens scaling", path: ["loss_weight"] });
  const proj = m.projector.image_model;
  if (m.image_model.hidden_size !== m.text_model.hidden_size && !proj)
    ctx.addIssue({ code: "custom", message: "a projector is required when the hidden sizes differ", path: ["projector"] });
  if (proj && proj.input_unit !== m.image_model.hidden_size)
    ctx.addIssue({
      code: "custom",
      message: "projector input_unit must equal image_model.hidden_size",
      path: ["projector", "image_model", "input_unit"],
    });
  if (proj && proj.layers_units[proj.layers_units.length - 1] !== m.text_model.hidden_size)
    ctx.addIssue({
      code: "custom",
      message: "the projector's last layer must output text_model.hidden_size",
      path: ["projector", "image_model", "layers_units"],
    });
};

export const LlavaModelConfig = LlavaModelFields.superRefine(checkLlavaModel);

const scheduler = z.strictObject({
  scheduler: z.string(),
  initial_learning_rate: num.min(0),
  end_learning_rate: num.min(0),
  total_iters: int.nonnegative(),
});

export const OptimizerConfig = z.strictObject({
  optimizer_type: z.literal("AdamW"),
  weight_decay: num.min(0).optional(),
  log_summaries: bool.optional(),
  loss_scaling_factor: z.union([num.min(0), z.literal("dynamic")]).optional(),
  learning_rate: z.union([num.positive(), z.array(scheduler).min(1)]),
  max_gradient_norm: num.positive().optional(),
  adjust_learning_rate: z.record(str, z.unknown()).optional(),
  betas: z.tuple([num.min(0).lt(1), num.min(0).lt(1)]),
  eps: num.positive(),
  correct_bias: bool.optional(),
});

export const RunConfig = z.strictObject({
  steps_per_epoch: int.positive().optional(),
  max_steps: int.positive().optional(),
  mgmt_address: str.regex(/^[^:]+:\d+$/).optional(),
  mount_dirs: z.array(str).optional(),
  num_epochs: int.positive().optional(),
  python_paths: z.array(str).optional(),
  compile_dir: str.optional(),
  checkpoint_path: str.optional(),
  credentials_path: str.optional(),
  debug_args_path: str.optional(),
  retrace_every_iteration: bool.optional(),
  eval_steps: int.nonnegative().optional(),
  init_method: str.optional(),
  job_time_sec: int.positive().optional(),
  job_labels: z.array(str).optional(),
  job_priority: z.enum(["p1", "p2", "p3"]).optional(),
  seed: int.optional(),
  mgmt_namespace: str.optional(),
  load_checkpoint_states: str
    .regex(
      /^(model|optimizer|sparsity|dataloader|grad_scaler|lr_scheduler|global_step)(,(model|optimizer|sparsity|dataloader|grad_scaler|lr_scheduler|global_step))*$/,
    )
    .optional(),
  target_device: z.enum(["CPU", "GPU", "CSX"]).optional(),
  mode: z.enum(["train", "eval", "eval_all", "sideband_eval_all", "train_and_eval", "sideband_train_and_eval", "inference"]).optional(),
  wsc_log_level: str.optional(),
  autoload_last_checkpoint: bool.optional(),
  check_loss_values: bool.optional(),
  disable_strict_checkpoint_loading: bool.optional(),
  dist_addr: str.optional(),
  dist_backend: str.optional(),
  checkpoint_steps: int.nonnegative().optional(),
  disable_version_check: bool.optional(),
  drop_data: bool.optional(),
  enable_distributed: bool.optional(),
  model_dir: str.optional(),
  save_initial_checkpoint: bool.optional(),
  precision_opt_level: int.optional(),
  num_workers_per_csx: int.nonnegative().optional(),
  validate_only: bool.optional(),
  logging: str.optional(),
  sync_batchnorm: bool.optional(),
  compile_only: bool.optional(),
  log_steps: int.positive().optional(),
  num_steps: int.positive().optional(),
  transfer_processes: int.positive().optional(),
  num_wgt_servers: int.positive().optional(),
  num_csx: int.positive().optional(),
  num_act_servers: int.positive().optional(),
  eval_frequency: int.positive().optional(),
  execute_crd_memory_gi: int.positive().optional(),
  compile_crd_memory_gi: int.positive().optional(),
  op_profiler_config: str.optional(),
  dump_activations: bool.optional(),
  log_input_summaries: bool.optional(),
  main_process_id: int.optional(),
  max_checkpoints: int.positive().optional(),
  summary_dir: str.optional(),
  lazy_initialization: bool.optional(),
  use_cstorch_optimizer_step: bool.optional(),
  wrk_memory_gi: int.positive().optional(),
  act_memory_gi: int.positive().optional(),
  cmd_memory_gi: int.positive().optional(),
  wgt_memory_gi: int.positive().optional(),
  experimental: z.record(str, z.unknown()).optional(),
  ini: z.record(str, z.unknown()).optional(),
  debug_args: z.record(str, z.unknown()).optional(),
});

/** image_data_size of each input must match the image model's image_size (every release). */
export function checkImageDataSize(
  c: {
    train_input?: { image_data_size: number[] } | undefined;
    eval_input?: { image_data_size: number[] } | undefined;
    model: { image_model: { image_size: number[] } };
  },
  ctx: z.RefinementCtx,
): void {
  for (const section of ["train_input", "eval_input"] as const) {
    const input = c[section];
    if (!input) continue;
    const [, h, w] = input.image_data_size;
    const [ih, iw] = c.model.image_model.image_size;
    if (h !== ih || w !== iw)
      ctx.addIssue({
        code: "custom",
        message: "image_data_size must match model.image_model.image_size",
        path: [section, "image_data_size"],
      });
  }
}

/** The flat LLaVA config (2.2.1 and 2.3.0) around a release's data config. */
export function flatLlavaConfig<D extends z.ZodType<{ image_data_size: number[] }>>(data: D) {
  return z
    .strictObject({
      train_input: data.optional(),
      eval_input: data.optional(),
      model: LlavaModelConfig,
      optimizer: OptimizerConfig,
      runconfig: RunConfig,
      sparsity: z.record(str, z.unknown()).optional(),
    })
    .superRefine(checkImageDataSize);
}

export const LlavaConfig = flatLlavaConfig(DataConfig);

const setupSchema = z.strictObject({
  input_dir: str,
  output_dir: str,
  processes: int.positive(),
  dataset_processor: z.enum(["LlavaPhaseOnePreprocessor", "LlavaPhaseTwoPreprocessor"]),
});

const processingSchema = z.strictObject({
  tokenizer_type: z.literal("HuggingFaceTokenizer"),
  huggingface_tokenizer: str,
  max_seq_length: int.positive(),
  short_seq_prob: num.min(0).max(1),
  output_name: str,
  files_per_record: int.positive(),
  write_in_batch: bool,
  write_remainder: bool,
  resume_from_checkpoint: bool,
  display_pbar: bool,
  seed: int,
  eos_id: int.optional(),
  pad_id: int.optional(),
});

const datasetBase = {
  use_ftfy: bool,
  ftfy_normalizer: z.enum(["NFC", "NFKC", "NFD", "NFKD"]),
  wikitext_detokenize: bool,
  multi_turn_key: z.literal("conversations"),
  multi_turn_content_key: z.literal("value"),
  image_key: z.literal("image"),
  image_token: z.literal("<image>"),
  num_patches: int.positive(),
  image_dir: str,
};

/** The system-prompt registry of create_hdf5_dataset.py's LlavaPhaseTwo preprocessor (2.2.1 and 2.3.0). */
export const SYSTEM_PROMPT_STYLES = [
  "vicuna_v1",
  "vicuna_v0",
  "llava_v0",
  "llava_v1",
  "llava_plain",
  "zephyr",
  "mistral_instruct",
] as const;

export const PhaseOnePreprocess = z.strictObject({
  setup: setupSchema.extend({ dataset_processor: z.literal("LlavaPhaseOnePreprocessor") }),
  processing: processingSchema,
  dataset: z.strictObject(datasetBase),
});

export const PhaseTwoPreprocess = z.strictObject({
  setup: setupSchema.extend({ dataset_processor: z.literal("LlavaPhaseTwoPreprocessor") }),
  processing: processingSchema,
  dataset: z.strictObject({
    ...datasetBase,
    multi_modal_non_image_ex_key: z.literal("model"),
    system_prompt_style: z.enum(SYSTEM_PROMPT_STYLES),
    prompt_prefix: str,
    completion_prefix: str,
  }),
});
