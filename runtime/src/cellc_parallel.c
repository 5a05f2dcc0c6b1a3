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
 * them between calls: polling for the next job for a fraction of a millisecond, then asleep. Which thread runs an iteration never changes its result, so
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
#include <time.h>

#define HIDDEN __attribute__((visibility("hidden")))

/* How long a helper keeps polling for the next job before it sleeps: the parallel loops of one
 * call (a training step has dozens) follow each other within microseconds, and waking a
 * sleeping thread costs tens of them. */
#define SPIN_NANOSECONDS 200000

typedef void (*cellc_task_fn)(void *ctx, int64_t task);

static struct {
  pthread_mutex_t lock; /* guards the sleep of helpers, with wake */
  pthread_cond_t wake;
  int threads;                  /* including the caller; 0 until the first call */
  atomic_uint_fast64_t posted;  /* the number of the last job posted */
  atomic_uint_fast64_t open;    /* the job helpers may join, 0 when closed */
  atomic_int joined;            /* helpers inside the open job */
  atomic_int sleepers;          /* helpers asleep on wake */
  atomic_int busy;              /* a caller is running a job (others run theirs serially) */
  atomic_int_fast64_t next;     /* the next iteration to claim */
  cellc_task_fn task;
  void *ctx;
  int64_t n;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static _Thread_local int in_task;

static void pause_briefly(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  sched_yield();
#endif
}

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void run_tasks(cellc_task_fn task, void *ctx, int64_t n) {
  in_task = 1;
  for (int64_t i; (i = atomic_fetch_add(&pool.next, 1)) < n;) task(ctx, i);
  in_task = 0;
}

/* Waits until a job after `seen` is posted: polls for SPIN_NANOSECONDS, then sleeps. */
static uint64_t wait_for_job(uint64_t seen) {
  int64_t deadline = now_ns() + SPIN_NANOSECONDS;
  for (int polls = 0;; polls++) {
    uint64_t posted = atomic_load(&pool.posted);
    if (posted != seen) return posted;
    if ((polls & 63) == 63 && now_ns() > deadline) break;
    pause_briefly();
  }
  pthread_mutex_lock(&pool.lock);
  atomic_fetch_add(&pool.sleepers, 1);
  uint64_t posted;
  while ((posted = atomic_load(&pool.posted)) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
  atomic_fetch_sub(&pool.sleepers, 1);
  pthread_mutex_unlock(&pool.lock);
  return posted;
}

static void *helper(void *unused) {
  (void)unused;
  uint64_t seen = 0;
  for (;;) {
    seen = wait_for_job(seen);
    /* Join only while the job is open: the caller closes it, then waits for those inside. */
    atomic_fetch_add(&pool.joined, 1);
    if (atomic_load(&pool.open) == seen) run_tasks(pool.task, pool.ctx, pool.n);
    atomic_fetch_sub(&pool.joined, 1);
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
  pool.threads = 0;
  atomic_store(&pool.open, 0);
  atomic_store(&pool.joined, 0);
  atomic_store(&pool.sleepers, 0);
  atomic_store(&pool.busy, 0);
}

/* With pool.busy held: the thread count, starting the helpers on first use. */
static int start_pool(void) {
  if (pool.threads == 0) {
    static int registered;
    if (!registered) {
      pthread_atfork(NULL, NULL, forget_pool_after_fork);
      registered = 1;
    }
    int threads = configured_threads();
    for (int i = 1; i < threads; i++) {
      pthread_t thread;
      pthread_attr_t attr;
      pthread_attr_init(&attr);
      pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
      int failed = pthread_create(&thread, &attr, helper, NULL);
      pthread_attr_destroy(&attr);
      if (failed) {
        threads = i;
        break;
      }
    }
    pool.threads = threads;
  }
  return pool.threads;
}

static void run_serially(int64_t n, cellc_task_fn task, void *ctx) {
  for (int64_t i = 0; i < n; i++) task(ctx, i);
}

HIDDEN void cellc_parallel_for(int64_t n, cellc_task_fn task, void *ctx) {
  int expected = 0;
  if (n <= 1 || in_task || !atomic_compare_exchange_strong(&pool.busy, &expected, 1)) {
    run_serially(n, task, ctx);
    return;
  }
  if (start_pool() <= 1) {
    run_serially(n, task, ctx);
    atomic_store(&pool.busy, 0);
    return;
  }
  pool.task = task;
  pool.ctx = ctx;
  pool.n = n;
  atomic_store(&pool.next, 0);
  uint64_t job = atomic_load(&pool.posted) + 1;
  atomic_store(&pool.open, job);
  atomic_store(&pool.posted, job);
  if (atomic_load(&pool.sleepers) > 0) {
    pthread_mutex_lock(&pool.lock);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
  }

  run_tasks(task, ctx, n);

  /* Every iteration has been claimed: close the job, then wait for the helpers still
   * running theirs (a helper that joins after the close leaves without touching it). */
  atomic_store(&pool.open, 0);
  while (atomic_load(&pool.joined) > 0) pause_briefly();
  atomic_store(&pool.busy, 0);
}
