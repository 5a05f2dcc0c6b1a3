/* Train from C alone with an exported training step (`cellc.export(nn.TrainOneStepCell(...),
 * x, y, file_name="step")`): run the artifact's first entry STEPS times on the same inputs,
 * print what each step returns (the loss), then read every trained parameter back.
 *
 *   cellc_train step.cellc STEPS SEED [INPUT.bin ...]
 *
 * INPUT.bin holds one input's raw row-major bytes (numpy: `array.tofile(path)`), one file per
 * input in order. SEED seeds the dropout masks, if the model has any. Output lines:
 * "step I: V ..." (the visible outputs' values, flattened), then
 * "parameter NAME DTYPE[SHAPE]: V ..." for each parameter that is not a dropout mask: what a
 * host would save as the trained weights.
 */
#include <cellc.h>
#include <stdio.h>
#include <stdlib.h>

typedef _Float16 half; /* float16 elements: GCC >= 12, Clang on x86-64 and AArch64 */

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

static void print_values(const cellc_tensor_info *info, const void *buffer) {
  for (int64_t i = 0; i < info->numel; i++) printf(" %.9g", element(info, buffer, i));
}

/* Reads exactly info->nbytes bytes from path into a new buffer; NULL with a message if not. */
static void *read_input(const char *path, const cellc_tensor_info *info) {
  FILE *file = fopen(path, "rb");
  void *buffer = malloc(info->nbytes + 1);
  size_t got = file && buffer ? fread(buffer, 1, info->nbytes + 1, file) : 0;
  if (file) fclose(file);
  if (buffer && got == info->nbytes) return buffer;
  fprintf(stderr, "error: input '%s' needs %zu bytes (%s), '%s' has %s%zu\n", info->name,
          info->nbytes, cellc_dtype_name(info->dtype), path, got > info->nbytes ? "more than " : "",
          got);
  free(buffer);
  return NULL;
}

static int train(cellc_model *model, const cellc_entry *step, int steps, char **paths) {
  int n_inputs = cellc_entry_num_inputs(step), n_outputs = cellc_entry_num_visible_outputs(step);
  void **inputs = calloc(n_inputs + 1, sizeof *inputs);
  void **outputs = calloc(n_outputs + 1, sizeof *outputs);
  int status = 0;
  for (int i = 0; i < n_inputs && !status; i++)
    if (!(inputs[i] = read_input(paths[i], cellc_entry_input(step, i)))) status = 1;
  for (int i = 0; i < n_outputs; i++) outputs[i] = malloc(cellc_entry_output(step, i)->nbytes + 1);

  for (int s = 1; s <= steps && !status; s++) {
    cellc_call(step, (const void *const *)inputs, outputs); /* updates the model's parameters */
    printf("step %d:", s);
    for (int i = 0; i < n_outputs; i++) print_values(cellc_entry_output(step, i), outputs[i]);
    printf("\n");
  }

  char err[512];
  for (int p = 0; p < cellc_parameter_count(model) && !status; p++) {
    const cellc_tensor_info *info = cellc_parameter_at(model, p);
    if (cellc_parameter_keep_prob(model, p) > 0) continue; /* a dropout mask, not a weight */
    void *value = malloc(info->nbytes + 1);
    if (cellc_get_parameter(model, info->name, value, info->nbytes, err, sizeof err)) {
      fprintf(stderr, "error: %s\n", err);
      status = 1;
    } else {
      printf("parameter %s %s[", info->name, cellc_dtype_name(info->dtype));
      for (int d = 0; d < info->rank; d++) printf(d ? ",%lld" : "%lld", (long long)info->shape[d]);
      printf("]:");
      print_values(info, value);
      printf("\n");
    }
    free(value);
  }
  for (int i = 0; i < n_inputs; i++) free(inputs[i]);
  for (int i = 0; i < n_outputs; i++) free(outputs[i]);
  free(inputs);
  free(outputs);
  return status;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s STEP.cellc STEPS SEED [INPUT.bin ...]\n", argv[0]);
    return 2;
  }
  char err[1024];
  cellc_model *model = cellc_load(argv[1], err, sizeof err);
  if (!model) {
    fprintf(stderr, "error: %s\n", err);
    return 1;
  }
  const cellc_entry *step = cellc_entry_at(model, 0);
  if (argc - 4 != cellc_entry_num_inputs(step)) {
    fprintf(stderr, "error: '%s' takes %d inputs, got %d files\n", cellc_entry_name(step),
            cellc_entry_num_inputs(step), argc - 4);
    cellc_free(model);
    return 2;
  }
  cellc_set_seed(model, strtoull(argv[3], NULL, 10));
  int status = train(model, step, atoi(argv[2]), argv + 4);
  cellc_free(model);
  return status;
}
