/*-------------------------------------------------------------------------
 *
 * cmd_info.c
 *		pg_safebackup info: what the repository holds for a stanza, read
 *		from the repository alone (no server needed).
 *
 * Shows the stanza (system identifier, PostgreSQL version, format), its
 * complete backups from their manifests, and the WAL range stored on each
 * timeline, as text or as JSON (--output=json).
 *
 *-------------------------------------------------------------------------
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "temp_leftovers.h"
#include "manifest.h"
#include "repo_info.h"
#include "stanza.h"
#include "storage.h"

/* What info shows of one backup; the file list is not kept. */
typedef struct BackupSummary
{
	char		label[SB_LABEL_LEN];
	bool		ok;				/* manifest read; otherwise error says why */
	SbError		error;
	char		type[16];
	int64_t		start_time;
	int64_t		stop_time;
	char		start_lsn[SB_LSN_LEN];
	char		stop_lsn[SB_LSN_LEN];
	char		start_wal[SB_WALNAME_MAX];
	char		stop_wal[SB_WALNAME_MAX];
	unsigned int timeline;
	char		backup_from[16];	/* "primary" or "standby" */
	uint64_t	database_size;
	uint64_t	stored_size;
	int			nfiles;
	SbCompressType compress_type;
	char		base[SB_LABEL_LEN];	/* "" for a full backup */
	int			nreferenced;	/* files taken from the base's chain */
	uint64_t	nblock_files;	/* stored by their changed pages */
	uint64_t	read_size;		/* read from the data directory, 0: not recorded */
} BackupSummary;

/* "2026-11-23T11:24:37Z" */

static void
print_json(SbCliOptions *opts, const SbStanzaInfo *stanza,
		   const BackupSummary *backups, int nbackups,
		   const SbWalRange *ranges, int nranges, const SbTempLeftovers *temp,
		   SbRepoMode mode)
{
	char		buf[64];
	int			i;

	fputs("{\n", stdout);
	json_key("  ", "stanza", true);
	json_string(opts->repo.stanza);
	json_key("  ", "repo_type", false);
	json_string(sb_repo_type_name(opts->repo.repo_type));
	json_key("  ", "repo_path", false);
	json_string(opts->repo.repo_path);
	json_key("  ", "repository_mode", false);
	json_string(sb_repo_mode_name(mode));
	/* a string: 64-bit identifiers do not survive JSON parsers using doubles */
	json_key("  ", "system_identifier", false);
	snprintf(buf, sizeof(buf), "%" PRIu64, stanza->system_identifier);
	json_string(buf);
	json_key("  ", "pg_version", false);
	printf("%d", stanza->pg_version);
	json_key("  ", "format_version", false);
	printf("%d", stanza->format_version);
	json_key("  ", "cipher_type", false);
	json_string(sb_cipher_type_name(stanza->cipher_type));

	json_key("  ", "backups", false);
	fputs("[", stdout);
	for (i = 0; i < nbackups; i++)
	{
		const BackupSummary *b = &backups[i];

		fputs(i == 0 ? "\n    {\n" : ",\n    {\n", stdout);
		json_key("      ", "label", true);
		json_string(b->label);
		if (!b->ok)
		{
			json_key("      ", "error", false);
			json_string(b->error.msg);
			fputs("\n    }", stdout);
			continue;
		}
		json_key("      ", "type", false);
		json_string(b->type);
		json_key("      ", "base", false);
		if (b->base[0] != '\0')
			json_string(b->base);
		else
			fputs("null", stdout);
		json_key("      ", "start_time", false);
		sb_cli_iso_time(b->start_time, buf, sizeof(buf));
		json_string(buf);
		json_key("      ", "stop_time", false);
		sb_cli_iso_time(b->stop_time, buf, sizeof(buf));
		json_string(buf);
		json_key("      ", "start_lsn", false);
		json_string(b->start_lsn);
		json_key("      ", "stop_lsn", false);
		json_string(b->stop_lsn);
		json_key("      ", "start_wal", false);
		json_string(b->start_wal);
		json_key("      ", "stop_wal", false);
		json_string(b->stop_wal);
		json_key("      ", "timeline", false);
		printf("%u", b->timeline);
		json_key("      ", "backup_from", false);
		json_string(b->backup_from);
		json_key("      ", "compress_type", false);
		json_string(sb_compress_type_name(b->compress_type));
		json_key("      ", "database_size", false);
		printf("%" PRIu64, b->database_size);
		json_key("      ", "stored_size", false);
		printf("%" PRIu64, b->stored_size);
		json_key("      ", "file_count", false);
		printf("%d", b->nfiles);
		json_key("      ", "files_referenced", false);
		printf("%d", b->nreferenced);
		json_key("      ", "files_by_changed_pages", false);
		printf("%" PRIu64, b->nblock_files);
		if (b->read_size > 0)
		{
			json_key("      ", "read_size", false);
			printf("%" PRIu64, b->read_size);
		}
		fputs("\n    }", stdout);
	}
	fputs(nbackups > 0 ? "\n  ]" : "]", stdout);

	json_key("  ", "wal", false);
	fputs("[", stdout);
	for (i = 0; i < nranges; i++)
	{
		fputs(i == 0 ? "\n    {" : ",\n    {", stdout);
		printf("\"timeline\": %u, \"first\": ", ranges[i].timeline);
		json_string(ranges[i].first);
		fputs(", \"last\": ", stdout);
		json_string(ranges[i].last);
		fputs("}", stdout);
	}
	fputs(nranges > 0 ? "\n  ]" : "]", stdout);
	json_key("  ", "temporary_files", false);
	printf("%d", temp->found);
	fputs("\n}\n", stdout);
}

