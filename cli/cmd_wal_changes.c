/*-------------------------------------------------------------------------
 *
 * cmd_wal_changes.c
 *		"pg_safebackup wal-changes --pgdata=DIR --start-lsn=X/Y": a
 *		developer's view of what a delta restore learns from WAL.  It reads
 *		the stopped cluster's pg_control and its pg_wal from the given LSN
 *		to the last checkpoint (core/wal_changes.c) and prints each relation
 *		file with touched pages, then a summary line.  Not in the usage
 *		text: it is for tests and diagnostics.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cluster.h"
#include "manifest.h"
#include "wal_changes.h"

typedef struct WalChangesArgs
{
	const char *pgdata;
	uint64_t	start_lsn;
	unsigned int start_tli;		/* 0: the last checkpoint's */
	uint64_t	end_lsn;		/* 0: the last checkpoint */
} WalChangesArgs;

/* Read a whole file into buf (size bytes expected unless short_ok). */
static SbStatus
read_file(const char *path, unsigned char *buf, size_t size, size_t *got,
		  SbError *err)
{
	int			fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t		done = 0;

	if (fd < 0)
		return sb_error_errno(err, errno, "could not open file \"%s\"", path);
	while (done < size)
	{
		ssize_t		n = read(fd, buf + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			int			save = errno;

			close(fd);
			if (n == 0)
				break;
			return sb_error_errno(err, save, "could not read file \"%s\"", path);
		}
		done += (size_t) n;
	}
	close(fd);
	*got = done;
	return SB_OK;
}

/* The segment read last from a data directory's pg_wal. */
typedef struct PgWalReader
{
	const char *pgdata;
	unsigned char *buf;			/* a segment's size */
	size_t		size;
	char		name[SB_WAL_SEG_NAME_LEN + 1];	/* what buf holds */
} PgWalReader;

/* an SbWalSegmentReader: whole segments */
static SbStatus
read_pg_wal_segment(void *arg, const char *walname, size_t need,
					const unsigned char **seg, size_t *avail, SbError *err)
{
	PgWalReader *rd = arg;
	char		path[SB_PATH_MAX];
	size_t		got;
	SbStatus	rc;

	(void) need;
	if (strcmp(rd->name, walname) != 0)
	{
		rd->name[0] = '\0';
		snprintf(path, sizeof(path), "%s/pg_wal/%s", rd->pgdata, walname);
		rc = read_file(path, rd->buf, rd->size, &got, err);
		if (rc == SB_OK && got != rd->size)
			return sb_error_set(err, SB_ERR_CORRUPT, "file \"%s\" is too short", path);
		if (rc != SB_OK)
			return rc;
		snprintf(rd->name, sizeof(rd->name), "%s", walname);
	}
	*seg = rd->buf;
	*avail = rd->size;
	return SB_OK;
}

static void
print_file(const SbWalChanges *ch, const SbControlInfo *ci, const char *rel)
{
	uint32_t   *pages;
	uint32_t	n;

	switch (sb_wal_changes_file(ch, rel, ci->blcksz, ci->relseg_size, &pages, &n))
	{
		case SB_WAL_FILE_NOT_RELATION:
		case SB_WAL_FILE_UNTOUCHED:
			return;
		case SB_WAL_FILE_WHOLE:
			printf("%s whole\n", rel);
			return;
		case SB_WAL_FILE_PAGES:
			break;
	}
	printf("%s pages", rel);
	for (uint32_t i = 0; i < n; i++)
		printf("%s%" PRIu32, i ? "," : " ", pages[i]);
	putchar('\n');
	free(pages);
}

/* Print every file under pgdata/rel (recursively, symbolic links followed). */
static void
walk(const SbWalChanges *ch, const SbControlInfo *ci, const char *pgdata,
	 const char *rel)
{
	char		path[SB_PATH_MAX];
	DIR		   *dir;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/%s", pgdata, rel);
	if ((dir = opendir(path)) == NULL)
		return;
	while ((de = readdir(dir)) != NULL)
	{
		char		sub[SB_PATH_MAX];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name);
		snprintf(path, sizeof(path), "%s/%s", pgdata, sub);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			walk(ch, ci, pgdata, sub);
		else
			print_file(ch, ci, sub);
	}
	closedir(dir);
}

/* The target's timeline history, from pg_wal/<tli>.history. */
static SbStatus
load_history(const char *pgdata, unsigned int tli, SbTimelineEntry **hist,
			 int *nhist, SbError *err)
{
	char		path[SB_PATH_MAX];
	unsigned char buf[65536];
	size_t		got;
	SbStatus	rc;

	*hist = NULL;
	*nhist = 0;
	if (tli <= 1)
		return SB_OK;
	snprintf(path, sizeof(path), "%s/pg_wal/%08X.history", pgdata, tli);
	rc = read_file(path, buf, sizeof(buf), &got, err);
	if (rc != SB_OK)
		return rc;
	return sb_timeline_history_parse((const char *) buf, got, hist, nhist, err);
}

