// What the views share: the worker, the labels, and the image the user picked.
import type { RgbImage } from '../../src/image/types.js';
import type { WorkerClient } from './client.js';
import { ClassLabels } from '../../src/model/labels.js';
import type { ClassScore, MethodInfo, ModelInfo } from './protocol.js';

/** The image the model is looking at. */
export interface CurrentImage {
  /** Increases with every image picked, so views can tell results for an older one. */
  serial: number;
  name: string;
  crop: RgbImage;
  top: ClassScore[];
}

export class App {
  image?: CurrentImage;
  labels: ClassLabels;
  model: ModelInfo;
  private readonly listeners: ((image: CurrentImage) => void)[] = [];
  private readonly leaving: (() => void)[] = [];
  private readonly modelListeners: ((model: ModelInfo) => void)[] = [];
  private readonly cleared: (() => void)[] = [];

  constructor(
    readonly client: WorkerClient,
    model: ModelInfo,
  ) {
    this.model = model;
    this.labels = ClassLabels.fromJson(model.labels);
  }

  /** The attribution methods that can explain the current model. */
  get methods(): readonly MethodInfo[] {
    return this.model.methods;
  }

  /** Calls `listener` whenever another model replaces the current one. */
  onModel(listener: (model: ModelInfo) => void): void {
    this.modelListeners.push(listener);
  }

  /** The worker now holds `model`: new labels and methods, and every view starts over with it. */
  setModel(model: ModelInfo): void {
    this.leaveImage();
    this.model = model;
    this.labels = ClassLabels.fromJson(model.labels);
    for (const l of this.modelListeners) l(model);
  }

  /** Calls `listener` with every new image (and the current one, if any). */
  onImage(listener: (image: CurrentImage) => void): void {
    this.listeners.push(listener);
    if (this.image) listener(this.image);
  }

  /** Calls `listener` when the user picks another image, before it is classified (to stop work on the old one). */
  onImageLeaving(listener: () => void): void {
    this.leaving.push(listener);
  }

  leaveImage(): void {
    for (const l of this.leaving) l();
  }

  /** Calls `listener` when there is no image any more (the one picked could not be used): results about the old one go. */
  onImageCleared(listener: () => void): void {
    this.cleared.push(listener);
  }

  clearImage(): void {
    this.image = undefined;
    for (const l of this.cleared) l();
  }

  setImage(image: CurrentImage): void {
    this.image = image;
    for (const l of this.listeners) l(image);
  }

  /** Class `index`'s display name. */
  name(index: number): string {
    return this.labels.name(index);
  }
}
