#include <stdio.h>

int
main(void)
{
	fputs("duo-get: not built yet\n", stderr);
	return 2;
}
