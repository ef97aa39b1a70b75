/*-------------------------------------------------------------------------
 *
 * sb_test.h
 *		A minimal unit-test harness for the shared core (no server needed).
 *
 * SB_CHECK records a failure and continues; SB_REQUIRE returns from the
 * current test function.  sb_test_summary() prints the closing line
 * "N passed, N failed" and returns the exit code.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_TEST_H
#define SB_TEST_H

#include <stdio.h>
#include <string.h>

extern int	sb_test_passed;
extern int	sb_test_failed;

#define SB_CHECK(cond) \
	do { \
		if (cond) \
			sb_test_passed++; \
		else \
		{ \
			sb_test_failed++; \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		} \
	} while (0)

#define SB_CHECK_MSG(cond, ...) \
	do { \
		if (cond) \
			sb_test_passed++; \
		else \
		{ \
			sb_test_failed++; \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
		} \
	} while (0)

#define SB_REQUIRE(cond) \
	do { \
		int			sb_ok_ = (cond) ? 1 : 0; \
		SB_CHECK(sb_ok_); \
		if (!sb_ok_) \
			return; \
	} while (0)

/* Define the counters once, in the file holding main(). */
#define SB_TEST_DEFINE_COUNTERS int sb_test_passed = 0; int sb_test_failed = 0

static inline int
sb_test_summary(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, sb_test_passed, sb_test_failed);
	return sb_test_failed == 0 ? 0 : 1;
}

/*
 * The repository type of a driver, by name (-1 when there is none): tests
 * name drivers, the code asks for capabilities.
 */
#include "sb_config.h"
static inline SbRepoType
sb_test_repo_type(const char *name)
{
	SbRepoType	t = -1;

	(void) sb_repo_type_parse(name, &t);
	return t;
}

#endif							/* SB_TEST_H */
