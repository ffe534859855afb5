/* POSIX threads: run natively and in lamina, the two outputs must be
 * identical. Threads share memory and file descriptors but each has its
 * own stack, thread id and __thread variables; a mutex keeps a shared
 * counter exact under contention (futex wait and wake), a condition
 * variable hands a token back and forth, pthread_join returns each
 * thread's value, and the process exits with threads still blocked.
 * The output is printed by the main thread after the joins, so it does
 * not depend on the scheduler. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define WORKERS 4
#define INCREMENTS 20000
#define HANDOFF_ROUNDS 200

static __thread long tls_value = 1;
static __thread char tls_name[16] = "main";

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

struct worker {
    int index;
    pid_t tid;
    uintptr_t stack_address;
    long tls_seen_at_start;
    char name_seen[16];
};

static pid_t current_tid(void) {
    return (pid_t)syscall(SYS_gettid);
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    int on_stack = w->index;
    w->tid = current_tid();
    w->stack_address = (uintptr_t)&on_stack;
    /* A new thread starts with the initial values, not main's. */
    w->tls_seen_at_start = tls_value;
    tls_value = 1000 + w->index;
    snprintf(tls_name, sizeof tls_name, "worker-%d", w->index);
    for (int i = 0; i < INCREMENTS; i++) {
        pthread_mutex_lock(&counter_lock);
        counter++;
        pthread_mutex_unlock(&counter_lock);
        if (i % 5000 == 0)
            sched_yield();
    }
    memcpy(w->name_seen, tls_name, sizeof tls_name);
    /* The value is still this thread's after all that switching. */
    return (void *)(tls_value * 10);
}

/* Two threads pass a token HANDOFF_ROUNDS times each way. */
static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static int turn;
static int rounds_done[2];

static void *handoff_main(void *arg) {
    int me = (int)(intptr_t)arg;
    for (int round = 0; round < HANDOFF_ROUNDS; round++) {
        pthread_mutex_lock(&turn_lock);
        while (turn != me)
            pthread_cond_wait(&turn_changed, &turn_lock);
        rounds_done[me]++;
        turn = 1 - me;
        pthread_cond_broadcast(&turn_changed);
        pthread_mutex_unlock(&turn_lock);
    }
    return (void *)(intptr_t)rounds_done[me];
}

static void *exits_early(void *arg) {
    (void)arg;
    pthread_exit((void *)77);
}

/* Blocks for good: the process must still exit. */
static pthread_mutex_t never_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t started;

static void *blocks_forever(void *arg) {
    (void)arg;
    pthread_mutex_lock(&never_lock);
    pthread_barrier_wait(&started);
    for (;;)
        pthread_cond_wait(&never, &never_lock);
    return NULL;
}

/* Threads share the file descriptor table: a pipe made by one thread is
 * written by another and read by main. */
static int shared_pipe[2];

static void *writes_pipe(void *arg) {
    (void)arg;
    const char message[] = "through the shared fd table";
    return (void *)(intptr_t)write(shared_pipe[1], message, sizeof message);
}

static void check(const char *what, int err) {
    if (err != 0) {
        printf("%s: %s\n", what, strerror(err));
        exit(1);
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    pid_t pid = getpid();
    tls_value = 5;

    pthread_t threads[WORKERS];
    struct worker workers[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        memset(&workers[i], 0, sizeof workers[i]);
        workers[i].index = i;
        check("pthread_create", pthread_create(&threads[i], NULL, worker_main, &workers[i]));
    }
    int distinct_tids = 1, distinct_stacks = 1;
    for (int i = 0; i < WORKERS; i++) {
        void *result;
        check("pthread_join", pthread_join(threads[i], &result));
        printf("worker %d returned %ld, started with tls %ld, ended as %s\n", i,
               (long)(intptr_t)result, workers[i].tls_seen_at_start, workers[i].name_seen);
        if (workers[i].tid == pid || workers[i].tid <= 0)
            distinct_tids = 0;
        for (int j = 0; j < i; j++) {
            if (workers[j].tid == workers[i].tid)
                distinct_tids = 0;
            if (workers[j].stack_address == workers[i].stack_address)
                distinct_stacks = 0;
        }
    }
    printf("counter %ld (expected %d)\n", counter, WORKERS * INCREMENTS);
    printf("thread ids distinct from each other and the process: %s\n",
           distinct_tids ? "yes" : "no");
    printf("stacks distinct: %s\n", distinct_stacks ? "yes" : "no");
    printf("main's tls after the workers: %ld %s\n", tls_value, tls_name);
    printf("getpid in main is the thread id: %s\n", current_tid() == pid ? "yes" : "no");

    pthread_t pair[2];
    for (int i = 0; i < 2; i++)
        check("pthread_create", pthread_create(&pair[i], NULL, handoff_main, (void *)(intptr_t)i));
    for (int i = 0; i < 2; i++) {
        void *result;
        check("pthread_join", pthread_join(pair[i], &result));
        printf("handoff thread %d did %ld rounds\n", i, (long)(intptr_t)result);
    }

    pthread_t early;
    void *early_result;
    check("pthread_create", pthread_create(&early, NULL, exits_early, NULL));
    check("pthread_join", pthread_join(early, &early_result));
    printf("pthread_exit value %ld\n", (long)(intptr_t)early_result);

    if (pipe(shared_pipe) != 0) {
        printf("pipe: %s\n", strerror(errno));
        return 1;
    }
    pthread_t writer;
    void *written;
    check("pthread_create", pthread_create(&writer, NULL, writes_pipe, NULL));
    check("pthread_join", pthread_join(writer, &written));
    char buffer[64] = {0};
    ssize_t got = read(shared_pipe[0], buffer, sizeof buffer);
    printf("writer wrote %ld, main read %ld: %s\n", (long)(intptr_t)written, (long)got, buffer);

    /* Detached threads that finish on their own. */
    for (int i = 0; i < 8; i++) {
        pthread_t detached;
        check("pthread_create", pthread_create(&detached, NULL, exits_early, NULL));
        check("pthread_detach", pthread_detach(detached));
    }

    pthread_t sleeper;
    check("pthread_barrier_init", pthread_barrier_init(&started, NULL, 2));
    check("pthread_create", pthread_create(&sleeper, NULL, blocks_forever, NULL));
    pthread_barrier_wait(&started);
    printf("exiting with a thread blocked\n");
    return 3;
}
