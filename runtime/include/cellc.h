/* cellc.h -- call a compiled cellc artifact (`model.cellc`) from C or C++.
 *
 *   char err[512];
 *   cellc_model *model = cellc_load("model.cellc", err, sizeof err);
 *   if (!model) { fprintf(stderr, "%s\n", err); return 1; }
 *   const cellc_entry *grad = cellc_entry_find(model, "GradNetWrtX");
 *   const void *inputs[] = {x, y};        // row-major buffers, see cellc_entry_input()
 *   void *outputs[] = {dx};               // allocated by the caller, see cellc_entry_output()
 *   cellc_call(grad, inputs, outputs);    // weights are the model's stored parameters
 *   cellc_free(model);
 *
 * cellc_load checks what the Python runtime checks (magic, checksum, format_version, target
 * kind, CPU features), dlopens the checked bytes of the code from memory (a sealed memfd; where
 * that is unavailable, a file it creates in a new private 0700 directory under $TMPDIR and
 * removes), and checks every entry of the manifest against the signature the code carries
 * (cellc_signature_NAME) before anything can be called. cellc_call is thread-safe;
 * cellc_set_parameter must not run concurrently with calls of the same model. Link with the
 * imported CMake target `cellc::runtime`.
 */
#ifndef CELLC_H
#define CELLC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CELLC_FORMAT_VERSION 1

typedef enum cellc_dtype {
  CELLC_FLOAT32 = 0,
  CELLC_FLOAT64 = 1,
  CELLC_INT32 = 2,
  CELLC_INT64 = 3,
  CELLC_BOOL = 4,
  CELLC_F16 = 5,
} cellc_dtype;

/* One input, output or parameter. Pointers stay valid until cellc_free. */
typedef struct cellc_tensor_info {
  const char *name;      /* input / parameter name; "" for outputs */
  cellc_dtype dtype;
  int rank;
  const int64_t *shape;  /* rank entries */
  int64_t numel;         /* product of shape */
  size_t nbytes;         /* numel * cellc_dtype_size(dtype) */
  const char *meaning;   /* outputs: "d/d input 0 (x)", "d/d Parameter z", "output 0" */
} cellc_tensor_info;

typedef struct cellc_model cellc_model;
typedef struct cellc_entry cellc_entry;

/* Load an artifact. On failure returns NULL and writes the reason into err (if non-NULL). */
cellc_model *cellc_load(const char *path, char *err, size_t errlen);
void cellc_free(cellc_model *model);

int cellc_entry_count(const cellc_model *model);
const cellc_entry *cellc_entry_at(const cellc_model *model, int index);
/* NULL if the model has no entry of that name. */
const cellc_entry *cellc_entry_find(const cellc_model *model, const char *name);

const char *cellc_entry_name(const cellc_entry *entry);
int cellc_entry_num_inputs(const cellc_entry *entry);
int cellc_entry_num_outputs(const cellc_entry *entry);
const cellc_tensor_info *cellc_entry_input(const cellc_entry *entry, int index);
const cellc_tensor_info *cellc_entry_output(const cellc_entry *entry, int index);
/* The entry's manifest "structure" as JSON text, e.g. {"tuple": [{"tensor": 0}, ...]}. */
const char *cellc_entry_structure_json(const cellc_entry *entry);

/* Run an entry: inputs[i] holds cellc_entry_input(entry, i)->nbytes bytes, row-major;
 * outputs[i] has room for cellc_entry_output(entry, i)->nbytes. */
void cellc_call(const cellc_entry *entry, const void *const *inputs, void *const *outputs);

int cellc_parameter_count(const cellc_model *model);
const cellc_tensor_info *cellc_parameter_at(const cellc_model *model, int index);
/* Copy new values into a parameter; nbytes must match. Returns 0, or -1 with a reason. */
int cellc_set_parameter(cellc_model *model, const char *name, const void *data, size_t nbytes,
                        char *err, size_t errlen);

/* The whole manifest as JSON text (for versions, target, gradient flags). */
const char *cellc_manifest_json(const cellc_model *model);

size_t cellc_dtype_size(cellc_dtype dtype);
const char *cellc_dtype_name(cellc_dtype dtype); /* "float32", ... */

#ifdef __cplusplus
}
#endif

#endif /* CELLC_H */
