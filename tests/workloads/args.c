/*
 * Prints argc, every argv entry, and for each argument that names an
 * environment variable (a valid identifier), its value or "(unset)".
 * Each value is bracketed so empty strings and spaces stay visible.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

static int is_identifier(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=[%s]\n", i, argv[i]);
    for (int i = 1; i < argc; i++) {
        if (!is_identifier(argv[i]))
            continue;
        const char *value = getenv(argv[i]);
        if (value)
            printf("env %s=[%s]\n", argv[i], value);
        else
            printf("env %s (unset)\n", argv[i]);
    }
    return 0;
}
