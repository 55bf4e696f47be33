/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The posix port (see include/ampvq/posix.h). Each core's "interrupt" is a
 * thread that sleeps on a futex on the core's pending-bits word in shared
 * memory. The futexes are process-shared (not FUTEX_PRIVATE) because in
 * processes mode waker and sleeper are different processes; the kernel keys
 * them by the memory's inode and offset, so two mappings of one memfd at
 * different addresses, in one process or two, still meet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ampvq/config.h"
#include "ampvq/port.h"
#include "ampvq/posix.h"
#include "ampvq/shm_layout.h"

#if AMPVQ_POSIX_NONCOHERENT && AMPVQ_CACHE_COHERENT
#error "AMPVQ_POSIX_NONCOHERENT needs AMPVQ_CACHE_COHERENT=0"
#endif

typedef struct {
    void *base;
    uint32_t size;
} view_t;

typedef struct {
    pthread_mutex_t lock; /* the core's "interrupts masked"; recursive */
    pthread_t thread;
    bool running;
    _Atomic(uint32_t *) pending;
    atomic_bool stop;
    atomic_uint_fast64_t dispatches;
} irq_t;

static view_t views[2];
static irq_t irqs[2];
static _Thread_local int tls_core = -1;
static atomic_int default_core = AMPVQ_CORE_MAIN;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;

/* Sub core: a thread (threads mode) or a child process (processes mode). */
static int (*sub_entry)(void *);
static void *sub_arg;
static char sub_exe[PATH_MAX];
static pthread_t sub_thread;
static bool sub_thread_started;
static atomic_bool sub_thread_done;
static int sub_thread_rc;
static pid_t sub_pid = -1;

/* What ampvq_posix_threads_setup() created, for teardown; and the last
 * memfd, which processes mode hands to the sub core. */
static int setup_fd = -1;
static int last_shm_fd = -1;

/* Test hooks (posix.h): doorbell drops. `fault_armed` is the only thing the
 * doorbell looks at when no fault is set, so the normal path costs one
 * well-predicted branch on a read-mostly flag. Counters are per ringing core
 * (index = core id) so that the processes form can report each side's. */
static atomic_bool fault_armed;
static atomic_uint fault_drop_pct;
static atomic_uint_fast64_t fault_seed;
static atomic_uint_fast64_t fault_ring_seq;    /* rings so far, all cores: the PRNG's input */
static atomic_uint_fast64_t fault_rings[2];    /* rings made, per ringing core */
static atomic_uint_fast64_t fault_dropped[2];  /* ... of which dropped */
static atomic_uint_fast64_t fault_rechecks[2]; /* per receiving core: dispatches
                                                * that a time-out, not a ring, started */

static void init_once(void)
{
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    for (int i = 0; i < 2; i++) {
        pthread_mutex_init(&irqs[i].lock, &a);
    }
    pthread_mutexattr_destroy(&a);
}

/* @return true when the wait ended by time-out (not a wake or a changed word) */
static bool futex_wait(uint32_t *word, uint32_t expected, long timeout_ns)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = timeout_ns};
    return syscall(SYS_futex, word, FUTEX_WAIT, expected, &ts, NULL, 0) != 0 && errno == ETIMEDOUT;
}

