/*-------------------------------------------------------------------------
 *
 * test_error.c
 *		Unit tests of the shared core's error reporting: a failed
 *		allocation is its own status (SQLSTATE 53200 in the server), errno
 *		values map to statuses, and every status has a name.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sb_error.h"
#include "sb_test.h"

SB_TEST_DEFINE_COUNTERS;

static void
test_oom(void)
{
	SbError		err;

	sb_error_clear(&err);
	SB_CHECK(sb_error_oom(&err) == SB_ERR_NO_MEMORY);
	SB_CHECK(err.status == SB_ERR_NO_MEMORY);
	SB_CHECK(strcmp(err.msg, "out of memory") == 0);
	SB_CHECK(strcmp(sb_status_name(SB_ERR_NO_MEMORY), "out of memory") == 0);

	/* ENOMEM from a system call is the same status */
	sb_error_clear(&err);
	SB_CHECK(sb_error_errno(&err, ENOMEM, "could not map file \"%s\"", "x") == SB_ERR_NO_MEMORY);
	SB_CHECK(strstr(err.msg, "could not map file \"x\"") != NULL);
}

static void
test_errno_statuses(void)
{
	static const struct
	{
		int			e;
		SbStatus	st;
	}			cases[] = {
		{ENOENT, SB_ERR_NOT_FOUND},
		{EEXIST, SB_ERR_EXISTS},
		{EACCES, SB_ERR_PERMISSION},
		{ENOSPC, SB_ERR_NO_SPACE},
		{ENOMEM, SB_ERR_NO_MEMORY},
		{ECONNREFUSED, SB_ERR_NETWORK},
		{EIO, SB_ERR_IO},
	};
	SbError		err;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		sb_error_clear(&err);
		SB_CHECK_MSG(sb_error_errno(&err, cases[i].e, "call") == cases[i].st,
					 "errno %d", cases[i].e);
	}
	for (int st = SB_OK; st <= SB_ERR_NO_MEMORY; st++)
		SB_CHECK_MSG(strcmp(sb_status_name((SbStatus) st), "unknown") != 0,
					 "status %d has a name", st);
}

int
main(void)
{
	test_oom();
	test_errno_statuses();
	return sb_test_summary("test_error");
}