static void
print_text(SbCliOptions *opts, const SbStanzaInfo *stanza,
		   const BackupSummary *backups, int nbackups,
		   const SbWalRange *ranges, int nranges, const SbTempLeftovers *temp,
		   SbRepoMode mode)
{
	char		t1[64];
	char		s1[32];
	char		s2[32];
	int			i;

	printf("stanza: %s\n", opts->repo.stanza);
	printf("    repository: %s (%s)\n", opts->repo.repo_path,
		   sb_repo_type_name(opts->repo.repo_type));
	printf("    repository mode: %s\n", sb_repo_mode_name(mode));
	printf("    system identifier: %" PRIu64 "\n", stanza->system_identifier);
	printf("    PostgreSQL version: %d\n", stanza->pg_version);
	printf("    repository format: %d\n", stanza->format_version);
	printf("    encryption: %s\n", sb_cipher_type_name(stanza->cipher_type));

	if (nbackups == 0)
		printf("\nbackups: none\n");
	else
		printf("\nbackups: %d\n", nbackups);
	for (i = 0; i < nbackups; i++)
	{
		const BackupSummary *b = &backups[i];

		if (!b->ok)
		{
			printf("    %s: manifest unreadable: %s\n", b->label, b->error.msg);
			continue;
		}
		if (b->base[0] != '\0')
			printf("    %s (%s, base %s, %d of its files in the base's chain)\n",
				   b->label, b->type, b->base, b->nreferenced);
		else
			printf("    %s (%s)\n", b->label, b->type);
		sb_cli_iso_time(b->start_time, t1, sizeof(t1));
		printf("        start: %s, LSN %s, WAL %s\n", t1, b->start_lsn, b->start_wal);
		sb_cli_iso_time(b->stop_time, t1, sizeof(t1));
		printf("        stop:  %s, LSN %s, WAL %s\n", t1, b->stop_lsn, b->stop_wal);
		sb_cli_format_size(b->database_size, s1, sizeof(s1));
		sb_cli_format_size(b->stored_size, s2, sizeof(s2));
		printf("        timeline %u, taken on a %s, %d files, database size %s, stored %s (%s)\n",
			   b->timeline, b->backup_from, b->nfiles, s1, s2,
			   sb_compress_type_name(b->compress_type));
		if (b->nblock_files > 0)
		{
			sb_cli_format_size(b->read_size, s1, sizeof(s1));
			printf(b->nblock_files == 1 ?
				   "        %" PRIu64 " file stored by its changed pages; %s read from the data directory\n" :
				   "        %" PRIu64 " files stored by their changed pages; %s read from the data directory\n",
				   b->nblock_files, s1);
		}
	}

	if (nranges == 0)
		printf("\nWAL archive: empty\n");
	else
		printf("\nWAL archive:\n");
	for (i = 0; i < nranges; i++)
		printf("    timeline %u: %s to %s\n", ranges[i].timeline,
			   ranges[i].first, ranges[i].last);
	sb_cli_print_temp_files(temp);
}

