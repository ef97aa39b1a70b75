/*-------------------------------------------------------------------------
 *
 * cmd_restore.c
 *		pg_safebackup restore: restore a backup into a new data directory,
 *		configured for archive recovery through pg_safebackup archive-get.
 *
 * The restore_command written into the restored postgresql.auto.conf runs
 * this very binary (its absolute path) with the repository options in
 * effect, so the restored server fetches WAL from the same repository and
 * stanza without any further setup.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "manifest.h"
#include "restore.h"
#include "stanza.h"
#include "storage.h"

typedef struct ProgressState
{
	bool		tty;			/* stderr is a terminal: one updating line */
	bool		lines;			/* -P without a terminal: a line a second */
	double		last_line;		/* when the last such line was written */
	bool		shown;			/* a progress line is on the screen */
	int			last_len;		/* its length, to blank a longer old one */
	const char *target_dir;
	SbRestoreResult *result;
	struct timespec start;
} ProgressState;

static double
seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double) (now.tv_sec - start->tv_sec) +
		(double) (now.tv_nsec - start->tv_nsec) / 1e9;
}

static void
show_progress(uint64_t bytes_done, uint64_t bytes_total, int files_done,
			  int files_total, void *arg)
{
	ProgressState *p = arg;
	char		done[32];
	char		total[32];
	char		eta[32];
	char		line[256];
	double		elapsed;
	double		rate;
	int			pct;
	int			len;

	if (!p->tty && !p->lines)
		return;
	elapsed = seconds_since(&p->start);
	/* without a terminal: the first, the last and one a second */
	if (p->lines && p->shown && files_done < files_total &&
		elapsed - p->last_line < 1.0)
		return;
	p->last_line = elapsed;
	if (!p->shown)
		fprintf(stderr, "%s: restoring backup %s into \"%s\"\n", progname,
				p->result->label, p->target_dir);

	rate = elapsed > 0.05 ? (double) bytes_done / elapsed : 0.0;
	if (bytes_done > bytes_total)
		bytes_done = bytes_total;
	pct = bytes_total > 0 ? (int) (100.0 * (double) bytes_done / (double) bytes_total) : 100;
	if (rate > 0.0 && bytes_done > 0)
	{
		long		s = (long) ((double) (bytes_total - bytes_done) / rate + 0.5);

		snprintf(eta, sizeof(eta), "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
	}
	else
		snprintf(eta, sizeof(eta), "--:--:--");
	sb_cli_format_size(bytes_done, done, sizeof(done));
	sb_cli_format_size(bytes_total, total, sizeof(total));
	len = snprintf(line, sizeof(line), "%s of %s (%d%%), %.1f MB/s, ETA %s, %d of %d files",
				   done, total, pct, rate / (1024.0 * 1024.0), eta,
				   files_done, files_total);
	if (p->tty)
		fprintf(stderr, "\r%s%*s", line, p->last_len > len ? p->last_len - len : 0, "");
	else
		fprintf(stderr, "%s: %s\n", progname, line);
	fflush(stderr);
	p->last_len = len;
	p->shown = true;
}

/* Where each tablespace goes: said on stdout, unless -q. */
static void
show_notice(const char *msg, void *arg)
{
	if (sb_cli_verbosity < 0)
		return;
	printf("%s\n", msg);
	fflush(stdout);
}

/*
 * Append arg to buf for /bin/sh, as PostgreSQL runs restore_command: in
 * single quotes unless it is made of harmless characters only, with every
 * '%' doubled, since PostgreSQL replaces %f, %p and %r in the command.
 */
static void
append_shell_arg(char *buf, size_t *pos, const char *arg)
{
	const char *s;
	bool		plain = (*arg != '\0');

	for (s = arg; *s && plain; s++)
		if (!(isalnum((unsigned char) *s) || strchr("_-./=:,+@%", *s) != NULL))
			plain = false;

	if (*pos > 0)
		buf[(*pos)++] = ' ';
	if (!plain)
		buf[(*pos)++] = '\'';
	for (s = arg; *s; s++)
	{
		if (*s == '%')
			buf[(*pos)++] = '%';
		if (*s == '\'')
		{
			memcpy(buf + *pos, "'\\''", 4);
			*pos += 4;
			continue;
		}
		buf[(*pos)++] = *s;
	}
	if (!plain)
		buf[(*pos)++] = '\'';
	buf[*pos] = '\0';
}

/* The settings restore_command gets from the repositories' values */
static const char *const kept_names[] = {"repo_type", "repo_path", "stanza"};

/* malloc'd restore_command, or NULL after reporting why. */
static char *
compose_restore_command(SbCliOptions *opts)
{
	char		exe[PATH_MAX];
	char		arg[SB_PATH_MAX + 32];
	ssize_t		n;
	size_t		cap;
	size_t		pos = 0;
	char	   *buf;
	int			i;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
	{
		sb_cli_error("could not find the path of this program: %s", strerror(errno));
		return NULL;
	}
	exe[n] = '\0';

	/* every character may become four ('\''), plus fixed text */
	cap = 4 * (strlen(exe) + SB_REPO_MAX * (SB_PATH_MAX + 128) +
			   (size_t) opts->nconfigs * (SB_PATH_MAX + 16)) + 256;
	for (i = 0; i < opts->nrepo_args; i++)
		cap += 4 * strlen(opts->repo_args[i]) + 4;
	buf = malloc(cap);
	if (buf == NULL)
	{
		sb_cli_error("out of memory");
		return NULL;
	}
	buf[0] = '\0';
	append_shell_arg(buf, &pos, exe);
	pos += sprintf(buf + pos, " archive-get %%f \"%%p\"");
	/* every configured repository: archive-get looks in each in order */
	for (int r = 1; r <= SB_REPO_MAX; r++)
	{
		const SbRepoConfig *repo = &opts->repos[r - 1];

		if (!sb_repo_configured(repo, r))
			continue;
		for (int k = 0; k < 3; k++)
		{
			char		name[96];

			sb_setting_repo_name(sb_setting_at(sb_setting_index(kept_names[k]), NULL),
								 r, name, sizeof(name));
			for (char *c = name; *c; c++)
				if (*c == '_')
					*c = '-';
			snprintf(arg, sizeof(arg), "--%s=%s", name,
					 k == 0 ? sb_repo_type_name(repo->repo_type) :
					 k == 1 ? repo->repo_path : repo->stanza);
			append_shell_arg(buf, &pos, arg);
		}
	}
	for (i = 0; i < opts->nconfigs; i++)
	{
		snprintf(arg, sizeof(arg), "--config=%s", opts->configs[i]);
		append_shell_arg(buf, &pos, arg);
	}
	/* the other repository options given on the command line (sftp, cipher...) */
	for (i = 0; i < opts->nrepo_args; i++)
	{
		const char *a = opts->repo_args[i];
		char		name[96];
		int			repo = 1;
		int			k = -1;

		snprintf(name, sizeof(name), "%.*s", (int) strcspn(a + 2, "="), a + 2);
		k = sb_setting_lookup(name, &repo);
		if (k == sb_setting_index("repo_type") || k == sb_setting_index("repo_path") ||
			k == sb_setting_index("stanza"))
			continue;
		append_shell_arg(buf, &pos, a);
	}
	return buf;
}

/* Make opts->target_dir absolute (the current directory may change later). */
static bool
absolute_target_dir(SbCliOptions *opts)
{
	char		cwd[PATH_MAX];
	char		abs[SB_PATH_MAX];

	if (opts->target_dir[0] == '/')
		return true;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
	{
		sb_cli_error("could not get the current directory: %s", strerror(errno));
		return false;
	}
	if (snprintf(abs, sizeof(abs), "%s/%s", cwd, opts->target_dir) >= (int) sizeof(abs))
	{
		sb_cli_error("target directory path is too long");
		return false;
	}
	strcpy(opts->target_dir, abs);
	return true;
}

/* The default of --jobs: one per core, at most 4. */
static int
default_jobs(void)
{
	long		cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (cores < 1)
		return 1;
	return cores > 4 ? 4 : (int) cores;
}

/*
 * Say which recovery settings of an earlier restore were removed from the
 * backup's postgresql.auto.conf: they would otherwise have steered this
 * recovery.
 */
static void
report_removed_settings(const SbRestoreResult *result)
{
	const char *line = result->removed;
	int			shown = 0;

	if (result->nremoved == 0)
		return;
	printf(result->nremoved == 1 ?
		   "removed %d earlier recovery setting from postgresql.auto.conf:\n" :
		   "removed %d earlier recovery settings from postgresql.auto.conf:\n",
		   result->nremoved);
	while (*line)
	{
		const char *nl = strchr(line, '\n');
		int			len = nl ? (int) (nl - line) : (int) strlen(line);

		printf("    %.*s\n", len, line);
		shown++;
		line += len + (nl ? 1 : 0);
	}
	if (shown < result->nremoved)
		printf("    (and %d more)\n", result->nremoved - shown);
}

/*
 * Open the repository to restore from: the one --repo names, or the first
 * configured one, in order, that has the backup ro asks for (--backup, or
 * one that reaches the target).  ro->stanza becomes its stanza.  NULL
 * after reporting why.
 */
static SbStorage *
open_chosen_repository(SbCliOptions *opts, SbRestoreOptions *ro)
{
	int			nconfigured = 0;

	for (int r = 1; r <= SB_REPO_MAX; r++)
		nconfigured += sb_repo_configured(&opts->repos[r - 1], r);
	if (opts->repo_index > 0 || nconfigured == 1)
	{
		/* one repository: sb_restore() says what is wrong with it */
		ro->stanza = opts->repo.stanza;
		return sb_cli_open_repository(opts);
	}
	for (int r = 1; r <= SB_REPO_MAX; r++)
	{
		SbStorage  *st;
		SbStanzaInfo stanza;
		SbManifest	m;
		SbError		err;
		SbStatus	rc;

		if (!sb_repo_configured(&opts->repos[r - 1], r) ||
			!sb_cli_select_repo(opts, r))
			continue;
		sb_config_default_repo_path(&opts->repo);
		ro->stanza = opts->repo.stanza;
		sb_error_clear(&err);
		rc = sb_storage_create(&opts->repo, &st, &err);
		if (rc != SB_OK)
		{
			sb_cli_info("repository %d: %s", r, err.msg);
			continue;
		}
		rc = sb_storage_open(st, &err);
		if (rc != SB_OK)
		{
			sb_cli_info("repository %d: %s", r, err.msg);
			sb_storage_free(st);
			continue;
		}
		rc = sb_stanza_load(st, ro->stanza, &stanza, &err);
		if (rc == SB_OK)
		{
			sb_manifest_init(&m);
			rc = sb_restore_choose_backup(st, ro, &m, &err);
			sb_manifest_free(&m);
		}
		if (rc == SB_OK)
		{
			sb_cli_info("restoring from repository %d", r);
			return st;
		}
		sb_cli_info("repository %d: %s", r, err.msg);
		sb_cli_close_repository(st);
	}
	sb_cli_error("no configured repository has a backup to restore");
	fprintf(stderr, "%s: hint: The messages above say what each repository lacks; --repo=N restores from repository N only.\n",
			progname);
	return NULL;
}

int
sb_cmd_restore(SbCliOptions *opts)
{
	SbRestoreOptions ro;
	SbRestoreResult result;
	ProgressState ps;
	SbStorage  *st;
	SbError		err;
	SbStatus	rc;
	char	   *restore_command;
	double		elapsed;

	if (opts->nargs != 0)
	{
		sb_cli_error("restore takes no argument (found \"%s\")", opts->args[0]);
		fprintf(stderr, "Usage: %s restore --target-dir=DIR [OPTION]...\n", progname);
		return SB_EXIT_USAGE;
	}
	if (opts->target_dir[0] == '\0')
	{
		sb_cli_error("no target directory given");
		fprintf(stderr, "%s: hint: Use --target-dir=DIR, a new or empty directory.\n", progname);
		return SB_EXIT_USAGE;
	}
	if (!sb_cli_require_repo(opts))
		return SB_EXIT_USAGE;
	if (!absolute_target_dir(opts))
		return SB_EXIT_ERROR;

	if (opts->target_kind == SB_TARGET_TIME)
	{
		int64_t		epoch;
		int			usec;
		bool		zone;

		if (sb_parse_target_time(opts->target_value, &epoch, &usec, &zone) && !zone)
			sb_cli_info("recovery target time \"%s\" has no time zone: it is taken as UTC",
						opts->target_value);
	}
	if (geteuid() == 0)
		sb_cli_info("running as root: give the restored files to the server's operating system user before starting it");

	restore_command = compose_restore_command(opts);
	if (restore_command == NULL)
		return SB_EXIT_ERROR;
	sb_cli_verbose("restore_command will be: %s", restore_command);
	sb_cli_verbose("restoring with %d parallel jobs", opts->jobs > 0 ? opts->jobs : default_jobs());

	memset(&ro, 0, sizeof(ro));
	ro.stanza = opts->repo.stanza;
	ro.target_dir = opts->target_dir;
	ro.backup_label = opts->backup_label;
	ro.target_kind = opts->target_kind;
	ro.target_value = opts->target_value;
	ro.target_action = opts->target_action;
	ro.target_timeline = opts->target_timeline;
	ro.standby = opts->standby;
	ro.delta = opts->delta;
	ro.delta_checksum = opts->delta_checksum;
	ro.jobs = opts->jobs > 0 ? opts->jobs : default_jobs();
	ro.ntablespace_map = opts->ntablespace_map;
	ro.tablespace_map = opts->tablespace_map;
	ro.accept_tablespace_locations = opts->accept_tablespace_locations;
	ro.notice = show_notice;
	ro.restore_command = restore_command;
	ro.result = &result;

	memset(&ps, 0, sizeof(ps));
	ps.tty = isatty(STDERR_FILENO) && sb_cli_verbosity >= 0;
	ps.lines = opts->progress && !ps.tty;
	ps.target_dir = opts->target_dir;
	ps.result = &result;
	clock_gettime(CLOCK_MONOTONIC, &ps.start);

	st = open_chosen_repository(opts, &ro);
	if (st == NULL)
	{
		free(restore_command);
		return SB_EXIT_ERROR;
	}
	sb_error_clear(&err);
	rc = sb_restore(st, &ro, show_progress, &ps, &err);
	sb_cli_close_repository(st);
	free(restore_command);
	if (ps.shown && ps.tty)
		fputc('\n', stderr);

	if (rc != SB_OK)
	{
		sb_cli_report(&err);
		return sb_cli_exit_code(rc);
	}
	report_removed_settings(&result);
	if (sb_cli_verbosity < 0)
		return SB_EXIT_OK;
	elapsed = seconds_since(&ps.start);
	printf(result.files == 1 ?
		   "restored backup %s: %d file, %.1f MB in %.1f s\n" :
		   "restored backup %s: %d files, %.1f MB in %.1f s\n", result.label,
		   result.files, (double) result.bytes / (1024.0 * 1024.0), elapsed);
	if (result.files_in_parts > 0)
		printf(result.files_in_parts == 1 ?
			   "%d large file written in %d parts shared by %d jobs\n" :
			   "%d large files written in %d parts shared by %d jobs\n",
			   result.files_in_parts, result.file_parts, ro.jobs);
	if (result.files_rebuilt > 0)
		printf(result.files_rebuilt == 1 ?
			   "%d file stored by changed blocks rebuilt from its chain and checked block by block\n" :
			   "%d files stored by changed blocks rebuilt from their chain and checked block by block\n",
			   result.files_rebuilt);
	if (opts->delta)
		printf("delta: %d files (%.1f MB) already matched the backup and were kept, %d written, %d not in the backup removed\n",
			   result.files_kept, (double) result.bytes_kept / (1024.0 * 1024.0),
			   result.files - result.files_kept, result.files_removed);
	if (opts->delta && result.delta_wal_used)
		printf(result.blocks_fetched == 1 ?
			   "delta: the blocks to compare come from the WAL: %s; %.1f MB of local files read, %" PRIu64 " block fetched by ranged reads, %" PRIu64 " not compared (changed after the backup ended)\n" :
			   "delta: the blocks to compare come from the WAL: %s; %.1f MB of local files read, %" PRIu64 " blocks fetched by ranged reads, %" PRIu64 " not compared (changed after the backup ended)\n",
			   result.delta_wal_note,
			   (double) result.bytes_delta_read / (1024.0 * 1024.0),
			   result.blocks_fetched, result.blocks_unread);
	else if (opts->delta && result.delta_wal_note[0])
		printf("delta: files compared by content, not by the WAL's change list: %s\n",
			   result.delta_wal_note);
	if (opts->delta && result.files_patched > 0)
		printf(result.files_patched == 1 ?
			   "delta: %d changed file updated in place: %" PRIu64 " of its %" PRIu64 " bytes written\n" :
			   "delta: %d changed files updated in place: %" PRIu64 " of their %" PRIu64 " bytes written\n",
			   result.files_patched, result.bytes_patch_written,
			   result.bytes_patched);
	if (opts->standby)
		printf("standby.signal written: the server will run as a standby replaying the archive (recovery_target_timeline '%s')\n",
			   opts->target_timeline[0] ? opts->target_timeline : "latest");
	else
		printf("recovery.signal written: recovery_target_timeline '%s'\n",
			   opts->target_timeline[0] ? opts->target_timeline : "latest");
	return SB_EXIT_OK;
}
