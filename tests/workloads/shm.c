/* POSIX shared memory on /dev/shm as Linux gives it: shm_open + ftruncate
 * + mmap(MAP_SHARED) is one copy for every process that maps the object
 * (inherited across fork or mapped anew) and for read/write of its
 * descriptor; process-shared semaphores in it (futexes across processes)
 * and named semaphores (sem_open: /dev/shm/sem.NAME), the way Python's
 * multiprocessing uses them. Names carry the pid so native runs in
 * parallel do not collide; nothing printed depends on it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 4
#define ROUNDS 2000

struct shared {
    sem_t lock;
    sem_t done;
    long counter;
    char note[64];
};

static void wait_all(int n) {
    for (int i = 0; i < n; i++) {
        int status;
        if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            printf("a child failed\n");
    }
}

int main(void) {
    char name[64], sem_name[64], path[96];
    snprintf(name, sizeof name, "/lamina-shm-%d", (int)getpid());
    snprintf(sem_name, sizeof sem_name, "/lamina-sem-%d", (int)getpid());
    long page = sysconf(_SC_PAGESIZE);

    /* Each line reaches stdout before a fork copies the buffer. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct statfs fs;
    printf("statfs /dev/shm: %d\n", statfs("/dev/shm", &fs));

    int got = shm_open(name, O_RDWR, 0600);
    printf("shm_open missing: %d %s\n", got, strerror(errno));
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    printf("shm_open create: %d\n", fd >= 0);
    got = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    printf("shm_open again O_EXCL: %d %s\n", got, strerror(errno));
    snprintf(path, sizeof path, "/dev/shm%s", name);
    struct stat st;
    printf("in /dev/shm: %d\n", stat(path, &st));
    printf("ftruncate: %d\n", ftruncate(fd, page));
    struct shared *s = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (s == MAP_FAILED) {
        printf("mmap failed: %s\n", strerror(errno));
        return 1;
    }
    printf("fresh object reads zero: %ld\n", s->counter);
    sem_init(&s->lock, 1, 1);
    sem_init(&s->done, 1, 0);

    /* A counter under a process-shared semaphore, across fork. */
    for (int i = 0; i < WORKERS; i++) {
        if (fork() == 0) {
            for (int r = 0; r < ROUNDS; r++) {
                sem_wait(&s->lock);
                long v = s->counter;
                if (r % 500 == 0)
                    sched_yield();
                s->counter = v + 1;
                sem_post(&s->lock);
            }
            sem_post(&s->done);
            _exit(0);
        }
    }
    for (int i = 0; i < WORKERS; i++)
        sem_wait(&s->done);
    wait_all(WORKERS);
    printf("counter: %ld (expected %d)\n", s->counter, WORKERS * ROUNDS);

    /* A child that maps the object anew (not the inherited mapping): its
     * store is seen at once by the parent's mapping and by pread. The
     * parent holds the lock first, so the child's sem_wait blocks. */
    sem_wait(&s->lock);
    if (fork() == 0) {
        int cfd = shm_open(name, O_RDWR, 0);
        struct shared *c = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
        if (c == MAP_FAILED)
            _exit(1);
        strcpy(c->note, "from the child's own mapping");
        sem_post(&c->done);
        /* Wait for the parent's write() to show in this mapping. */
        sem_wait(&c->lock);
        printf("child sees the parent's write: %s\n", c->note);
        fflush(stdout);
        _exit(0);
    }
    sem_wait(&s->done);
    printf("parent mapping: %s\n", s->note);
    char buf[64] = {0};
    pread(fd, buf, sizeof buf - 1, offsetof(struct shared, note));
    printf("pread: %s\n", buf);
    const char *text = "written with pwrite";
    pwrite(fd, text, strlen(text) + 1, offsetof(struct shared, note));
    sem_post(&s->lock);
    wait_all(1);

    /* A read-only mapping of the object follows later stores. */
    int rfd = shm_open(name, O_RDONLY, 0);
    const struct shared *r = mmap(NULL, page, PROT_READ, MAP_SHARED, rfd, 0);
    s->counter = 42;
    printf("read-only mapping: %ld\n", r == MAP_FAILED ? -1 : r->counter);
    got = mprotect((void *)r, page, PROT_READ | PROT_WRITE);
    printf("mprotect it writable: %d %s\n", got, strerror(errno));
    printf("fstat size: %d\n", fstat(fd, &st) == 0 && st.st_size == page);
    printf("shm_unlink: %d\n", shm_unlink(name));
    got = shm_unlink(name);
    printf("shm_unlink again: %d %s\n", got, strerror(errno));
    /* Unlinked, the mappings stay. */
    s->counter++;
    printf("after unlink: %ld\n", r->counter);
    close(fd);
    close(rfd);

    /* A named semaphore: /dev/shm/sem.NAME, posted by a child. */
    sem_t *named = sem_open(sem_name, O_CREAT | O_EXCL, 0600, 0);
    printf("sem_open: %d\n", named != SEM_FAILED);
    snprintf(path, sizeof path, "/dev/shm/sem.%s", sem_name + 1);
    printf("sem file: %d\n", stat(path, &st));
    if (fork() == 0) {
        sem_t *again = sem_open(sem_name, 0);
        if (again == SEM_FAILED)
            _exit(1);
        sem_post(again);
        _exit(0);
    }
    sem_wait(named);
    wait_all(1);
    int value = -1;
    sem_getvalue(named, &value);
    printf("named semaphore after the child's post: %d\n", value);
    printf("sem_unlink: %d\n", sem_unlink(sem_name));
    sem_close(named);
    return 0;
}
