/* TCP to the bench's host server (bench/src/server.rs), which listens on the
 * host's 127.0.0.1: natively the client dials 127.0.0.1, in a guest 10.0.2.2
 * (lamina's forwarded sockets with --allow-net 127.0.0.1:PORT; QEMU's user
 * networking for the Linux guest). Each connection starts with a header: a
 * mode byte and a little-endian u64.
 *   rtt ROUNDS SECONDS   'P': one byte to the server and its echo back, at
 *                        most ROUNDS times or SECONDS (after 100 untimed);
 *                        the median round trip in µs.
 *   send MIB SECONDS     'S': 64 KiB write()s until MIB MiB or SECONDS, then
 *                        shutdown(SHUT_WR); the server answers with the u64
 *                        count it read once it reads EOF; MB/s (10^6 bytes)
 *                        from the first write to that answer.
 *   recv MIB SECONDS     'R' MIB << 20: the server writes that many bytes;
 *                        64 KiB read()s until all or SECONDS; MB/s from the
 *                        header's write to the last read.
 * A failed connect exits 3 with "netclient: connect ADDR:PORT: <error>".
 * Usage: netclient ADDR PORT rtt|send|recv COUNT SECONDS */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 100
#define CHUNK (64 * 1024)
#define MAX_ROUNDS 100000

static char buffer[CHUNK];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static double samples[MAX_ROUNDS];

static int fail(const char *what)
{
    fprintf(stderr, "netclient: %s: %s\n", what, strerror(errno));
    return 1;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_all(int fd, void *data, size_t len)
{
    char *p = data;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int header(int fd, char mode, uint64_t value)
{
    unsigned char h[9];
    h[0] = (unsigned char)mode;
    for (int i = 0; i < 8; i++)
        h[1 + i] = (unsigned char)(value >> (8 * i));
    return write_all(fd, h, sizeof h);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int rtt(int fd, long rounds, double seconds)
{
    int one = 1;
    /* Errors ignored: a kernel without the option still measures. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (header(fd, 'P', 0) != 0)
        return fail("write");
    char byte = 'x';
    for (int i = 0; i < WARMUP; i++)
        if (write_all(fd, &byte, 1) != 0 || read_all(fd, &byte, 1) != 0)
            return fail("warm-up round trip");
    if (rounds > MAX_ROUNDS)
        rounds = MAX_ROUNDS;
    long done = 0;
    double start = now_s();
    while (done < rounds) {
        double before = now_s();
        if (write_all(fd, &byte, 1) != 0 || read_all(fd, &byte, 1) != 0)
            return fail("round trip");
        double after = now_s();
        samples[done++] = after - before;
        if (after - start >= seconds)
            break;
    }
    qsort(samples, (size_t)done, sizeof samples[0], cmp_double);
    double median = done % 2 ? samples[done / 2]
                             : (samples[done / 2 - 1] + samples[done / 2]) / 2;
    printf("net_rtt %.2f us\n", median * 1e6);
    printf("net_rtt_mean %.2f us\n", (now_s() - start) * 1e6 / (double)done);
    printf("net_rtt_rounds %ld rounds\n", done);
    return 0;
}

static int send_bulk(int fd, long mib, double seconds)
{
    uint64_t total = (uint64_t)mib << 20, sent = 0;
    if (header(fd, 'S', total) != 0)
        return fail("write");
    double start = now_s();
    while (sent < total) {
        if (write_all(fd, buffer, CHUNK) != 0)
            return fail("write");
        sent += CHUNK;
        if (now_s() - start >= seconds)
            break;
    }
    if (shutdown(fd, SHUT_WR) != 0)
        return fail("shutdown");
    unsigned char answer[8];
    if (read_all(fd, answer, sizeof answer) != 0)
        return fail("read the server's count");
    double elapsed = now_s() - start;
    uint64_t counted = 0;
    for (int i = 0; i < 8; i++)
        counted |= (uint64_t)answer[i] << (8 * i);
    if (counted != sent) {
        fprintf(stderr, "netclient: sent %llu bytes, the server read %llu\n",
                (unsigned long long)sent, (unsigned long long)counted);
        return 1;
    }
    printf("net_send %.3f MB/s\n", (double)sent / elapsed / 1e6);
    printf("net_send_bytes %llu bytes\n", (unsigned long long)sent);
    return 0;
}

static int recv_bulk(int fd, long mib, double seconds)
{
    uint64_t total = (uint64_t)mib << 20, got = 0;
    double start = now_s();
    if (header(fd, 'R', total) != 0)
        return fail("write");
    while (got < total) {
        ssize_t n = read(fd, buffer, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail("read");
        if (n == 0) {
            fprintf(stderr, "netclient: EOF after %llu bytes\n", (unsigned long long)got);
            return 1;
        }
        got += (uint64_t)n;
        if (now_s() - start >= seconds)
            break;
    }
    double elapsed = now_s() - start;
    printf("net_recv %.3f MB/s\n", (double)got / elapsed / 1e6);
    printf("net_recv_bytes %llu bytes\n", (unsigned long long)got);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: netclient ADDR PORT rtt|send|recv COUNT SECONDS\n");
        return 2;
    }
    const char *addr = argv[1], *mode = argv[3];
    long count = atol(argv[4]);
    double seconds = atof(argv[5]);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1 || count <= 0 || seconds <= 0) {
        fprintf(stderr, "netclient: bad arguments\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return fail("socket");
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        fprintf(stderr, "netclient: connect %s:%s: %s\n", addr, argv[2], strerror(errno));
        return 3;
    }
    int status;
    if (strcmp(mode, "rtt") == 0)
        status = rtt(fd, count, seconds);
    else if (strcmp(mode, "send") == 0)
        status = send_bulk(fd, count, seconds);
    else if (strcmp(mode, "recv") == 0)
        status = recv_bulk(fd, count, seconds);
    else {
        fprintf(stderr, "netclient: unknown mode %s\n", mode);
        return 2;
    }
    close(fd);
    return status;
}
