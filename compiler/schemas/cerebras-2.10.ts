// Model Zoo 2.10's `trainer:` format for LLaVA: the model section (2.2.1's keys without the precision
// ones, plus `name: llava`), and the trainer's own sections, all strict.
import { z } from "zod";
import { checkImageDataSize, checkLlama, checkLlavaModel, LLAMA_FIELDS, LlavaModelFields } from "./cerebras-2.2.1.js";
import { DataConfig as DataConfig230 } from "./cerebras-2.3.0.js";

const int = z.number().int();
const num = z.number();

// 2.10's GPT2LMHeadModelConfig adds rope scaling types (Llama-3.1's `llama3`, with its extra arguments).
const LlamaModel = z
  .strictObject({
    ...LLAMA_FIELDS,
    pos_scaling_type: z.enum(["linear", "YaRN", "yarn", "llama3", "longrope"]).optional(),
    pos_scaling_extra_args: z
      .strictObject({ low_freq_factor: num.positive(), high_freq_factor: num.positive(), original_max_position_embeddings: int.positive() })
      .optional(),
  })
  .superRefine(checkLlama);

const Model = LlavaModelFields.omit({ mixed_precision: true, fp16_type: true })
  .extend({ name: z.literal("llava"), text_model: LlamaModel })
  .superRefine(checkLlavaModel);
// 2.3.0's trainer layout keeps the precision keys in the model and the loaders, and has no backend block.
const Model230 = LlavaModelFields.superRefine(checkLlavaModel);

const Loader = DataConfig230.omit({ micro_batch_size: true, mixed_precision: true });
const Loader230 = DataConfig230.omit({ micro_batch_size: true });

const lrSegment = z.strictObject({ initial_learning_rate: num.min(0), end_learning_rate: num.min(0), total_iters: int.nonnegative() });
const Scheduler = z.union([
  z.strictObject({
    SequentialLR: z.strictObject({
      schedulers: z.array(z.union([z.strictObject({ LinearLR: lrSegment }), z.strictObject({ CosineDecayLR: lrSegment })])).min(1),
    }),
  }),
  z.strictObject({ LinearLR: lrSegment }),
  z.strictObject({ CosineDecayLR: lrSegment }),
  z.strictObject({ ConstantLR: z.strictObject({ learning_rate: num.positive() }) }),
]);

const microFlags = z.strictObject({ "csx.performance.micro_batch_size": z.union([int.positive(), z.enum(["auto", "explore"])]) });
const Callback = z.union([
  z.strictObject({ ScopedTrainFlags: microFlags }),
  z.strictObject({ ScopedValidateFlags: microFlags }),
  z.strictObject({ ComputeNorm: z.strictObject({}) }),
  z.strictObject({ KeepNCheckpoints: z.strictObject({ n: int.positive() }) }),
  z.strictObject({ LoadCheckpointStates: z.strictObject({ load_checkpoint_states: z.string() }) }),
]);

