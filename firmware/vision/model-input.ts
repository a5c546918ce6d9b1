import type * as tf from '@tensorflow/tfjs';

/**
 * The side of a model's square NHWC input, from its signature. Some converted graphs leave it dynamic
 * (-1 or absent), so the caller names the size the model was trained at.
 */
export function squareInputSide(model: tf.GraphModel, trainedAt: number): number {
  const side = model.inputs[0]?.shape?.[1];
  return side !== undefined && side > 0 ? side : trainedAt;
}