int
sb_cmd_info(SbCliOptions *opts)
{
	SbStorage  *st;
	SbStanzaInfo stanza;
	SbError		err;
	SbStatus	rc;
	char	  **labels = NULL;
	int			nlabels = 0;
	BackupSummary *backups = NULL;
	SbWalRange *ranges = NULL;
	int			nranges = 0;
	SbTempLeftovers temp;
	int			exit_code = SB_EXIT_OK;
	SbRepoMode	mode;
	int			i;

	if (opts->nargs != 0)
	{
		sb_cli_error("info takes no argument (found \"%s\")", opts->args[0]);
		fprintf(stderr, "Usage: %s info [--output=text|json] [OPTION]...\n", progname);
		return SB_EXIT_USAGE;
	}
	if (!sb_cli_require_repo(opts))
		return SB_EXIT_USAGE;
	st = sb_cli_open_repository(opts);
	if (st == NULL)
		return SB_EXIT_ERROR;

	sb_error_clear(&err);
	rc = sb_stanza_load(st, opts->repo.stanza, &stanza, &err);
	if (rc == SB_ERR_NOT_FOUND)
		sb_error_hint(&err, "Check --stanza and --repo-path.  A stanza is created when its cluster archives its first WAL file.");
	if (rc == SB_OK)
		rc = sb_backup_list(st, opts->repo.stanza, &labels, &nlabels, &err);
	if (rc == SB_OK && nlabels > 0)
	{
		backups = calloc((size_t) nlabels, sizeof(BackupSummary));
		if (backups == NULL)
			rc = sb_error_oom(&err);
	}
	for (i = 0; i < nlabels && rc == SB_OK; i++)
	{
		BackupSummary *b = &backups[i];
		SbManifest	m;

		snprintf(b->label, sizeof(b->label), "%s", labels[i]);
		sb_error_clear(&b->error);
		if (sb_manifest_load_flags(st, opts->repo.stanza, labels[i], &m,
								   SB_MANIFEST_SKIP_SUMS, &b->error) != SB_OK)
		{
			/* shown with the others; the exit code says something is wrong */
			exit_code = SB_EXIT_ERROR;
			continue;
		}
		b->ok = true;
		memcpy(b->type, m.type, sizeof(b->type));
		b->start_time = m.start_time;
		b->stop_time = m.stop_time;
		memcpy(b->start_lsn, m.start_lsn, sizeof(b->start_lsn));
		memcpy(b->stop_lsn, m.stop_lsn, sizeof(b->stop_lsn));
		memcpy(b->start_wal, m.start_wal, sizeof(b->start_wal));
		memcpy(b->stop_wal, m.stop_wal, sizeof(b->stop_wal));
		b->timeline = m.timeline;
		snprintf(b->backup_from, sizeof(b->backup_from), "%s",
				 m.backup_from[0] ? m.backup_from : "primary");
		b->database_size = m.database_size;
		b->stored_size = m.stored_size;
		b->nfiles = m.nfiles;
		b->compress_type = m.compress_type;
		memcpy(b->base, m.base, sizeof(b->base));
		for (int k = 0; k < m.nfiles; k++)
			if (m.files[k].ref_label[0] != '\0')
				b->nreferenced++;
		b->nblock_files = m.block_incremental_files;
		b->read_size = m.read_size;
		sb_manifest_free(&m);
	}
	if (rc == SB_OK)
		rc = sb_wal_ranges(st, opts->repo.stanza, &ranges, &nranges, &err);
	if (rc == SB_OK)
		rc = sb_temp_leftovers_scan(st, opts->repo.stanza, (int64_t) time(NULL),
								SB_TEMP_SAFE_AGE_S, false, &temp, &err);
	mode = sb_storage_mode(st);
	sb_cli_close_repository(st);

	if (rc != SB_OK)
	{
		sb_cli_report(&err);
		exit_code = sb_cli_exit_code(rc);
	}
	else
	{
		if (opts->output == SB_OUTPUT_JSON)
			print_json(opts, &stanza, backups, nlabels, ranges, nranges, &temp,
					   mode);
		else
			print_text(opts, &stanza, backups, nlabels, ranges, nranges, &temp,
					   mode);
		for (i = 0; i < nlabels; i++)
			if (!backups[i].ok)
				sb_cli_report(&backups[i].error);
	}
	free(backups);
	free(ranges);
	sb_backup_list_free(labels, nlabels);
	return exit_code;
}
