/* check_ckpt: placeholder suite until the module lands. */
#include <check.h>
#include <stdlib.h>

#include "../../lib/duo.h"

START_TEST(test_placeholder)
{
	ck_assert_int_eq(1, 1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ckpt");
	TCase *tc = tcase_create("placeholder");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, test_placeholder);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
