/* The program the fork+execve row executes: /bin/true, nothing printed. */
int main(void)
{
    return 0;
}
