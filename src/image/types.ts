/** An 8-bit sRGB image: `width × height × 3` bytes, interleaved (HWC), rows top to bottom. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** How a classifier wants its input: torchvision's Resize(resize), CenterCrop(crop), ToTensor, Normalize(mean, std). */
export interface Preprocessing {
  /** Length in pixels of the shorter side after resizing. */
  resize: number;
  /** Side in pixels of the square centre crop fed to the model. */
  crop: number;
  /** Per-channel (R, G, B) mean subtracted from values in [0, 1]. */
  mean: [number, number, number];
  /** Per-channel (R, G, B) standard deviation divided by after subtracting the mean. */
  std: [number, number, number];
}

/** The preprocessing torchvision's ImageNet classifiers (SqueezeNet included) were trained with. */
export const IMAGENET_PREPROCESSING: Preprocessing = {
  resize: 256,
  crop: 224,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};
