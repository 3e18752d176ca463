// The one import of tfjs the runtime uses. `@tensorflow/tfjs` (not tfjs-core alone) because it
// registers the gradients and chained ops, and because tfjs-node loads through it: every backend then
// shares one engine.
export * from "@tensorflow/tfjs";
