/*-------------------------------------------------------------------------
 *
 * wal_changes_speed.c
 *		Measure how fast core/wal_changes.c reads WAL: the segments of a
 *		stopped data directory's pg_wal, from a start LSN to its last
 *		checkpoint, are read into memory once, then collected five times;
 *		the figure is CPU time and MB of WAL per second on one core.
 *
 *   make bench/wal_changes_speed
 *   bench/wal_changes_speed PGDATA START_LSN [START_TIMELINE [CERTAIN_LSN]]
 *
 * CERTAIN_LSN is what a delta restore passes as the backup's stop LSN: the
 * blocks of records from there on are also kept in the "later" set.
 *
 *-------------------------------------------------------------------------
 */
#include "cluster.h"
#include "manifest.h"
#include "wal_changes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SEGMENTS 4096

/* The segments read so far, kept in memory. */
typedef struct SegmentCache
{
	const char *pgdata;
	size_t		segsize;
	int			n;
	char		names[MAX_SEGMENTS][SB_WAL_SEG_NAME_LEN + 1];
	unsigned char *data[MAX_SEGMENTS];
} SegmentCache;

static SbStatus
cached_segment(void *arg, const char *walname, size_t need,
			   const unsigned char **seg, size_t *avail, SbError *err)
{
	SegmentCache *c = arg;
	char		path[4096];
	FILE	   *f;
	size_t		size = c->segsize;

	(void) need;
	*avail = size;
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->names[i], walname) == 0)
		{
			*seg = c->data[i];
			return SB_OK;
		}
	snprintf(path, sizeof(path), "%s/pg_wal/%s", c->pgdata, walname);
	if (c->n == MAX_SEGMENTS || (f = fopen(path, "rb")) == NULL)
		return sb_error_set(err, SB_ERR_NOT_FOUND, "no segment %s", walname);
	c->data[c->n] = malloc(size);
	if (c->data[c->n] == NULL || fread(c->data[c->n], 1, size, f) != size)
	{
		fclose(f);
		free(c->data[c->n]);
		return sb_error_set(err, SB_ERR_IO, "could not read %s", path);
	}
	fclose(f);
	strcpy(c->names[c->n], walname);
	*seg = c->data[c->n++];
	return SB_OK;
}

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static SegmentCache cache;
	SbControlInfo ci;
	SbWalChangesInput in;
	SbWalChanges *ch;
	SbWalChangesStats st;
	SbError		err;
	const char *reason;

	if (argc < 3)
	{
		fprintf(stderr, "usage: %s PGDATA START_LSN [START_TIMELINE [CERTAIN_LSN]]\n", argv[0]);
		return 2;
	}
	memset(&in, 0, sizeof(in));
	if (sb_cluster_read_control(argv[1], &ci, &err) != SB_OK ||
		!sb_lsn_parse(argv[2], &in.start_lsn))
	{
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	cache.pgdata = argv[1];
	cache.segsize = ci.xlog_seg_size;
	in.segsize = ci.xlog_seg_size;
	in.xlog_blcksz = ci.xlog_blcksz;
	in.system_identifier = ci.system_identifier;
	in.start_tli = argc > 3 ? (unsigned int) atoi(argv[3]) : ci.checkpoint_tli;
	in.end_lsn = ci.checkpoint;
	if (argc > 4 && !sb_lsn_parse(argv[4], &in.certain_lsn))
	{
		fprintf(stderr, "invalid LSN \"%s\"\n", argv[4]);
		return 1;
	}
	in.target_tli = in.start_tli;
	in.read_segment = cached_segment;
	in.read_arg = &cache;
	for (int round = 0; round <= 5; round++)
	{
		double		t0 = cpu_seconds();
		double		secs;

		if (sb_wal_changes_collect(&in, &ch, &err) != SB_OK)
			return 1;
		secs = cpu_seconds() - t0;
		if (!sb_wal_changes_usable(ch, &reason))
		{
			fprintf(stderr, "not usable: %s\n", reason);
			return 1;
		}
		sb_wal_changes_stats(ch, &st);
		if (round > 0)			/* the first round reads the files */
			printf("%.1f MB of WAL, %" PRIu64 " records, %" PRIu64
				   " block references: %.3f s CPU, %.0f MB/s\n",
				   st.wal_bytes / 1e6, st.records, st.block_refs, secs,
				   st.wal_bytes / 1e6 / secs);
		sb_wal_changes_free(ch);
	}
	return 0;
}