static int
run(const WalChangesArgs *a)
{
	SbControlInfo ci;
	SbWalChangesInput in;
	PgWalReader rd;
	SbWalChanges *ch;
	SbWalChangesStats st;
	SbStatus	rc;
	SbTimelineEntry *hist;
	SbError		err;
	const char *reason;
	struct timespec t0, t1;
	double		secs;

	sb_error_clear(&err);
	memset(&in, 0, sizeof(in));
	if (sb_cluster_read_control(a->pgdata, &ci, &err) != SB_OK ||
		load_history(a->pgdata, ci.checkpoint_tli, &hist, &in.nhistory, &err) != SB_OK)
	{
		sb_cli_report(&err);
		return SB_EXIT_ERROR;
	}
	in.segsize = ci.xlog_seg_size;
	in.xlog_blcksz = ci.xlog_blcksz;
	in.system_identifier = ci.system_identifier;
	in.start_lsn = a->start_lsn;
	in.start_tli = a->start_tli ? a->start_tli : ci.checkpoint_tli;
	in.end_lsn = a->end_lsn ? a->end_lsn : ci.checkpoint;
	in.target_tli = ci.checkpoint_tli;
	if (a->end_lsn == 0 && ci.min_recovery_point > ci.checkpoint)
	{
		/* a standby: replay went past its last restartpoint */
		in.end_lsn = ci.min_recovery_point;
		in.end_exclusive = true;
	}
	if (ci.state != SB_DB_SHUTDOWNED && ci.state != SB_DB_SHUTDOWNED_IN_RECOVERY)
		fprintf(stderr, "%s: warning: the cluster was not shut down cleanly; "
				"pages written after its last checkpoint are not listed\n", progname);
	in.history = hist;
	memset(&rd, 0, sizeof(rd));
	rd.pgdata = a->pgdata;
	rd.size = ci.xlog_seg_size;
	rd.buf = malloc(rd.size);
	if (rd.buf == NULL)
	{
		free(hist);
		sb_error_oom(&err);
		sb_cli_report(&err);
		return SB_EXIT_ERROR;
	}
	in.read_segment = read_pg_wal_segment;
	in.read_arg = &rd;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = sb_wal_changes_collect(&in, &ch, &err);
	free(rd.buf);
	if (rc != SB_OK)
	{
		free(hist);
		sb_cli_report(&err);
		return SB_EXIT_ERROR;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(hist);
	secs = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (!sb_wal_changes_usable(ch, &reason))
	{
		sb_cli_error("the WAL cannot tell which blocks changed: %s", reason);
		sb_wal_changes_free(ch);
		return SB_EXIT_ERROR;
	}
	walk(ch, &ci, a->pgdata, "global");
	walk(ch, &ci, a->pgdata, "base");
	walk(ch, &ci, a->pgdata, "pg_tblspc");
	sb_wal_changes_stats(ch, &st);
	printf("summary: records %" PRIu64 ", block references %" PRIu64
		   ", WAL bytes %" PRIu64 ", segments %d, %.3f s%s\n",
		   st.records, st.block_refs, st.wal_bytes, st.segments, secs,
		   st.hints_off_seen ? ", wal_log_hints turned off" : "");
	sb_wal_changes_free(ch);
	return SB_EXIT_OK;
}

static bool
option_value(const char *arg, const char *name, const char **value)
{
	size_t		len = strlen(name);

	if (strncmp(arg, name, len) != 0 || arg[len] != '=')
		return false;
	*value = arg + len + 1;
	return true;
}

int
sb_cmd_wal_changes(int argc, char **argv)
{
	WalChangesArgs a = {0};
	bool		have_start = false;

	for (int i = 1; i < argc; i++)
	{
		const char *v;

		if (option_value(argv[i], "--pgdata", &v))
			a.pgdata = v;
		else if (option_value(argv[i], "--start-lsn", &v) && sb_lsn_parse(v, &a.start_lsn))
			have_start = true;
		else if (option_value(argv[i], "--end-lsn", &v) && sb_lsn_parse(v, &a.end_lsn))
			;
		else if (option_value(argv[i], "--start-timeline", &v) && atoi(v) > 0)
			a.start_tli = (unsigned int) atoi(v);
		else
		{
			sb_cli_error("invalid argument \"%s\" for command \"wal-changes\"", argv[i]);
			fprintf(stderr, "Usage: %s wal-changes --pgdata=DIR --start-lsn=X/Y "
					"[--start-timeline=N] [--end-lsn=X/Y]\n", progname);
			return SB_EXIT_USAGE;
		}
	}
	if (a.pgdata == NULL || !have_start)
	{
		sb_cli_error("wal-changes needs --pgdata and --start-lsn");
		return SB_EXIT_USAGE;
	}
	return run(&a);
}
