/* A fixed sequence of system calls for the --trace tests: each line of
 * `lamina run --trace` must show the call, its decoded arguments and its
 * result. quotactl stands for a call lamina does not have (the report at
 * exit must name it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    /* Markers the test finds in the trace: the calls between them are the
     * program's own, not its libc's start-up. */
    syscall(SYS_getppid);
    int fd = open("/nonexistent/tracee", O_RDONLY);
    int open_errno = errno;
    ssize_t n = write(1, "hi\n", 3);
    int pipefd[2];
    int piped = pipe(pipefd);
    long missing = syscall(SYS_quotactl, 0, "/", 0, NULL);
    int missing_errno = errno;
    syscall(SYS_getppid);
    printf("open=%d errno=%s write=%zd pipe=%d quotactl=%ld errno=%s\n", fd,
           strerror(open_errno), n, piped, missing, strerror(missing_errno));
    return 0;
}
