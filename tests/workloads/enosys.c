/* Unimplemented system calls: each returns ENOSYS, and with `lamina -v`
 * the kernel names each one once however often it is called. */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define UNKNOWN_SYSCALL 9999
#define ACCT 163

int main(void) {
    for (int i = 0; i < 3; i++) {
        errno = 0;
        long ret = syscall(UNKNOWN_SYSCALL);
        printf("syscall %d: %ld errno %d\n", UNKNOWN_SYSCALL, ret, errno);
    }
    for (int i = 0; i < 2; i++) {
        errno = 0;
        long ret = syscall(ACCT, 0);
        printf("syscall %d: %ld errno %d\n", ACCT, ret, errno);
    }
    return 0;
}
