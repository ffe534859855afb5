/* execve of itself with N arguments of 1,000 bytes (default 1,500: 1.5 MB,
 * under Linux's 2 MiB limit). The child prints how many it got; a refused
 * execve prints its errno. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 2) {
        printf("child got %d args\n", argc);
        return 0;
    }
    int n = argc > 1 ? atoi(argv[1]) : 1500;
    size_t len = 1000;
    char **args = calloc((size_t)n + 2, sizeof *args);
    if (!args)
        return 2;
    args[0] = argv[0];
    for (int i = 1; i <= n; i++) {
        args[i] = malloc(len);
        if (!args[i])
            return 2;
        memset(args[i], 'a', len - 1);
        args[i][len - 1] = 0;
    }
    execv(argv[0], args);
    printf("execv: %s\n", strerror(errno));
    return 1;
}
