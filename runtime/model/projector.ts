// The projector from vision features to the language model's width: Cerebras' FeedForwardNetwork
// (projector_image_model.ffn.{i}.linear_layer), e.g. mlp2x_gelu = Linear → GELU → Linear.
import { PROJECTOR_NAMES } from "./arch.js";
import { activate, dense, type ParamSource, type Tensor } from "./layers.js";

export function project(p: ParamSource, activations: readonly (string | null)[], x: Tensor): Tensor {
  activations.forEach((act, i) => {
    x = dense(p, PROJECTOR_NAMES.layer(i), x);
    if (act) x = activate(act, x);
  });
  return x;
}
