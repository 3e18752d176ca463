// llavac/runtime: what generated training programs import.
export { main, summary } from "./main.js";
export { runPhase, TrainingError, toBatch, type RunOptions, type RunReport } from "./train/run.js";
export type { PhaseRunConfig } from "./train/config.js";
export type { LlavaModelConfig, VisionRuntime, TextRuntime } from "./model/config.js";
export type { LlavaArch, VisionArch, TextArch, ProjectorArch, ParamSpec } from "./model/arch.js";
export { llavaParameters, applyFreeze } from "./model/arch.js";
export { LlavaModel, type Batch } from "./model/llava.js";
export { ParamStore } from "./model/params.js";
export { selectBackend, BACKENDS, BackendError, type BackendName } from "./backend/index.js";
export { probeBackends, type BackendRow } from "./backend/probe.js";
export { loadWeights, type WeightReport } from "./weights/load.js";
export { openSafetensors, writeSafetensors } from "./weights/safetensors.js";
export { hfToCerebras, cerebrasToHf } from "./weights/names.js";
export { learningRateAt, type LearningRate } from "./train/schedule.js";
export type { ImageTransform } from "./data/images.js";
export { AdamW, globalNorm, clipFactor, type AdamWOptions } from "./train/optimizer.js";
export { trainStep, type StepOptions, type StepResult } from "./train/step.js";
export { choiceAccuracy, type ChoiceItem, type ChoiceResult } from "./eval/choice.js";