static void futex_wake(uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Tasks of each core asleep in ampvq_port_wait_intr(): lets a dispatch skip
 * the wake syscall when nobody waits, which is nearly always. */
static atomic_uint gen_waiters[2];
static atomic_uint_fast64_t wait_calls[2];    /* test hook: ampvq_posix_wait_count() */
static atomic_uint_fast64_t wait_timeouts[2]; /* ... of which timed out */

/* ---------------------------------------------------------------- port.h */

int ampvq_port_core_id(void)
{
    return tls_core >= 0 ? tls_core : atomic_load(&default_core);
}

void *ampvq_port_shm_base(void)
{
    return views[ampvq_port_core_id() & 1].base;
}

uint32_t ampvq_port_shm_size(void)
{
    return views[ampvq_port_core_id() & 1].size;
}

static void *irq_main(void *arg)
{
    int core = (int)(intptr_t)arg;
    irq_t *irq = &irqs[core];
    bool timed_out = false;

    tls_core = core;
    while (!atomic_load(&irq->stop)) {
        uint32_t *word = atomic_load(&irq->pending);
        /* Acquire pairs with the peer's release RMW in esp_amp_sw_intr_trigger(). */
        if (__atomic_load_n(word, __ATOMIC_ACQUIRE) == 0) {
            /* The kernel re-checks *word == 0 before sleeping, so a ring
             * between our load and the wait is not lost. The time-out
             * bounds how long stop takes to be noticed and, because the
             * loop then looks at the word again, how long a lost ring can
             * delay a dispatch: the bits stay set until a dispatch takes
             * them, and the next look finds them. */
            timed_out = futex_wait(word, 0, AMPVQ_POSIX_RECHECK_MS * 1000 * 1000);
            continue;
        }
        if (timed_out && atomic_load_explicit(&fault_armed, memory_order_relaxed)) {
            atomic_fetch_add(&fault_rechecks[core], 1);
        }
        timed_out = false;
        pthread_mutex_lock(&irq->lock);
        ampvq_sw_intr_dispatch();
        atomic_fetch_add(&irq->dispatches, 1);
        pthread_mutex_unlock(&irq->lock);
    }
    return NULL;
}

int ampvq_port_sw_intr_install(uint32_t *local_pending)
{
    int core = ampvq_port_core_id() & 1;
    irq_t *irq = &irqs[core];
    int rc = 0;

    pthread_once(&once, init_once);
    atomic_store(&irq->pending, local_pending);
    pthread_mutex_lock(&state_lock);
    if (!irq->running) {
        atomic_store(&irq->stop, false);
        rc = pthread_create(&irq->thread, NULL, irq_main, (void *)(intptr_t)core);
        irq->running = rc == 0;
    }
    pthread_mutex_unlock(&state_lock);
    return rc == 0 ? 0 : -1;
}

/* splitmix64's finaliser: the drop decision of ring n is a pure function
 * of (seed, n), so a run is reproducible up to the order of the rings. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    x ^= x >> 31;
    return x;
}

/* The fault path, out of line so the doorbell stays small. Lock-free: rings
 * come from several threads (tasks and interrupt threads of both cores). */
static __attribute__((noinline)) bool fault_drop_ring(void)
{
    int core = ampvq_port_core_id() & 1;
    uint64_t n = atomic_fetch_add(&fault_ring_seq, 1);
    uint64_t seed = atomic_load_explicit(&fault_seed, memory_order_relaxed);
    bool drop = mix64(seed + n * 0x9e3779b97f4a7c15u) % 100u < atomic_load(&fault_drop_pct);

    atomic_fetch_add(&fault_rings[core], 1);
    if (drop) {
        atomic_fetch_add(&fault_dropped[core], 1);
    }
    return drop;
}

void ampvq_port_doorbell_ring(uint32_t *pending)
{
    if (__builtin_expect(atomic_load_explicit(&fault_armed, memory_order_relaxed), 0) && fault_drop_ring()) {
        return; /* lost on purpose: the bits stay set in *pending */
    }
    futex_wake(pending);
}

uint32_t ampvq_port_critical_enter(void)
{
    pthread_once(&once, init_once);
    pthread_mutex_lock(&irqs[ampvq_port_core_id() & 1].lock);
    return 0;
}

void ampvq_port_critical_exit(uint32_t token)
{
    (void)token;
    pthread_mutex_unlock(&irqs[ampvq_port_core_id() & 1].lock);
}

uint32_t ampvq_port_time_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

void ampvq_port_delay_us(uint32_t us)
{
    struct timespec ts = {.tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int ampvq_port_wait_intr(const uint32_t *gen, uint32_t seen, uint32_t timeout_ms)
{
    int core = ampvq_port_core_id() & 1;
    atomic_uint *waiters = &gen_waiters[core];
    int timed_out = 0;

    /* Announce, then look. The dispatcher advances *gen, then does an RMW
     * on the waiter count (ampvq_port_wake_intr()). RMWs on one word are
     * totally ordered: if its RMW came first, ours reads from it and the
     * advance happens-before our look; if ours came first, it sees us and
     * wakes. So we never sleep through an advance (no fences: GCC's TSan
     * rejects them). The kernel compares *gen with seen again under its
     * lock before sleeping. The futex is private: the generation lives in
     * this process's memory, and the dispatching interrupt thread is in
     * this process too (in both modes a core's tasks and its interrupt
     * thread share a process). */
    atomic_fetch_add_explicit(waiters, 1, memory_order_acq_rel);
    if (__atomic_load_n(gen, __ATOMIC_ACQUIRE) == seen) {
        struct timespec ts = {.tv_sec = (time_t)(timeout_ms / 1000u), .tv_nsec = (long)(timeout_ms % 1000u) * 1000000L};
        /* Relative time-out, so a jump of the wall clock cannot stretch it.
         * EINTR and EAGAIN (the value moved) are early returns, as allowed. */
        if (syscall(SYS_futex, gen, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0) != 0 && errno == ETIMEDOUT) {
            timed_out = 1;
        }
    }
    atomic_fetch_sub(waiters, 1);
    atomic_fetch_add_explicit(&wait_calls[core], 1, memory_order_relaxed);
    if (timed_out) {
        atomic_fetch_add_explicit(&wait_timeouts[core], 1, memory_order_relaxed);
    }
    return timed_out;
}

void ampvq_port_wake_intr(uint32_t *gen)
{
    /* An RMW, not a load: see ampvq_port_wait_intr(). Release orders the
     * core's advance of *gen before it. */
    if (atomic_fetch_add_explicit(&gen_waiters[ampvq_port_core_id() & 1], 0, memory_order_acq_rel) != 0) {
        syscall(SYS_futex, gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    }
}

static void *sub_thread_main(void *arg)
{
    (void)arg;
    tls_core = AMPVQ_CORE_SUB;
    sub_thread_rc = sub_entry(sub_arg);
    atomic_store(&sub_thread_done, true);
    return NULL;
}

static int spawn_sub_process(void)
{
    char fd_s[16], size_s[16], avoid_s[32];

    snprintf(fd_s, sizeof(fd_s), "%d", last_shm_fd);
    snprintf(size_s, sizeof(size_s), "%u", (unsigned)views[AMPVQ_CORE_MAIN].size);
    snprintf(avoid_s, sizeof(avoid_s), "%p", views[AMPVQ_CORE_MAIN].base);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        /* A sub core must not outlive its main core. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) {
            _exit(127);
        }
        setenv("AMPVQ_SHM_FD", fd_s, 1);
        setenv("AMPVQ_SHM_SIZE", size_s, 1);
        setenv("AMPVQ_SHM_AVOID", avoid_s, 1);
        char *argv[] = {sub_exe, NULL};
        execv(sub_exe, argv);
        fprintf(stderr, "ampvq posix: cannot start sub core %s: %s\n", sub_exe, strerror(errno));
        _exit(127);
    }
    sub_pid = pid;
    return 0;
}

int ampvq_port_start_subcore(void)
{
    int rc = -1;

    pthread_mutex_lock(&state_lock);
    if (sub_exe[0] != '\0' && last_shm_fd >= 0 && sub_pid < 0) {
        rc = spawn_sub_process();
    } else if (sub_entry != NULL && !sub_thread_started) {
        atomic_store(&sub_thread_done, false);
        rc = pthread_create(&sub_thread, NULL, sub_thread_main, NULL) == 0 ? 0 : -1;
        sub_thread_started = rc == 0;
    }
    pthread_mutex_unlock(&state_lock);
    return rc;
}

#if AMPVQ_POSIX_NONCOHERENT
/*
 * Simulated non-coherent memory. A view made by ampvq_posix_shm_map() is the
 * memfd itself for the first AMPVQ_SHM_UNCACHED_BYTES (the "uncached"
 * prefix: atomic RMW words work there) and private memory after it: that
 * core's "cache", which never evicts and starts as a copy of the memory.
 * Write-back copies whole lines from the view to the memfd, invalidate
 * copies whole lines in; so a write-back of one descriptor also writes the
 * stale rest of its line over what the peer wrote there, exactly what the
 * padded layout must make harmless. Each line copy holds a spinlock in the
 * memfd's trailer page (shared by both processes in processes mode), which
 * makes a line move atomically and gives the cores (and ThreadSanitizer)
 * the happens-before edge a real write-back/invalidate pair provides.
 */
#define NC_LINE    64u
#define NC_TRAILER 4096u
#define NC_VIEWS   16

typedef struct {
    uint8_t *view; /* what ampvq_port_shm_base() returns */
    uint8_t *ram;  /* the whole memfd, trailer included: "memory" */
    uint32_t size;
    dev_t dev; /* the memfd's identity: views of one memfd in one */
    ino_t ino; /* process share `ram`, so the lock has one address */
} nc_view_t;

static nc_view_t nc_views[NC_VIEWS];
static pthread_mutex_t nc_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t nc_lines[2]; /* lines moved, [0] written back, [1] invalidated */

_Static_assert(AMPVQ_CACHE_LINE == NC_LINE, "the simulation moves 64-byte lines");
_Static_assert(AMPVQ_SHM_UNCACHED_BYTES % 4096 == 0, "the uncached prefix is mapped in whole pages");

static bool nc_find(const void *addr, nc_view_t *out)
{
    bool found = false;
    pthread_mutex_lock(&nc_lock);
    for (int i = 0; i < NC_VIEWS; i++) {
        nc_view_t *v = &nc_views[i];
        if (v->view != NULL && (const uint8_t *)addr >= v->view && (const uint8_t *)addr < v->view + v->size) {
            *out = *v;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&nc_lock);
    return found;
}

static void nc_move(const void *addr, size_t len, bool out)
{
    nc_view_t v;
    if (len == 0 || !nc_find(addr, &v)) {
        return;
    }
    uintptr_t lo = ((uintptr_t)addr - (uintptr_t)v.view) & ~(uintptr_t)(NC_LINE - 1u);
    uintptr_t hi = (uintptr_t)addr - (uintptr_t)v.view + len;
    if (hi > v.size) {
        fprintf(stderr, "ampvq posix: cache maintenance past the end of shared memory\n");
        abort();
    }
    uint32_t *lock = (uint32_t *)(void *)(v.ram + v.size);
    for (uintptr_t off = lo; off < hi; off += NC_LINE) {
        if (off < AMPVQ_SHM_UNCACHED_BYTES) {
            continue; /* uncached: nothing to move */
        }
        while (__atomic_exchange_n(lock, 1u, __ATOMIC_ACQUIRE) != 0) {
            sched_yield();
        }
        if (out) {
            memcpy(v.ram + off, v.view + off, NC_LINE);
        } else {
            memcpy(v.view + off, v.ram + off, NC_LINE);
        }
        __atomic_store_n(lock, 0u, __ATOMIC_RELEASE);
        atomic_fetch_add_explicit(&nc_lines[out ? 0 : 1], 1, memory_order_relaxed);
    }
}

void ampvq_port_cache_writeback(const void *addr, size_t len)
{
    nc_move(addr, len, true);
}

void ampvq_port_cache_invalidate(const void *addr, size_t len)
{
    nc_move(addr, len, false);
}

uint64_t ampvq_posix_nc_lines(int invalidated)
{
    return atomic_load(&nc_lines[invalidated ? 1 : 0]);
}

static void *nc_map(int fd, uint32_t size, const void *avoid)
{
    if (size < AMPVQ_SHM_UNCACHED_BYTES + NC_LINE || size % 4096u != 0) {
        errno = EINVAL;
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return NULL;
    }
    uint8_t *ram = NULL;
    bool own_ram = false;
    pthread_mutex_lock(&nc_lock);
    for (int i = 0; i < NC_VIEWS; i++) {
        if (nc_views[i].view != NULL && nc_views[i].dev == st.st_dev && nc_views[i].ino == st.st_ino &&
            nc_views[i].size == size) {
            ram = nc_views[i].ram;
        }
    }
    pthread_mutex_unlock(&nc_lock);
    if (ram == NULL) {
        ram = mmap(NULL, (size_t)size + NC_TRAILER, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (ram == MAP_FAILED) {
            return NULL;
        }
        own_ram = true;
    }
    uint8_t *view = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (view == (const uint8_t *)avoid && view != MAP_FAILED) {
        uint8_t *again = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        munmap(view, size);
        view = again;
    }
    if (view == MAP_FAILED ||
        mmap(view, AMPVQ_SHM_UNCACHED_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
        if (view != MAP_FAILED) {
            munmap(view, size);
        }
        if (own_ram) {
            munmap(ram, (size_t)size + NC_TRAILER);
        }
        return NULL;
    }
    /* A cache that already holds every line, as memory had it: the
     * strictest case for a missing invalidate. */
    memcpy(view + AMPVQ_SHM_UNCACHED_BYTES, ram + AMPVQ_SHM_UNCACHED_BYTES, size - AMPVQ_SHM_UNCACHED_BYTES);
    pthread_mutex_lock(&nc_lock);
    for (int i = 0; i < NC_VIEWS; i++) {
        if (nc_views[i].view == NULL) {
            nc_views[i] = (nc_view_t){.view = view, .ram = ram, .size = size, .dev = st.st_dev, .ino = st.st_ino};
            ram = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&nc_lock);
    if (ram != NULL) {
        munmap(view, size);
        if (own_ram) {
            munmap(ram, (size_t)size + NC_TRAILER);
        }
        errno = ENOMEM;
        return NULL;
    }
    return view;
}

/* @return true if `base` was a simulated view (now unmapped) */
static bool nc_unmap(void *base)
{
    nc_view_t v = {0};
    bool ram_shared = false;
    pthread_mutex_lock(&nc_lock);
    for (int i = 0; i < NC_VIEWS; i++) {
        if (nc_views[i].view == base) {
            v = nc_views[i];
            nc_views[i] = (nc_view_t){0};
            break;
        }
    }
    for (int i = 0; i < NC_VIEWS; i++) {
        ram_shared = ram_shared || (v.view != NULL && nc_views[i].ram == v.ram);
    }
    pthread_mutex_unlock(&nc_lock);
    if (v.view == NULL) {
        return false;
    }
    munmap(v.view, v.size);
    if (!ram_shared) {
        munmap(v.ram, (size_t)v.size + NC_TRAILER);
    }
    return true;
}
#define NC_EXTRA NC_TRAILER
#else
#define NC_EXTRA 0

void ampvq_port_cache_writeback(const void *addr, size_t len)
{
    (void)addr;
    (void)len;
}

void ampvq_port_cache_invalidate(const void *addr, size_t len)
{
    (void)addr;
    (void)len;
}

uint64_t ampvq_posix_nc_lines(int invalidated)
{
    (void)invalidated;
    return 0;
}
#endif

/* --------------------------------------------------------------- posix.h */

int ampvq_posix_shm_create(uint32_t size)
{
    int fd = memfd_create("ampvq-shm", 0);
    if (fd < 0) {
        return -1;
    }
    /* Simulated non-coherent memory keeps its line lock after the block. */
    if (ftruncate(fd, (off_t)size + NC_EXTRA) != 0) {
        close(fd);
        return -1;
    }
    last_shm_fd = fd;
    return fd;
}

void *ampvq_posix_shm_map(int fd, uint32_t size, const void *avoid)
{
#if AMPVQ_POSIX_NONCOHERENT
    return nc_map(fd, size, avoid);
#endif
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }
    if (p == avoid) {
        /* Map again while the first mapping holds that address, then drop it. */
        void *q = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        munmap(p, size);
        p = q == MAP_FAILED ? NULL : q;
    }
    return p;
}

void ampvq_posix_shm_unmap(void *base, uint32_t size)
{
#if AMPVQ_POSIX_NONCOHERENT
    if (base != NULL && nc_unmap(base)) {
        return;
    }
#endif
    if (base != NULL) {
        munmap(base, size);
    }
}

int ampvq_posix_attach(int core, void *base, uint32_t size)
{
    if (core != AMPVQ_CORE_MAIN && core != AMPVQ_CORE_SUB) {
        return -1;
    }
    views[core].base = base;
    views[core].size = size;
    return 0;
}

void ampvq_posix_set_core(int core)
{
    tls_core = core;
}

void ampvq_posix_set_default_core(int core)
{
    atomic_store(&default_core, core);
}

void ampvq_posix_set_subcore_entry(int (*entry)(void *arg), void *arg)
{
    sub_entry = entry;
    sub_arg = arg;
}

void ampvq_posix_set_subcore_exe(const char *path)
{
    snprintf(sub_exe, sizeof(sub_exe), "%s", path != NULL ? path : "");
}

int ampvq_posix_kill_subcore(void)
{
    pthread_mutex_lock(&state_lock);
    pid_t pid = sub_pid;
    int rc = -1;
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        sub_pid = -1;
        rc = 0;
    }
    pthread_mutex_unlock(&state_lock);
    return rc;
}

static int join_process(uint32_t timeout_ms, int *rc)
{
    uint32_t start = ampvq_port_time_ms();
    int status = 0;

    for (;;) {
        pid_t r = waitpid(sub_pid, &status, WNOHANG);
        if (r == sub_pid) {
            break;
        }
        if (r < 0 || ampvq_port_time_ms() - start >= timeout_ms) {
            kill(sub_pid, SIGKILL);
            waitpid(sub_pid, &status, 0);
            sub_pid = -1;
            return -1;
        }
        ampvq_port_delay_us(1000);
    }
    sub_pid = -1;
    if (rc != NULL) {
        *rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return 0;
}

static int join_thread(uint32_t timeout_ms, int *rc)
{
    uint32_t start = ampvq_port_time_ms();

    while (!atomic_load(&sub_thread_done)) {
        if (ampvq_port_time_ms() - start >= timeout_ms) {
            return -1;
        }
        ampvq_port_delay_us(1000);
    }
    pthread_join(sub_thread, NULL);
    sub_thread_started = false;
    if (rc != NULL) {
        *rc = sub_thread_rc;
    }
    return 0;
}

int ampvq_posix_join_subcore(uint32_t timeout_ms, int *rc)
{
    if (sub_pid > 0) {
        return join_process(timeout_ms, rc);
    }
    if (sub_thread_started) {
        return join_thread(timeout_ms, rc);
    }
    return 1;
}

int ampvq_posix_threads_setup(uint32_t size)
{
    int fd = ampvq_posix_shm_create(size);
    if (fd < 0) {
        return -1;
    }
    void *main_view = ampvq_posix_shm_map(fd, size, NULL);
    void *sub_view = main_view != NULL ? ampvq_posix_shm_map(fd, size, main_view) : NULL;
    if (sub_view == NULL) {
        ampvq_posix_shm_unmap(main_view, size);
        close(fd);
        return -1;
    }
    setup_fd = fd;
    ampvq_posix_attach(AMPVQ_CORE_MAIN, main_view, size);
    ampvq_posix_attach(AMPVQ_CORE_SUB, sub_view, size);
    ampvq_posix_set_default_core(AMPVQ_CORE_MAIN);
    tls_core = AMPVQ_CORE_MAIN;
    return 0;
}

void ampvq_posix_teardown(void)
{
    for (int i = 0; i < 2; i++) {
        irq_t *irq = &irqs[i];
        if (!irq->running) {
            continue;
        }
        atomic_store(&irq->stop, true);
        uint32_t *word = atomic_load(&irq->pending);
        if (word != NULL) {
            futex_wake(word);
        }
        pthread_join(irq->thread, NULL);
        irq->running = false;
        atomic_store(&irq->pending, NULL);
        atomic_store(&irq->dispatches, 0);
    }
    for (int i = 0; i < 2; i++) {
        atomic_store(&wait_calls[i], 0);
        atomic_store(&wait_timeouts[i], 0);
    }
    if (sub_thread_started) {
        pthread_join(sub_thread, NULL);
        sub_thread_started = false;
    }
    if (sub_pid > 0) {
        kill(sub_pid, SIGKILL);
        waitpid(sub_pid, NULL, 0);
        sub_pid = -1;
    }
    if (setup_fd >= 0) {
        for (int i = 0; i < 2; i++) {
            ampvq_posix_shm_unmap(views[i].base, views[i].size);
        }
        close(setup_fd);
        if (last_shm_fd == setup_fd) {
            last_shm_fd = -1;
        }
        setup_fd = -1;
    }
    memset(views, 0, sizeof(views));
    ampvq_posix_fault_off();
    sub_entry = NULL;
    sub_arg = NULL;
    sub_exe[0] = '\0';
}

uint64_t ampvq_posix_dispatch_count(int core)
{
    return atomic_load(&irqs[core & 1].dispatches);
}

uint64_t ampvq_posix_wait_count(int core)
{
    return atomic_load(&wait_calls[core & 1]);
}

uint64_t ampvq_posix_wait_timeouts(int core)
{
    return atomic_load(&wait_timeouts[core & 1]);
}

/* ------------------------------------------------------- fault test hooks */

void ampvq_posix_fault_doorbell_drop(uint32_t percent, uint64_t seed)
{
    atomic_store(&fault_drop_pct, percent > 100u ? 100u : percent);
    atomic_store(&fault_seed, seed);
    atomic_store(&fault_ring_seq, 0);
    for (int i = 0; i < 2; i++) {
        atomic_store(&fault_rings[i], 0);
        atomic_store(&fault_dropped[i], 0);
        atomic_store(&fault_rechecks[i], 0);
    }
    atomic_store(&fault_armed, true);
}

void ampvq_posix_fault_off(void)
{
    atomic_store(&fault_armed, false);
    atomic_store(&fault_drop_pct, 0u);
}

void ampvq_posix_fault_stats(int core, ampvq_posix_fault_stats_t *st)
{
    st->rings = atomic_load(&fault_rings[core & 1]);
    st->dropped = atomic_load(&fault_dropped[core & 1]);
    st->rechecks = atomic_load(&fault_rechecks[core & 1]);
}

int ampvq_posix_fault_spurious(int core, uint32_t bits)
{
    irq_t *irq = &irqs[core & 1];
    uint32_t *word = atomic_load(&irq->pending);

    if (word == NULL) {
        return -1;
    }
    if (bits != 0) {
        /* As a stray trigger would: release RMW, then the doorbell (never
         * dropped, never counted: it is not one of the core's rings). */
        __atomic_fetch_or(word, bits, __ATOMIC_ACQ_REL);
        futex_wake(word);
        return 0;
    }
    /* An interrupt with nothing new: a dispatch on this thread, as `core`
     * and with its interrupt masked, as the interrupt thread would run it. */
    int saved = tls_core;
    pthread_mutex_lock(&irq->lock);
    tls_core = core & 1;
    ampvq_sw_intr_dispatch();
    tls_core = saved;
    pthread_mutex_unlock(&irq->lock);
    return 0;
}
