/*-------------------------------------------------------------------------
 *
 * settings_general.c
 *		The table of the settings that are no driver's: the repository's
 *		path, stanza, compression, encryption, retention, and the server's
 *		own (SB_SETTING_SERVER).  See core/settings.h.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "settings.h"

#include <limits.h>
#include <string.h>

#include "backup_schedule.h"
#include "cron.h"
#include "storage.h"

_Static_assert(sizeof(SbCompressType) == sizeof(int) &&
			   sizeof(SbCipherType) == sizeof(int) &&
			   sizeof(SbRepoType) == sizeof(int),
			   "enum settings are stored as int");

static const char *
repo_type_name(int i)
{
	const SbDriver *d = sb_driver_at(i);

	return d != NULL ? d->name : NULL;
}

static const char *
compress_type_name(int i)
{
	return i >= 0 && i <= SB_COMPRESS_ZSTD ?
		sb_compress_type_name((SbCompressType) i) : NULL;
}

static const char *
cipher_type_name(int i)
{
	return i >= 0 && i <= SB_CIPHER_AES_256_GCM ?
		sb_cipher_type_name((SbCipherType) i) : NULL;
}

static const char *
checksum_failure_name(int i)
{
	static const char *const names[] = {"warn", "fail"};

	return i >= 0 && i < 2 ? names[i] : NULL;
}

/* the order of SbBackupRead (backend/guc_backup.h) */
static const char *
backup_read_name(int i)
{
	static const char *const names[] = {"direct", "page_cache"};

	return i >= 0 && i < 2 ? names[i] : NULL;
}

/* the order of SbScheduleOnStandby (backend/guc_backup.h) */
static const char *
schedule_on_standby_name(int i)
{
	static const char *const names[] = {"off", "on", "only"};

	return i >= 0 && i < 3 ? names[i] : NULL;
}

static SbStatus
check_repo_path(const SbSetting *s, const char *shown, const char *value,
				SbError *err)
{
	if (value[0] == '\0' || value[0] == '/')
		return SB_OK;			/* unset: archiving reports "not configured" */
	sb_error_set(err, SB_ERR_CONFIG, "%s must be an absolute path", shown);
	sb_error_hint(err, "Give the repository directory as seen from the repository host, starting with \"/\".");
	return SB_ERR_CONFIG;
}

static SbStatus
check_stanza(const SbSetting *s, const char *shown,
			 const char *value, SbError *err)
{
	if (sb_stanza_name_valid(value))
		return SB_OK;
	sb_error_set(err, SB_ERR_CONFIG, "invalid stanza name \"%s\"", value);
	sb_error_detail(err, "A stanza name is 1 to 63 letters, digits, \"_\", \"-\" or \".\", not starting with \".\".");
	return SB_ERR_CONFIG;
}

static SbStatus
check_schedule(const SbSetting *s, const char *shown, const char *value,
			   SbError *err)
{
	SbBackupSchedule sched;
	SbError		cerr;

	if (value[0] == '\0')
		return SB_OK;			/* empty: no scheduled backups */
	sb_error_clear(&cerr);
	if (sb_backup_schedule_parse(value, &sched, &cerr) == SB_OK)
		return SB_OK;
	sb_error_set(err, SB_ERR_CONFIG, "invalid value for parameter \"%s\": %s",
				 shown, cerr.msg);
	if (cerr.detail[0] != '\0')
		sb_error_detail(err, "%s", cerr.detail);
	sb_error_hint(err, "Give five fields: minute hour day-of-month month day-of-week, for example \"0 2 * * *\" for a full backup at 02:00 every day, or entries with a type separated by \";\", e.g. \"full: 0 2 * * 0; incr: 0 2 * * 1-6\"; an empty string turns scheduled backups off.");
	return SB_ERR_CONFIG;
}

