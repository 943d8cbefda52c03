#include <stdio.h>

int
main(void)
{
	fputs("duo-sign: not built yet\n", stderr);
	return 2;
}
