#include <stdio.h>

int
main(void)
{
	fputs("duo-fmt: not built yet\n", stderr);
	return 2;
}