static const SbSetting general_settings[] = {
	{.name = "repo_type", .type = SB_SETTING_TYPE_ENUM,
		SB_INT_FIELD(SbRepoConfig, repo_type),
		.int_default = SB_REPO_POSIX, .enum_name = repo_type_name,
		.arg = "TYPE", .help = "posix (default), sftp, tls or s3",
		.short_desc = "Kind of repository: posix, sftp, tls or s3.",
	.doc = "kind of repository: `posix` (a local or mounted directory), `sftp` (an SFTP server, see [SFTP repository](#sftp-repository)), `tls` (the pg_safebackup repository server over mutual TLS, see [TLS repository server](#tls-repository-server)) or `s3` (an S3-compatible object store, see [S3 repository](#s3-repository))"},
	{.name = "repo_path", .type = SB_SETTING_TYPE_STRING,
		.offset = offsetof(SbRepoConfig, repo_path),
		.max_len = SB_REPO_PATH_MAX_LEN,
		.str_default = "", .check = check_repo_path,
		.arg = "PATH", .help = "absolute path of the repository",
		.short_desc = "Absolute path of the repository directory.",
		.long_desc = "For sftp, the path as seen by the SFTP account (inside its chroot).",
	.doc = "absolute path of the repository directory; for `sftp`, as the SFTP account sees it (inside its chroot, e.g. `/upload`); while empty, archiving is \"not configured\" and WAL stays in `pg_wal`"},
	{.name = "stanza", SB_STRING_FIELD(SbRepoConfig, stanza),
		.str_default = "main", .check = check_stanza,
		.arg = "NAME", .help = "stanza of the cluster (default \"main\")",
		.short_desc = "Name of this cluster's stanza in the repository.",
	.doc = "this cluster's name in the repository: 1-63 letters, digits, `_`, `-`, `.` (not starting with `.`).  One stanza belongs to exactly one cluster"},
	{.name = "compress_type", .type = SB_SETTING_TYPE_ENUM,
		SB_INT_FIELD(SbRepoConfig, compress_type),
		.int_default = SB_DEFAULT_COMPRESS_TYPE, .enum_name = compress_type_name,
		.arg = "TYPE", .help = "none, zlib, lz4 or zstd (default) for files written",
		.short_desc = "Compression of files stored in the repository: none, zlib, lz4 or zstd.",
	.doc = "compression of stored files (WAL and backups): `zstd` (Zstandard), `lz4`, `zlib` (gzip format) or `none`; see [Compression](#compression).  Each file records its own type, so changing it by reload never makes older files unreadable"},
	{.name = "compress_level", .type = SB_SETTING_TYPE_INT,
		SB_INT_FIELD(SbRepoConfig, compress_level),
		.min = 0, .max = SB_COMPRESS_LEVEL_MAX,
		.int_default = SB_DEFAULT_COMPRESS_LEVEL,
		.arg = "N", .help = "zlib 0-9, lz4 1-12, zstd 1-19 (default 1)",
		.short_desc = "Compression level (higher is smaller and slower).",
		.long_desc = "zlib 0 to 9, lz4 1 to 12, zstd 1 to 19.",
	.doc = "level for the type in force: zstd 1-19, lz4 1-12 (3 and up is its slow high-compression mode), zlib 0-9 (0 stores without compressing).  A level outside the range of the type in force is refused (`compression level 13 is outside the valid range for safebackup.compress_type \"lz4\"`, detail `Valid levels for lz4 are 1 to 12.`); when changing both, set `compress_type` first.  A type changed to one whose range the level does not fit is refused when the next file is stored, with the same message"},
	{.name = "io_timeout", .type = SB_SETTING_TYPE_MS,
		SB_INT_FIELD(SbRepoConfig, io_timeout_ms),
		.min = 1000, .max = 3600000, .int_default = 60000,
		.arg = "TIME", .help = "network connect/wait limit (default 60s)",
		.short_desc = "Time limit of a connection attempt or of one network wait of a remote repository.",
	.doc = "network repositories: limit of a connection attempt and of each wait for the server (1s to 60min).  A wait also ends at once when the process is asked to stop, so shutdown is never held up by a dead server"},
	{.name = "cipher_type", .type = SB_SETTING_TYPE_ENUM,
		SB_INT_FIELD(SbRepoConfig, cipher_type),
		.int_default = SB_CIPHER_NONE, .enum_name = cipher_type_name,
		.arg = "TYPE", .help = "none (default) or aes-256-gcm",
		.short_desc = "Encryption of the repository: none or aes-256-gcm.",
		.long_desc = "Fixed when the stanza is created; it cannot be changed for an existing stanza.",
	.doc = "encryption of everything stored for the stanza: `none` or `aes-256-gcm` (see [Encryption](#encryption)).  Fixed when the stanza is created: it cannot be turned on or off for an existing stanza"},
	{.name = "cipher_pass_file", SB_STRING_FIELD(SbRepoConfig, cipher_pass_file),
		.flags = SB_SETTING_SECRET | SB_SETTING_FILE | SB_SETTING_ABSOLUTE,
		.str_default = "",
		.arg = "FILE", .help = "file holding the encryption passphrase (mode 0600)",
		.short_desc = "File holding the repository encryption passphrase.",
		.long_desc = "It must be owned by the server's operating system user and readable by it only (0600).",
	.doc = "absolute path of the file holding the repository passphrase; it must be a regular file owned by the server's OS user with mode 0600 or stricter, or it is refused.  Only its name is a setting (visible to superusers only); the passphrase itself is never in a setting nor in a log"},
	{.name = "retention_full", .type = SB_SETTING_TYPE_INT,
		SB_INT_FIELD(SbRepoConfig, retention_full),
		.flags = SB_SETTING_LOCAL, .command = "expire",
		.min = 0, .max = 9999, .int_default = 0,
		.arg = "N", .help = "full backups to keep (default 0: keep all)",
		.short_desc = "Number of full backups to keep; older backups and the WAL only they need are removed.",
		.long_desc = "0 keeps every backup and all WAL (expire then only removes the leftovers of interrupted backups).",
	.doc = "how many full backups to keep (0-9999); after each backup, older backups and the WAL only they needed are removed (see [Retention and expire](#retention-and-expire)).  0 keeps every backup and all WAL: removing backups cannot be undone, and how many to keep depends on your recovery policy, so it is never done until you choose a number"},

	/* the server's own: GUCs only, bound to backend variables in backend/guc.c */
	{.name = "archive_push_workers", .type = SB_SETTING_TYPE_INT,
		.flags = SB_SETTING_SERVER,
		.min = 0, .max = SB_PUSH_MAX_WORKERS, .int_default = 4,
		.short_desc = "Number of background workers that push ready WAL files to the repository ahead of the archiver.",
		.long_desc = "0 turns push-ahead off: the archiver then pushes every file itself.",
	.doc = "0-8: background workers that push WAL files ready for archiving to the repository ahead of the archiver, in parallel, each over its own repository session; the archiver then only confirms them (see [Push-ahead archiving](#push-ahead-archiving)).  0 turns them off: the archiver pushes every file itself.  The default is measured: a push is bound by CPU (compression and the digest, about 31 ms of CPU per 16 MiB segment with zstd level 1 and XXH3-128 names), not by its flushes, and on the 2-core test machine a 69-segment backlog drained with a median of 18.5 segments/s with 2 workers (3 interleaved rounds), 21 with 3, 27.5 with 4 and 28 with 6 (6 rounds each; the machine was shared with other work), so 4 is where it stops gaining (see [docs/wal-speed.md](docs/wal-speed.md)).  They count against `max_worker_processes` (default 8: the launcher, 4 push workers and a backup's 2 copy workers leave 1 for parallel query): raise `max_worker_processes` (restart) or lower this if parallel query needs the slots"},
	{.name = "backup_schedule", .type = SB_SETTING_TYPE_STRING,
		.flags = SB_SETTING_SERVER, .str_default = "", .check = check_schedule,
		.short_desc = "When the launcher takes backups, in cron syntax, each entry optionally typed; empty means never.",
		.long_desc = "Five fields: minute hour day-of-month month day-of-week, in the time zone of the server's timezone setting; several entries \"full|diff|incr: <cron>\" are separated by \";\".",
	.doc = "when the launcher takes backups, in cron syntax (`minute hour day-of-month month day-of-week`, e.g. `0 2 * * *` for a full backup every night), in the time zone of the server's `timezone` setting; several entries with a backup type are separated by `;`, e.g. `full: 0 2 * * 0; incr: 0 2 * * 1-6`; empty = no scheduled backups (see [Scheduled backups](#scheduled-backups))"},
	{.name = "backup_workers", .type = SB_SETTING_TYPE_INT,
		.flags = SB_SETTING_SERVER,
		.min = 1, .max = SB_BACKUP_WORKERS_MAX, .int_default = 2,
		.short_desc = "Number of processes that copy the files of a base backup.",
		.long_desc = "The backup worker is one of them; the others are dynamic background workers, each with its own repository session.",
	.doc = "processes that copy the files of a base backup (1-16): the backup worker and `backup_workers - 1` copy workers (dynamic background workers, each needs a free `max_worker_processes` slot; with fewer free slots the backup runs with fewer and says so in the log).  2 because a backup is bound by compression on one core, and this is what a 2-core machine gains from; more helps only with more cores and a repository that keeps up (see [Parallel backup](#parallel-backup))"},
	{.name = "checksum_failure", .type = SB_SETTING_TYPE_ENUM,
		.flags = SB_SETTING_SERVER,
		.int_default = 0, .enum_name = checksum_failure_name,
		.short_desc = "What a page with a wrong checksum does to a base backup: warn or fail.",
		.long_desc = "Page checksums are verified only when the cluster has data checksums.",
	.doc = "what a page with a wrong checksum does to a base backup when the cluster has data checksums: `warn` (a WARNING per page, the backup completes and counts them) or `fail` (the backup fails and is not listed).  See [Page checksums](#page-checksums)"},
	{.name = "backup_read", .type = SB_SETTING_TYPE_ENUM,
		.flags = SB_SETTING_SERVER,
		.int_default = 0, .enum_name = backup_read_name,
		.short_desc = "How a base backup reads files of 4 MB and more: direct (past the page cache) or page_cache.",
		.long_desc = "direct reads several parts of a file at once past the kernel's page cache, and falls back to the page cache where the file system refuses.",
	.doc = "how a base backup reads the files of 4 MB and more: `direct` reads them past the kernel's page cache (`O_DIRECT`, three 1 MiB reads in flight), which spares the kernel a page allocation and a copy per 4 kB and leaves the database's cached pages in the cache; where the file system refuses `O_DIRECT` the file is read through the cache.  `page_cache` reads them through the cache, with the kernel's read-ahead.  See [Parallel backup](#parallel-backup)"},
	{.name = "backup_wal_timeout", .type = SB_SETTING_TYPE_INT,
		.flags = SB_SETTING_SERVER | SB_SETTING_SECONDS,
		.min = 0, .max = 86400, .int_default = 600,
		.short_desc = "How long a base backup waits for the WAL it needs to reach the repository.",
		.long_desc = "Past it the backup fails and is not listed. 0 waits without a limit; at most one day.",
	.doc = "how long a base backup waits, once stopped, for every WAL segment it needs to be in the repository, with a unit (`90s`, `10min`; a bare number is seconds); `0` = no limit, at most `1d`.  Past it the backup fails and is not listed.  On a primary the backup stop switches WAL and the archiver stores the last segment within milliseconds (the backup looks for it after 10 ms, then at doubling intervals up to 1 s); on a standby the wait is real (see [Backups from a standby](#backups-from-a-standby))"},
	{.name = "backup_max_rate", .type = SB_SETTING_TYPE_INT,
		.flags = SB_SETTING_SERVER | SB_SETTING_KILOBYTES,
		.min = 0, .max = 1024 * 1024 * 1024, .int_default = 0,
		.short_desc = "Most data a base backup reads per second, all its copy workers together; 0 means no limit.",
		.long_desc = "Read when a backup starts.",
	.doc = "most data a base backup reads from the data directory per second, all its copy workers together, with a unit (`512kB`, `50MB`; a bare number is kB); `0` = no limit.  For a busy server whose disk the backup must share; the rate of a backup is fixed when it starts.  WAL archiving is never throttled"},
	{.name = "summary_database", .type = SB_SETTING_TYPE_STRING,
		.flags = SB_SETTING_SERVER, .str_default = "postgres",
		.short_desc = "Database a differential or incremental backup connects to on PostgreSQL 17 and later to read the WAL summaries; empty means file level only.",
		.long_desc = "The backup worker reads the summaries through SQL functions, which need a database; none of its tables is read.",
	.doc = "the database the worker of a differential or incremental backup connects to on PostgreSQL 17 and later, to read the server's WAL summaries through SQL and copy only the changed blocks of relation files (see [Block-level incremental backups](#block-level-incremental-backups)); any database will do, none of its tables is read.  Empty, or a database that does not exist: the backup works at file level (logged).  Ignored for full backups and before PostgreSQL 17"},
	{.name = "schedule_on_standby", .type = SB_SETTING_TYPE_ENUM,
		.flags = SB_SETTING_SERVER,
		.int_default = 0, .enum_name = schedule_on_standby_name,
		.short_desc = "Whether safebackup.backup_schedule starts backups on a standby: off, on or only.",
		.long_desc = "off: on a primary only; on: on a primary and on a standby; only: on a standby only. safebackup.safebackup_start() works on both whatever this says.",
	.doc = "where `backup_schedule` takes backups: `off` on a primary only, `on` on a primary and on a standby, `only` on a standby only (see [Backups from a standby](#backups-from-a-standby)).  `safebackup.safebackup_start()` works on both whatever this says"},
	{.name = "archive_lag_warning", .type = SB_SETTING_TYPE_INT,
		.flags = SB_SETTING_SERVER | SB_SETTING_SECONDS,
		.min = 0, .max = INT_MAX / 1000, .int_default = 0,
		.short_desc = "Archive lag above which the launcher logs a warning; 0 turns the warning off.",
		.long_desc = "The lag is the time since the oldest WAL file waiting to be archived was completed, or, when none waits, since the last segment was archived if WAL was written after it.",
	.doc = "[archive lag](#archive-lag) above which the launcher logs a WARNING, with a unit (`30s`, `5min`, `1h`; a bare number is seconds); `0` = off.  One WARNING when the lag crosses it, not one per check, and one LOG when it is back within.  Checked every half of it (at least every second, at most every 10 s), and at once when a file is archived while the lag is above.  Set it to the recovery point objective you promise: the lag includes the time a partly filled segment waits (bounded by `archive_timeout`)"},
	{.name = "archive_repo_hold", .type = SB_SETTING_TYPE_INT,
		.flags = SB_SETTING_SERVER | SB_SETTING_SECONDS,
		.min = 0, .max = INT_MAX / 1000, .int_default = 0,
		.short_desc = "How long a failing repository holds WAL archiving back before it falls behind; 0 means always.",
		.long_desc = "With several repositories: once one has failed continuously for this long, WAL files are reported archived when they are in the others, recorded as missed by it, and copied into it once it works again.",
	.doc = "with [several repositories](#several-repositories): how long a repository that fails holds WAL archiving back, with a unit (`30s`, `10min`, `1h`; a bare number is seconds).  Once it has failed continuously for this long it *falls behind*: a WAL file is then reported archived once it is durable in every repository that is not behind (never in none), the files it misses are recorded in the data directory and copied into it by the catch-up worker when it works again (see [A repository that fails](#a-repository-that-fails)).  `0` (the default) = it always holds archiving back: every repository has every file before PostgreSQL may remove it, at the price of `pg_wal` growing while one fails"},
};

const SbSetting *
sb_general_settings(int *n)
{
	*n = (int) (sizeof(general_settings) / sizeof(general_settings[0]));
	return general_settings;
}