function trainerConfig<M extends z.ZodType<{ image_model: { image_size: number[] } }>, L extends z.ZodType<{ image_data_size: number[] }>>(
  model: M,
  loader: L,
  backend: boolean,
) {
  return z
    .strictObject({
      trainer: z.strictObject({
        init: z.strictObject({
          ...(backend ? { backend: z.strictObject({ backend_type: z.enum(["CSX", "CPU", "GPU"]) }) } : {}),
          seed: int.optional(),
          model,
          optimizer: z.strictObject({
            AdamW: z.strictObject({
              betas: z.tuple([num.min(0).lt(1), num.min(0).lt(1)]),
              eps: num.positive(),
              weight_decay: num.min(0).optional(),
              correct_bias: z.boolean().optional(),
            }),
          }),
          schedulers: z.array(Scheduler).min(1),
          precision: z.strictObject({
            enabled: z.boolean(),
            fp16_type: z.enum(["bfloat16", "float16", "cbfloat16"]).optional(),
            loss_scaling_factor: z.union([num.min(0), z.literal("dynamic")]).optional(),
            max_gradient_norm: num.positive().optional(),
            log_loss_scale: z.boolean().optional(),
          }),
          loop: z.strictObject({
            max_steps: int.positive(),
            eval_frequency: int.positive().optional(),
            eval_steps: int.nonnegative().optional(),
          }),
          checkpoint: z.strictObject({ steps: int.nonnegative() }),
          logging: z.strictObject({ log_steps: int.positive() }),
          callbacks: z.array(Callback),
        }),
        fit: z.strictObject({ train_dataloader: loader, val_dataloader: loader.optional() }),
        validate: z.strictObject({ val_dataloader: loader }).optional(),
        validate_all: z.strictObject({ val_dataloaders: z.union([loader, z.array(loader)]) }).optional(),
      }),
    })
    .superRefine((c, ctx) => {
      const t = c.trainer as unknown as {
        init: { model: { image_model: { image_size: number[] } } };
        fit: { train_dataloader: { image_data_size: number[] }; val_dataloader?: { image_data_size: number[] } };
      };
      checkImageDataSize({ train_input: t.fit.train_dataloader, eval_input: t.fit.val_dataloader, model: t.init.model }, ctx);
    });
}

export const TrainerConfig = trainerConfig(Model, Loader, true);
export const TrainerConfig230 = trainerConfig(Model230, Loader230, false);

/** 2.10's data-preprocessing config for LLaVA records (data_preparation/data_preprocessing). */
export const DataPreprocess = z.strictObject({
  setup: z.strictObject({
    data: z.strictObject({ source: z.string(), type: z.literal("local") }),
    output_dir: z.string(),
    image_dir: z.string(),
    processes: int.positive(),
    mode: z.literal("finetuning"),
  }),
  processing: z
    .strictObject({
      // Either a Hugging Face tokenizer by name, or the pipeline's custom Llama-3 tokenizer class with its parameters
      // (llava_phase_1_llama3.yaml): the two are alternatives, one of them required.
      huggingface_tokenizer: z.string().optional(),
      custom_tokenizer: z
        .literal(
          "cerebras.modelzoo.data_preparation.data_preprocessing.custom_tokenizer_example.CustomLlama3Tokenizer:CustomLlama3Tokenizer",
        )
        .optional(),
      tokenizer_params: z.strictObject({ pretrained_model_name_or_path: z.string(), token: z.string().optional() }).optional(),
      max_seq_length: int.positive(),
      write_in_batch: z.boolean().optional(),
      write_remainder: z.boolean().optional(),
      resume_from_checkpoint: z.boolean().optional(),
      read_hook: z.enum([
        "cerebras.modelzoo.data_preparation.data_preprocessing.hooks:finetuning_llava_hook",
        "cerebras.modelzoo.data_preparation.data_preprocessing.hooks:finetuning_llava_hook_prompt_completion",
      ]),
      read_hook_kwargs: z.strictObject({
        multi_turn_key: z.string(),
        image_key: z.string(),
        image_token: z.string(),
        multi_turn_content_key: z.string(),
        system_prompt_style: z.string().optional(),
        phase: z.union([z.literal(1), z.literal(2)]),
      }),
      shuffle_seed: int.optional(),
      shuffle: z.boolean().optional(),
      use_ftfy: z.boolean().optional(),
      ftfy_normalizer: z.string().optional(),
      wikitext_detokenize: z.boolean().optional(),
      UNSAFE_skip_jsonl_decoding_errors: z.boolean().optional(),
    })
    .refine((p) => (p.huggingface_tokenizer === undefined) !== (p.custom_tokenizer === undefined), {
      message: "exactly one of huggingface_tokenizer and custom_tokenizer",
    })
    .refine((p) => (p.custom_tokenizer === undefined) === (p.tokenizer_params === undefined), {
      message: "custom_tokenizer takes tokenizer_params, and only it",
    }),
  dataset: z.strictObject({
    num_patches: int.positive(),
    is_multimodal: z.literal(true),
    max_num_img: int.positive(),
    sep_token: z.string().optional(),
  }),
});
