/* poll on stdin: blocks until input arrives and reports it readable; once
 * the input is read and the writer has gone, poll reports a hang-up. */
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    struct pollfd p = {0, POLLIN, 0};
    int ready = poll(&p, 1, -1);
    char buf[64];
    ssize_t n = read(0, buf, sizeof buf);
    printf("poll %d readable %d read %zd\n", ready, (p.revents & POLLIN) != 0, n);
    ready = poll(&p, 1, 5000);
    printf("after the data: poll %d revents %d\n", ready, p.revents);
    return 0;
}
