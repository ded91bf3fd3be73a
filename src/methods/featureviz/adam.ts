/** Adam (Kingma & Ba 2015) over a flat parameter vector, with TensorFlow's defaults β₁ 0.9, β₂ 0.999, ε 1e-8. */
export class Adam {
  private readonly m: Float32Array;
  private readonly v: Float32Array;
  private t = 0;

  /** `size` parameters, moved by about `learningRate` per step. */
  constructor(
    size: number,
    private readonly learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-8,
  ) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /** Moves `params` in place along `grad`: uphill when `ascend`, else downhill. */
  step(params: Float32Array, grad: Float32Array, ascend: boolean): void {
    this.t++;
    const { m, v, beta1, beta2, epsilon } = this;
    const lr = ((ascend ? 1 : -1) * this.learningRate) / (1 - beta1 ** this.t);
    const c2 = 1 - beta2 ** this.t;
    for (let i = 0; i < params.length; i++) {
      const g = grad[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      params[i] += (lr * m[i]) / (Math.sqrt(v[i] / c2) + epsilon);
    }
  }
}
