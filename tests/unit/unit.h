/*
 * unit.h: the smallest test harness that does the job.
 *
 * A test file defines functions "static void test_x(void)" that use
 * CHECK() and CHECK_STR(), and a main() that calls UNIT_RUN(test_x) for
 * each and returns UNIT_DONE().  A failed check prints file:line and the
 * expression and the test goes on; UNIT_DONE() prints
 * "<program>: N passed, N failed" and returns non-zero on any failure.
 * A "test" is one CHECK, so the counts say how many assertions held.
 */
#ifndef GHP_UNIT_H
#define GHP_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed;
static const char *unit_current = "";

#define CHECK(cond) do {						\
	if (cond)							\
		unit_passed++;						\
	else {								\
		unit_failed++;						\
		fprintf(stderr, "%s:%d: %s: check failed: %s\n",	\
		    __FILE__, __LINE__, unit_current, #cond);		\
	}								\
} while (0)

#define CHECK_STR(a, b) do {						\
	const char *unit_a = (a), *unit_b = (b);			\
	if (unit_a != NULL && unit_b != NULL &&				\
	    strcmp(unit_a, unit_b) == 0)				\
		unit_passed++;						\
	else {								\
		unit_failed++;						\
		fprintf(stderr, "%s:%d: %s: \"%s\" != \"%s\"\n",	\
		    __FILE__, __LINE__, unit_current,			\
		    unit_a ? unit_a : "(null)",				\
		    unit_b ? unit_b : "(null)");			\
	}								\
} while (0)

#define UNIT_RUN(fn) do {						\
	unit_current = #fn;						\
	fn();								\
} while (0)

#define UNIT_DONE(name) (						\
	printf("%s: %d passed, %d failed\n", (name), unit_passed,	\
	    unit_failed), unit_failed != 0)

#endif /* GHP_UNIT_H */
