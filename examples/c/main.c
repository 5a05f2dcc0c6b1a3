/* Load a cellc artifact, run one entry on the seed inputs of the MindSpore GradOperation
 * tutorial and print every output.
 *
 *   cellc_seed model.cellc [ENTRY]     (ENTRY defaults to the artifact's first entry)
 *
 * Inputs are filled from the seed values x (2x3) and y (3x3) by position; an entry whose
 * inputs have other shapes gets ones. An entry compiled for a dynamic batch runs at batch 2
 * (the seed x's rows). Output lines: "output I (MEANING) DTYPE[SHAPE]:" and then the values,
 * row-major, one row per line.
 */
#include <cellc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* float16 elements: the compiler's _Float16 (GCC >= 12, Clang on x86-64 and AArch64). */
typedef _Float16 half;

static const float SEED_X[2 * 3] = {0.8f, 0.6f, 0.2f, 1.8f, 1.3f, 1.1f};
static const float SEED_Y[3 * 3] = {0.11f, 3.3f, 1.1f, 1.1f, 0.2f, 1.4f, 1.1f, 2.2f, 0.3f};

/* How many of the tensor's numel-sized items a call at `batch` holds: batch where its shape
 * has the dynamic batch (-1), else 1. */
static int64_t items(const cellc_tensor_info *info, int64_t batch) {
  for (int d = 0; d < info->rank; d++)
    if (info->shape[d] < 0) return batch;
  return 1;
}

static void fill_input(const cellc_tensor_info *info, int index, void *buffer, int64_t batch) {
  const float *seed = index == 0 ? SEED_X : index == 1 ? SEED_Y : NULL;
  int64_t seed_size = index == 0 ? 6 : index == 1 ? 9 : 0;
  int64_t numel = info->numel * items(info, batch);
  for (int64_t i = 0; i < numel; i++) {
    double value = numel == seed_size ? seed[i] : 1.0;
    switch (info->dtype) {
      case CELLC_FLOAT32: ((float *)buffer)[i] = (float)value; break;
      case CELLC_FLOAT64: ((double *)buffer)[i] = value; break;
      case CELLC_INT32: ((int32_t *)buffer)[i] = (int32_t)value; break;
      case CELLC_INT64: ((int64_t *)buffer)[i] = (int64_t)value; break;
      case CELLC_BOOL: ((unsigned char *)buffer)[i] = value != 0; break;
      case CELLC_F16: ((half *)buffer)[i] = (half)value; break;
    }
  }
}

static double element(const cellc_tensor_info *info, const void *buffer, int64_t i) {
  switch (info->dtype) {
    case CELLC_FLOAT32: return ((const float *)buffer)[i];
    case CELLC_FLOAT64: return ((const double *)buffer)[i];
    case CELLC_INT32: return ((const int32_t *)buffer)[i];
    case CELLC_INT64: return (double)((const int64_t *)buffer)[i];
    case CELLC_BOOL: return ((const unsigned char *)buffer)[i];
    case CELLC_F16: return (double)((const half *)buffer)[i];
  }
  return 0;
}

static void print_output(int index, const cellc_tensor_info *info, const void *buffer,
                         int64_t batch) {
  printf("output %d (%s) %s[", index, info->meaning, cellc_dtype_name(info->dtype));
  for (int d = 0; d < info->rank; d++) {
    long long size = info->shape[d] < 0 ? batch : info->shape[d];
    printf(d ? ",%lld" : "%lld", size);
  }
  printf("]:\n");
  int64_t row = info->rank ? info->shape[info->rank - 1] : 1;
  if (row < 0) row = batch;
  int64_t numel = info->numel * items(info, batch);
  for (int64_t i = 0; i < numel; i++)
    printf(row && (i + 1) % row == 0 ? "%.9g\n" : "%.9g ", element(info, buffer, i));
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.cellc [ENTRY]\n", argv[0]);
    return 2;
  }
  char err[1024];
  cellc_model *model = cellc_load(argv[1], err, sizeof err);
  if (!model) {
    fprintf(stderr, "error: %s\n", err);
    return 1;
  }
  const cellc_entry *entry = argc > 2 ? cellc_entry_find(model, argv[2]) : cellc_entry_at(model, 0);
  if (!entry) {
    fprintf(stderr, "error: '%s' has no entry '%s'; entries:", argv[1], argv[2]);
    for (int i = 0; i < cellc_entry_count(model); i++)
      fprintf(stderr, " %s", cellc_entry_name(cellc_entry_at(model, i)));
    fprintf(stderr, "\n");
    cellc_free(model);
    return 1;
  }
  /* A training step's hidden outputs (new parameter values) stay with the loader. */
  int n_inputs = cellc_entry_num_inputs(entry);
  int n_outputs = cellc_entry_num_visible_outputs(entry);
  int64_t batch = cellc_entry_dynamic_batch(entry) ? 2 : 1;
  void **inputs = calloc(n_inputs + 1, sizeof *inputs);
  void **outputs = calloc(n_outputs + 1, sizeof *outputs);
  for (int i = 0; i < n_inputs; i++) {
    const cellc_tensor_info *info = cellc_entry_input(entry, i);
    size_t nbytes = info->nbytes * items(info, batch);
    inputs[i] = malloc(nbytes ? nbytes : 1);
    fill_input(info, i, inputs[i], batch);
  }
  for (int i = 0; i < n_outputs; i++) {
    const cellc_tensor_info *info = cellc_entry_output(entry, i);
    size_t nbytes = info->nbytes * items(info, batch);
    outputs[i] = malloc(nbytes ? nbytes : 1);
  }

  cellc_call_batch(entry, batch, (const void *const *)inputs, outputs);

  printf("entry %s structure %s\n", cellc_entry_name(entry), cellc_entry_structure_json(entry));
  for (int i = 0; i < n_outputs; i++)
    print_output(i, cellc_entry_output(entry, i), outputs[i], batch);
  for (int i = 0; i < n_inputs; i++) free(inputs[i]);
  for (int i = 0; i < n_outputs; i++) free(outputs[i]);
  free(inputs);
  free(outputs);
  cellc_free(model);
  return 0;
}
