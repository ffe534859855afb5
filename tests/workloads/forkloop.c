/* fork, _exit and waitpid in a loop must not leak memory: MemFree in
 * /proc/meminfo after 1,000 cycles is what it was after a few warm-up
 * cycles (which let the kernel grow whatever tables it keeps). Each child
 * dirties its stack and a heap page shared copy-on-write with the parent,
 * so the copies made for it must be freed too, and exits with its own
 * status, which the parent checks. Prints both numbers; exits 1 if free
 * memory dropped, 2 if a cycle went wrong. For inside lamina only: on
 * Linux MemFree moves with everything else the machine does. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define WARM_UP_CYCLES 20
#define CYCLES 1000
#define DIRTY_BYTES (64 * 1024)

static char *heap;

/* Read with one read(2) into a static buffer: no allocation of ours may
 * move MemFree between the two readings. */
static long mem_free_kib(void) {
    static char text[4096];
    int fd = open("/proc/meminfo", O_RDONLY);
    if (fd < 0) {
        perror("/proc/meminfo");
        exit(2);
    }
    ssize_t len = read(fd, text, sizeof text - 1);
    close(fd);
    if (len <= 0) {
        perror("read /proc/meminfo");
        exit(2);
    }
    text[len] = '\0';
    const char *line = strstr(text, "MemFree:");
    long kib;
    if (!line || sscanf(line, "MemFree: %ld kB", &kib) != 1) {
        fprintf(stderr, "no MemFree line in /proc/meminfo:\n%s", text);
        exit(2);
    }
    return kib;
}

static void cycles(int count) {
    for (int i = 0; i < count; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            exit(2);
        }
        if (pid == 0) {
            volatile char stack[4096];
            memset((char *)stack, i, sizeof stack);
            memset(heap, i, DIRTY_BYTES);
            _exit(i & 0x7f);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid) {
            perror("waitpid");
            exit(2);
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != (i & 0x7f)) {
            fprintf(stderr, "cycle %d: child status %#x\n", i, status);
            exit(2);
        }
    }
}

int main(void) {
    heap = malloc(DIRTY_BYTES);
    if (!heap)
        return 2;
    memset(heap, 1, DIRTY_BYTES);
    cycles(WARM_UP_CYCLES);
    /* Once to touch the buffer and this code's pages before measuring. */
    mem_free_kib();
    long before = mem_free_kib();
    cycles(CYCLES);
    long after = mem_free_kib();
    printf("MemFree after warm-up: %ld kB, after %d fork cycles: %ld kB\n", before, CYCLES, after);
    if (after < before) {
        printf("leaked %ld kB\n", before - after);
        return 1;
    }
    printf("no leak\n");
    return 0;
}
