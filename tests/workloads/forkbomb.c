/* A fork bomb for inside a small lamina VM, never natively: forks children
 * that wait in pause() until fork fails, prints the errno's name once,
 * then kills every child with SIGKILL and reaps them all. Exits 0 when
 * every child was reaped, 1 otherwise; if the kernel runs out of memory
 * first, lamina reports that instead (status 137). Refuses to run
 * without the argument --in-vm, so that it cannot be started by
 * accident on a real machine. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Far more than a 64M guest can hold; a bound so the array is static. */
#define MAX_CHILDREN 100000

static pid_t children[MAX_CHILDREN];

static const char *err_name(int e) {
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    default: return strerror(e);
    }
}

int main(int argc, char **argv) {
    if (argc != 2 || strcmp(argv[1], "--in-vm") != 0) {
        fprintf(stderr, "usage: forkbomb --in-vm (a fork bomb: run it in a small VM only)\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    int count = 0;
    int fork_errno = 0;
    while (count < MAX_CHILDREN) {
        pid_t pid = fork();
        if (pid == 0) {
            for (;;)
                pause();
        }
        if (pid < 0) {
            fork_errno = errno;
            break;
        }
        children[count++] = pid;
    }
    if (count == MAX_CHILDREN) {
        printf("fork never failed in %d children\n", count);
    } else {
        printf("fork failed: %s\n", err_name(fork_errno));
        fprintf(stderr, "fork failed after %d children\n", count);
    }
    for (int i = 0; i < count; i++)
        if (kill(children[i], SIGKILL) != 0)
            fprintf(stderr, "kill %d: %s\n", (int)children[i], strerror(errno));
    int reaped = 0;
    int status;
    while (wait(&status) > 0) {
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            reaped++;
    }
    if (errno != ECHILD)
        printf("wait: %s\n", strerror(errno));
    if (reaped != count) {
        printf("reaped %d of %d children\n", reaped, count);
        return 1;
    }
    printf("every child killed and reaped\n");
    return 0;
}
