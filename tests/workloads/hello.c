/* The smallest workload: one line on stdout, exit 0. */
#include <stdio.h>

int main(void)
{
    printf("Hello from lamina!\n");
    return 0;
}
