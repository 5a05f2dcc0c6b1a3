/* cellc_parallel.c -- the thread pool that compiled CPU code runs its parallel loops on.
 *
 * Linked into every artifact whose code calls it (compiler/lowering/parallel_loops.py outlines
 * each parallel loop into a task function; llvm_to_object.py links this file). One entry:
 *
 *   void cellc_parallel_for(int64_t n, void (*task)(void *ctx, int64_t i), void *ctx);
 *
 * runs task(ctx, 0) ... task(ctx, n - 1), each exactly once, on up to CELLC_NUM_THREADS
 * threads (default: the CPUs this process may run on), and returns when all have finished.
 * The calling thread takes tasks too; the pool starts its threads at the first call and keeps
 * them, asleep, between calls. Which thread runs an iteration never changes its result, so
 * results are the same for every thread count; CELLC_NUM_THREADS=1 runs everything on the
 * calling thread, in order.
 *
 * A call from inside a task, or while another thread's call is running, runs its iterations
 * on the calling thread (no nesting, no deadlock). After fork() the child starts with no pool
 * (its threads did not survive) and makes a new one when it needs it. The symbols are hidden:
 * each artifact has its own pool.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#define HIDDEN __attribute__((visibility("hidden")))

typedef void (*cellc_task_fn)(void *ctx, int64_t task);

static struct {
  pthread_mutex_t lock;
  pthread_cond_t wake; /* a job is open, or the pool stops */
  pthread_cond_t idle; /* the last helper left the job */
  int threads;         /* including the caller; 0 until the first call */
  uint64_t generation; /* counts jobs */
  int open;            /* helpers may join the current job */
  int helpers;         /* helpers inside the current job */
  cellc_task_fn task;
  void *ctx;
  int64_t n;
  atomic_int_fast64_t next;
  atomic_int busy; /* a job is running (other callers run theirs serially) */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};

static _Thread_local int in_task;

static void run_tasks(cellc_task_fn task, void *ctx, int64_t n) {
  in_task = 1;
  for (int64_t i; (i = atomic_fetch_add(&pool.next, 1)) < n;) task(ctx, i);
  in_task = 0;
}

static void *helper(void *unused) {
  (void)unused;
  uint64_t seen = 0;
  pthread_mutex_lock(&pool.lock);
  for (;;) {
    while (!(pool.open && pool.generation != seen)) pthread_cond_wait(&pool.wake, &pool.lock);
    seen = pool.generation;
    cellc_task_fn task = pool.task;
    void *ctx = pool.ctx;
    int64_t n = pool.n;
    pool.helpers++;
    pthread_mutex_unlock(&pool.lock);
    run_tasks(task, ctx, n);
    pthread_mutex_lock(&pool.lock);
    if (--pool.helpers == 0) pthread_cond_signal(&pool.idle);
  }
  return NULL;
}

static int configured_threads(void) {
  const char *text = getenv("CELLC_NUM_THREADS");
  if (text && *text) {
    char *end;
    long value = strtol(text, &end, 10);
    if (*end == '\0' && value >= 1) return value > 1024 ? 1024 : (int)value;
  }
  cpu_set_t cpus;
  if (sched_getaffinity(0, sizeof cpus, &cpus) == 0) return CPU_COUNT(&cpus);
  return 1;
}

static void forget_pool_after_fork(void) {
  pthread_mutex_init(&pool.lock, NULL);
  pthread_cond_init(&pool.wake, NULL);
  pthread_cond_init(&pool.idle, NULL);
  pool.threads = 0;
  pool.open = 0;
  pool.helpers = 0;
  atomic_store(&pool.busy, 0);
}

/* Under pool.lock: the thread count, starting the helpers on first use. */
static int start_pool(void) {
  if (pool.threads == 0) {
    static int registered;
    if (!registered) {
      pthread_atfork(NULL, NULL, forget_pool_after_fork);
      registered = 1;
    }
    pool.threads = configured_threads();
    for (int i = 1; i < pool.threads; i++) {
      pthread_t thread;
      pthread_attr_t attr;
      pthread_attr_init(&attr);
      pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
      if (pthread_create(&thread, &attr, helper, NULL) != 0) pool.threads = i;
      pthread_attr_destroy(&attr);
    }
  }
  return pool.threads;
}

HIDDEN void cellc_parallel_for(int64_t n, cellc_task_fn task, void *ctx) {
  int expected = 0;
  if (n <= 1 || in_task || !atomic_compare_exchange_strong(&pool.busy, &expected, 1)) {
    for (int64_t i = 0; i < n; i++) task(ctx, i);
    return;
  }
  pthread_mutex_lock(&pool.lock);
  if (start_pool() <= 1) {
    pthread_mutex_unlock(&pool.lock);
    for (int64_t i = 0; i < n; i++) task(ctx, i);
    atomic_store(&pool.busy, 0);
    return;
  }
  pool.task = task;
  pool.ctx = ctx;
  pool.n = n;
  atomic_store(&pool.next, 0);
  pool.generation++;
  pool.open = 1;
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.lock);

  run_tasks(task, ctx, n);

  /* Every iteration has been claimed; wait for the helpers still running theirs, then close
   * the job so that a helper waking late does not join it. */
  pthread_mutex_lock(&pool.lock);
  while (pool.helpers > 0) pthread_cond_wait(&pool.idle, &pool.lock);
  pool.open = 0;
  pthread_mutex_unlock(&pool.lock);
  atomic_store(&pool.busy, 0);
}
