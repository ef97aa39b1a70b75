/*-------------------------------------------------------------------------
 *
 * repo_behind_sql.c
 *		SQL function safebackup_archive_repos(): one row per repository
 *		WAL is archived into, with whether it fails or is behind and what
 *		it misses (safebackup.archive_repo_hold, repo_behind.h).
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "repo_behind.h"
#include "shmem.h"
#include "wal_session.h"

PG_FUNCTION_INFO_V1(safebackup_archive_repos);

#define REPOS_COLS 10

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s[0] == '\0');
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

static Datum
time_or_null(TimestampTz t, bool *isnull)
{
	*isnull = (t == 0);
	return *isnull ? (Datum) 0 : TimestampTzGetDatum(t);
}

Datum
safebackup_archive_repos(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	static SbWalRepos all;

	sb_shmem_require();
	InitMaterializedSRF(fcinfo, 0);
	sb_wal_repos_load(&all);

	for (int r = 1; r <= SB_REPO_MAX; r++)
	{
		SbRepoBehindInfo info;
		Datum		values[REPOS_COLS];
		bool		nulls[REPOS_COLS];
		bool		configured = false;
		int			c = 0;

		for (int k = 0; k < all.n; k++)
			configured |= (all.index[k] == r);
		sb_behind_info(r, &info);
		if (!configured && !info.behind)
			continue;
		memset(nulls, 0, sizeof(nulls));
		values[c++] = Int32GetDatum(r);
		values[c++] = BoolGetDatum(configured);
		values[c++] = CStringGetTextDatum(info.behind ? "behind" :
										  info.failing_since != 0 ? "failing" :
										  "current");
		values[c] = time_or_null(info.failing_since, &nulls[c]);
		c++;
		values[c++] = Int64GetDatum(info.missed);
		values[c] = text_or_null(info.oldest, &nulls[c]);
		c++;
		values[c] = text_or_null(info.newest, &nulls[c]);
		c++;
		values[c++] = Int64GetDatum(info.caught_up);
		values[c] = text_or_null(info.last_error, &nulls[c]);
		c++;
		values[c] = time_or_null(info.last_error_time, &nulls[c]);
		c++;
		Assert(c == REPOS_COLS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
