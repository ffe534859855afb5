/* Boot-to-exit workload: one result line, exit 0. */
#include <stdio.h>

int main(void)
{
    printf("hello 1 line\n");
    return 0;
}
