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
 * (cellc_signature_NAME) before anything can be called. Link with the imported CMake target
 * `cellc::runtime`.
 *
 * Training steps and dropout, as the Python runtime runs them. An entry may update parameters
 * (an exported nn.TrainOneStepCell, ops.assign, BatchNorm's moving statistics): the code returns
 * each new value as a hidden output after the visible ones; the host passes buffers for the
 * visible outputs only, and cellc_call writes the hidden ones into the model's own parameters,
 * so the next call reads them:
 *
 *   const cellc_entry *step = cellc_entry_find(model, "TrainOneStepCell");
 *   float loss;                          // the one visible output
 *   void *outputs[] = {&loss};
 *   for (int i = 0; i < 30; i++) cellc_call(step, inputs, outputs);
 *   cellc_get_parameter(model, "w", w, sizeof w, err, sizeof err);   // the trained weight
 *
 * A weight that is a dropout mask (cellc_parameter_keep_prob > 0) gets a fresh mask before
 * every call: each element 1/keep with probability keep, else 0, drawn from the model's own
 * xoshiro256** generator (seeded from the system's entropy at load; cellc_set_seed makes the
 * masks reproducible). It is not numpy's generator: the Python runtime draws other masks for
 * the same seed. The mask's stored value is never read.
 *
 * Threads. cellc_call is thread-safe. A call of an entry that updates parameters or draws
 * masks holds the model's lock, so such calls (a training step on two threads) run one at a
 * time; cellc_set_parameter, cellc_get_parameter and cellc_set_seed take the same lock. A call
 * of an entry that only reads parameters takes no lock: it must not run while another thread
 * changes a parameter it reads (a training step, cellc_set_parameter).
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
/* Every output the manifest lists, hidden ones included (the index space of
 * cellc_entry_output and of the structure). */
int cellc_entry_num_outputs(const cellc_entry *entry);
/* The outputs cellc_call returns to the host: outputs 0 .. this - 1. The rest (up to
 * cellc_entry_num_outputs) are hidden: new values of parameters, kept by the loader. */
int cellc_entry_num_visible_outputs(const cellc_entry *entry);
const cellc_tensor_info *cellc_entry_input(const cellc_entry *entry, int index);
const cellc_tensor_info *cellc_entry_output(const cellc_entry *entry, int index);
/* The name of the parameter a hidden output updates; NULL for a visible output. */
const char *cellc_entry_output_update(const cellc_entry *entry, int index);
/* The entry's manifest "structure" as JSON text, e.g. {"tuple": [{"tensor": 0}, ...]}; a
 * constant the model returns beside its tensors is {"constant": 2} or {"dtype": "float32"}. */
const char *cellc_entry_structure_json(const cellc_entry *entry);

/* Run an entry: inputs[i] holds cellc_entry_input(entry, i)->nbytes bytes, row-major;
 * outputs[i], for i < cellc_entry_num_visible_outputs(entry), has room for
 * cellc_entry_output(entry, i)->nbytes (further pointers are not used). Writes the entry's
 * parameter updates into the model and draws its dropout masks (see above). */
void cellc_call(const cellc_entry *entry, const void *const *inputs, void *const *outputs);

/* 1 when the entry was compiled for a dynamic batch dimension: the -1 in its tensors' shapes
 * is the batch, any size >= 1, and their numel and nbytes count one batch item (a tensor
 * with a -1 holds batch times as many). cellc_call runs such an entry at batch 1. */
int cellc_entry_dynamic_batch(const cellc_entry *entry);
/* cellc_call at `batch` (>= 1): each tensor with a -1 holds batch * nbytes bytes. For an
 * entry of static shapes, batch is not used. */
void cellc_call_batch(const cellc_entry *entry, int64_t batch, const void *const *inputs,
                      void *const *outputs);

int cellc_parameter_count(const cellc_model *model);
const cellc_tensor_info *cellc_parameter_at(const cellc_model *model, int index);
/* The keep probability of a parameter that is a dropout mask; 0 for an ordinary weight. */
double cellc_parameter_keep_prob(const cellc_model *model, int index);
/* Copy new values into a parameter; nbytes must match. Returns 0, or -1 with a reason. */
int cellc_set_parameter(cellc_model *model, const char *name, const void *data, size_t nbytes,
                        char *err, size_t errlen);
/* Copy a parameter's current value (after the training steps so far) into data; nbytes must
 * match. Returns 0, or -1 with a reason. */
int cellc_get_parameter(const cellc_model *model, const char *name, void *data, size_t nbytes,
                        char *err, size_t errlen);
/* Restart the generator dropout masks are drawn from: the same seed, the same masks. */
void cellc_set_seed(cellc_model *model, uint64_t seed);

/* The whole manifest as JSON text (for versions, target, gradient flags). */
const char *cellc_manifest_json(const cellc_model *model);

size_t cellc_dtype_size(cellc_dtype dtype);
const char *cellc_dtype_name(cellc_dtype dtype); /* "float32", ... */

#ifdef __cplusplus
}
#endif

#endif /* CELLC_H */
