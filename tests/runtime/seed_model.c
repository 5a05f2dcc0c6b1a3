/* A hand-written stand-in for compiled code, in the cellc CPU ABI: for each entry
 * `void NAME(in..., weights..., out...)`, bare row-major float pointers, caller-allocated outputs.
 * The model is the MindSpore GradOperation seed: Net(x, y) = (x * z) @ y with x: [2,3],
 * y: [3,3] and the Parameter z: [1]; every gradient uses ones as the sensitivity unless the
 * entry takes it as its last input (sens_param). */

void Net(const float *x, const float *y, const float *z, float *out) {
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++) {
      float sum = 0;
      for (int k = 0; k < 3; k++) sum += x[i * 3 + k] * z[0] * y[k * 3 + j];
      out[i * 3 + j] = sum;
    }
}

/* dx = sens @ y.T * z */
static void grad_x(const float *sens, const float *y, const float *z, float *dx) {
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++) {
      float sum = 0;
      for (int k = 0; k < 3; k++) sum += sens[i * 3 + k] * y[j * 3 + k];
      dx[i * 3 + j] = sum * z[0];
    }
}

static const float ONES[6] = {1, 1, 1, 1, 1, 1};

/* GradOperation(): the gradient with respect to the first input, a bare tensor. */
void GradNetWrtX(const float *x, const float *y, const float *z, float *dx) {
  (void)x;
  grad_x(ONES, y, z, dx);
}

/* GradOperation(sens_param=True): the sensitivity is the last input. */
void GradNetWrtXSens(const float *x, const float *y, const float *sens, const float *z,
                     float *dx) {
  (void)x;
  grad_x(sens, y, z, dx);
}

/* dy = (x * z).T @ ones(2, 3) */
static void grad_y(const float *x, const float *z, float *dy) {
  for (int k = 0; k < 3; k++)
    for (int j = 0; j < 3; j++) dy[k * 3 + j] = (x[k] + x[3 + k]) * z[0];
}

/* GradOperation(get_all=True): (dx, dy). */
void GradNetWrtXY(const float *x, const float *y, const float *z, float *dx, float *dy) {
  grad_x(ONES, y, z, dx);
  grad_y(x, z, dy);
}

/* GradOperation(get_all=True, get_by_list=True): ((dx, dy), (dz,)). dz = sum(x @ y). */
void GradNetAll(const float *x, const float *y, const float *z, float *dx, float *dy,
                float *dz) {
  grad_x(ONES, y, z, dx);
  grad_y(x, z, dy);
  float sum = 0;
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 3; k++) sum += x[i * 3 + k] * y[k * 3 + j];
  dz[0] = sum;
}

/* The signatures the cellc compiler embeds in its code (runtime/artifact.py): each pointer
 * argument's dtype and shape, inputs and weights, then outputs. */
const char cellc_signature_Net[] = "float32[2,3] float32[3,3] float32[1] -> float32[2,3]";
const char cellc_signature_GradNetWrtX[] =
    "float32[2,3] float32[3,3] float32[1] -> float32[2,3]";
const char cellc_signature_GradNetWrtXSens[] =
    "float32[2,3] float32[3,3] float32[2,3] float32[1] -> float32[2,3]";
const char cellc_signature_GradNetWrtXY[] =
    "float32[2,3] float32[3,3] float32[1] -> float32[2,3] float32[3,3]";
const char cellc_signature_GradNetAll[] =
    "float32[2,3] float32[3,3] float32[1] -> float32[2,3] float32[3,3] float32[1]";
