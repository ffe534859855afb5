/* sendmmsg and recvmmsg (glibc's resolver sends its A and AAAA queries
 * with one sendmmsg): batches over an AF_UNIX datagram pair and over UDP
 * on the loopback with an address per message, msg_len and MSG_TRUNC per
 * message, MSG_WAITFORONE with a wait for another process, and the
 * errnos. Deterministic output; exit 0 when every step went as Linux
 * does it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err(int e)
{
    switch (e) {
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    default: return strerror(e);
    }
}

#define N 4
static char bufs[N][64];
static struct iovec iov[N];
static struct mmsghdr msgs[N];

static void prepare(size_t room)
{
    memset(msgs, 0, sizeof msgs);
    memset(bufs, 0, sizeof bufs);
    for (int i = 0; i < N; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = room;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_len = 12345;
    }
}

static void show(const char *what, int n)
{
    if (n < 0) {
        printf("%s: %s\n", what, err(errno));
        return;
    }
    printf("%s: %d", what, n);
    for (int i = 0; i < n; i++)
        printf(" [%u %.*s%s]", msgs[i].msg_len, (int)msgs[i].msg_len, bufs[i],
               msgs[i].msg_hdr.msg_flags & MSG_TRUNC ? " TRUNC" : "");
    printf("\n");
}

int main(void)
{
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, pair))
        return 1;
    const char *words[] = {"alpha", "beta", "gamma", "delta-long-word"};
    struct iovec out_iov[N];
    struct mmsghdr out[N];
    memset(out, 0, sizeof out);
    for (int i = 0; i < N; i++) {
        out_iov[i].iov_base = (void *)words[i];
        out_iov[i].iov_len = strlen(words[i]);
        out[i].msg_hdr.msg_iov = &out_iov[i];
        out[i].msg_hdr.msg_iovlen = 1;
    }
    int n = sendmmsg(pair[0], out, 3, 0);
    printf("sendmmsg 3: %d, lens %u %u %u\n", n, out[0].msg_len, out[1].msg_len, out[2].msg_len);
    prepare(64);
    show("recvmmsg 4, dontwait", recvmmsg(pair[1], msgs, N, MSG_DONTWAIT, NULL));
    prepare(64);
    show("recvmmsg on empty, dontwait", recvmmsg(pair[1], msgs, N, MSG_DONTWAIT, NULL));
    printf("sendmmsg 0: %d\n", sendmmsg(pair[0], out, 0, 0));
    sendmmsg(pair[0], out + 2, 2, 0);
    prepare(5);
    show("recvmmsg into 5 bytes", recvmmsg(pair[1], msgs, N, MSG_DONTWAIT, NULL));

    /* MSG_WAITFORONE: waits for the first, takes what is there after. */
    pid_t child = fork();
    if (child == 0) {
        usleep(50000);
        sendmmsg(pair[0], out, 2, 0);
        _exit(0);
    }
    prepare(64);
    n = recvmmsg(pair[1], msgs, N, MSG_WAITFORONE, NULL);
    printf("recvmmsg waitforone after a wait: %s, first [%u %.*s]\n", n >= 1 ? ">= 1" : err(errno),
           msgs[0].msg_len, (int)msgs[0].msg_len, bufs[0]);
    waitpid(child, NULL, 0);
    while (recvmmsg(pair[1], msgs, N, MSG_DONTWAIT, NULL) > 0)
        ;

    /* UDP on the loopback: an address per message, the sender's back. */
    int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof at;
    if (bind(rx, (struct sockaddr *)&at, sizeof at) || getsockname(rx, (struct sockaddr *)&at, &len))
        return 1;
    struct sockaddr_in from = at;
    from.sin_port = 0;
    if (bind(tx, (struct sockaddr *)&from, sizeof from))
        return 1;
    len = sizeof from;
    getsockname(tx, (struct sockaddr *)&from, &len);
    for (int i = 0; i < 2; i++) {
        out[i].msg_hdr.msg_name = &at;
        out[i].msg_hdr.msg_namelen = sizeof at;
    }
    printf("udp sendmmsg 2: %d\n", sendmmsg(tx, out, 2, 0));
    struct sockaddr_in names[N];
    prepare(64);
    for (int i = 0; i < N; i++) {
        msgs[i].msg_hdr.msg_name = &names[i];
        msgs[i].msg_hdr.msg_namelen = sizeof names[i];
    }
    struct timespec timeout = {1, 0};
    n = recvmmsg(rx, msgs, N, MSG_WAITFORONE, &timeout);
    if (n == 1)
        n += recvmmsg(rx, msgs + 1, N - 1, 0, &timeout);
    show("udp recvmmsg", n);
    for (int i = 0; i < n && i < N; i++)
        printf("  from the sender: %s\n",
               names[i].sin_port == from.sin_port && msgs[i].msg_hdr.msg_namelen == sizeof from
                   ? "yes"
                   : "no");

    /* errnos (a bad vector through syscall: musl's wrapper reads it) */
    printf("sendmmsg bad fd: %s\n", sendmmsg(99, out, 1, 0) < 0 ? err(errno) : "ok");
    int file = open("/dev/null", O_RDWR);
    printf("sendmmsg not a socket: %s\n", sendmmsg(file, out, 1, 0) < 0 ? err(errno) : "ok");
    printf("recvmmsg not a socket: %s\n",
           recvmmsg(file, msgs, 1, MSG_DONTWAIT, NULL) < 0 ? err(errno) : "ok");
    timeout.tv_nsec = 2000000000;
    printf("recvmmsg bad timeout: %s\n",
           recvmmsg(rx, msgs, 1, MSG_DONTWAIT, &timeout) < 0 ? err(errno) : "ok");
    printf("sendmmsg bad vector: %s\n",
           syscall(SYS_sendmmsg, pair[0], (struct mmsghdr *)8, 1, 0) < 0 ? err(errno) : "ok");
    return 0;
}
