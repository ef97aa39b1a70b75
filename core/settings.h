/*-------------------------------------------------------------------------
 *
 * settings.h
 *		Every safebackup setting described once, in tables that the GUC
 *		definitions (backend/guc.c), the pg_safebackup options and --config
 *		files (cli/options.c), the help (cli/help.c) and the README's
 *		settings table ("pg_safebackup help settings --markdown") are all
 *		built from.
 *
 * HOW A STORAGE DRIVER DECLARES ITS SETTINGS
 *
 *	1. Put the driver's values in a struct of its own, in a header of the
 *	   driver (transport/sftp_settings.h is the model):
 *
 *		typedef struct SbFooSettings
 *		{
 *			char		foo_host[256];
 *			int			foo_port;
 *		} SbFooSettings;
 *		#define SB_FOO(cfg) \
 *			((SbFooSettings *) sb_driver_settings((cfg), &sb_foo_driver))
 *
 *	   Each driver owns one area of SbRepoConfig (SB_DRIVER_AREA_SIZE bytes);
 *	   nothing else in SbRepoConfig changes for a new driver.
 *
 *	2. Describe each value in one table row next to the driver: the name
 *	   ("foo_host" becomes the GUC safebackup.foo_host, the option
 *	   --foo-host and the --config key foo_host), the type and limits, the
 *	   default, the flags (secret, file name, absolute path), the texts (help
 *	   line, GUC description, README):
 *
 *		static const SbSetting foo_settings[] = {
 *			{.name = "foo_host", SB_STRING_FIELD(SbFooSettings, foo_host),
 *			 .str_default = "", .arg = "HOST",
 *			 .help = "Foo server host name",
 *			 .short_desc = "Host name or address of the Foo server.",
 *			 .doc = "host name or address of the Foo server"},
 *			{.name = "foo_port", .type = SB_SETTING_TYPE_INT,
 *			 SB_INT_FIELD(SbFooSettings, foo_port),
 *			 .min = 1, .max = 65535, .int_default = 7000, .arg = "PORT",
 *			 .help = "its port (default 7000)",
 *			 .short_desc = "TCP port of the Foo server.",
 *			 .doc = "its TCP port"},
 *		};
 *
 *	   A string check beyond the length: .check (SbSettingCheck).  After the
 *	   row is added, run scripts/readme-settings.sh to refresh README.md's
 *	   table (t/019_settings.pl fails while it is out of step).
 *
 *	3. Declare the driver (core/storage.h, SbDriver) next to its operations
 *	   (transport/sftp_settings.c is the model): its name (the repo_type
 *	   value), its SbStorageOps with .caps (SB_CAP_*: what it can do, which
 *	   callers ask instead of comparing names), the help heading, the table,
 *	   sizeof(SbFooSettings) and its default repo_path if it has one.  Add it
 *	   to the list in transport/drivers.c (one line), its objects to the
 *	   Makefile.  That is all: the GUCs (backend/guc.c loops over the
 *	   tables), the CLI options and --config keys (cli/options.c), the help
 *	   (cli/help.c) and the README table follow.  Driver code reads its
 *	   settings as SB_FOO(&st->cfg)->foo_host.
 *
 * A general setting is a row of the table in core/settings_general.c, with
 * its offset in SbRepoConfig, or with SB_SETTING_SERVER when only the
 * server has it (a GUC with no CLI option; its value lives in a backend
 * variable, bound by name in server_vars of backend/guc.c).
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_SETTINGS_H
#define SB_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "sb_config.h"
#include "sb_error.h"

typedef enum SbSettingType
{
	SB_SETTING_TYPE_STRING,		/* char field[max_len + 1] */
	SB_SETTING_TYPE_INT,		/* int field, min to max */
	SB_SETTING_TYPE_MS,			/* int field in milliseconds ("30s", "1min") */
	SB_SETTING_TYPE_ENUM		/* int field: index of a name of enum_name() */
} SbSettingType;

/* Flags */
#define SB_SETTING_SECRET	0x01	/* names a secret: superusers only see it */
#define SB_SETTING_FILE		0x02	/* a file name: the CLI makes it absolute */
#define SB_SETTING_ABSOLUTE	0x04	/* refused unless empty or absolute */
#define SB_SETTING_SERVER	0x08	/* the server's only: no CLI option */
#define SB_SETTING_LOCAL	0x10	/* CLI: not passed on to restore_command */
#define SB_SETTING_SECONDS	0x20	/* int: a time in seconds ("30s", "5min") */
#define SB_SETTING_KILOBYTES	0x40	/* int: an amount in kB ("512kB", "20MB") */

typedef struct SbSetting SbSetting;

/*
 * A check of a string value beyond its length, as the user gave it; shown
 * is the name the user knows ("safebackup.stanza", "--stanza").  SB_OK, or
 * SB_ERR_CONFIG with message, detail and hint.
 */
typedef SbStatus (*SbSettingCheck) (const SbSetting *s, const char *shown,
									const char *value, SbError *err);

/* The name of an enum value, i from 0; NULL past the last. */
typedef const char *(*SbSettingEnumName) (int i);

struct SbSetting
{
	const char *name;			/* "sftp_host": safebackup.sftp_host, --sftp-host */
	SbSettingType type;
	unsigned	flags;
	size_t		offset;			/* of the field in its struct */
	size_t		max_len;		/* strings: longest value in bytes */
	int			min;			/* ints */
	int			max;
	int			int_default;	/* ints and enums */
	const char *str_default;	/* strings */
	SbSettingEnumName enum_name;	/* enums */
	SbSettingCheck check;		/* strings: NULL, or a check of the value */
	const char *command;		/* CLI: the one command that takes it (its
								 * help shows it); NULL: every command that
								 * reaches a repository */
	const char *arg;			/* help: "--sftp-host=HOST" */
	const char *help;			/* help: one line, "\n" between lines */
	const char *short_desc;		/* GUC description */
	const char *long_desc;		/* GUC extra description, or NULL */
	const char *doc_default;	/* README default column; NULL: from the default */
	const char *doc;			/* README meaning column (Markdown) */
};

/*
 * Rows are written with designated initializers; these give the field:
 * SB_STRING_FIELD also sets the limit from the field's size, so a value is
 * never cut short.
 */
#define SB_FIELD_SIZE(struct_, field_) sizeof(((struct_ *) 0)->field_)
#define SB_STRING_FIELD(struct_, field_) \
	.type = SB_SETTING_TYPE_STRING, .offset = offsetof(struct_, field_), \
	.max_len = SB_FIELD_SIZE(struct_, field_) - 1
#define SB_INT_FIELD(struct_, field_) .offset = offsetof(struct_, field_)

/*
 * Every setting, in help and README order: the general ones, then each
 * driver's; i from 0 to sb_settings_count() - 1.  *driver is the index of
 * the driver whose setting it is, -1 for a general one.
 */
extern int	sb_settings_count(void);
/*
 * Most settings there may be: backend/guc.c has one check hook per index
 * (add hooks there to raise it); tests/unit/test_settings checks the count.
 */
#define SB_SETTINGS_MAX		60
extern const SbSetting *sb_setting_at(int i, int *driver);
/*
 * Index of the setting "name" (also "safebackup.name", '-' for '_') of
 * repository 1 or the server; -1.
 */
extern int	sb_setting_index(const char *name);
/* Help heading of the general settings (driver -1) or of a driver's */
extern const char *sb_setting_group_title(int driver);
/* The general table (core/settings_general.c) */
extern const SbSetting *sb_general_settings(int *n);

/*
 * SEVERAL REPOSITORIES
 *
 * Every repository setting (each row that is not SB_SETTING_SERVER) exists
 * once per repository, 1 to SB_REPO_MAX: the rows are instantiated per
 * index, never copied.  Repository 1 has the row's own name (repo_type,
 * repo_path, stanza, sftp_host: today's names); repository N has the name
 * with the prefix "repoN_", a leading "repo_" folded into it: repo2_type,
 * repo2_path, repo2_stanza, repo2_sftp_host, repo2_retention_full.  There
 * are no "repo1_" aliases: one value has one name.  Each repository's
 * values fill an SbRepoConfig of its own.
 */
#define SB_REPO_MAX		4

/* Does each repository have its own value of s? */
extern bool sb_setting_per_repo(const SbSetting *s);

/* The name of setting s for repository repo (1 to SB_REPO_MAX) into buf. */
extern void sb_setting_repo_name(const SbSetting *s, int repo, char *buf,
								 size_t len);

/*
 * Index of the setting "name" of any repository ("repo2_path",
 * "safebackup.repo2-sftp-host"), its repository in *repo (1 for the
 * unprefixed names and the server's settings); -1 when unknown.
 */
extern int	sb_setting_lookup(const char *name, int *repo);

/*
 * Is repository repo in use with the values cfg holds?  Repository 1
 * always is (unset, archiving says it is "not configured"); another once
 * its path or its type is set.
 */
extern bool sb_repo_configured(const SbRepoConfig *cfg, int repo);

/* The field of setting i in cfg (NULL for a server-only setting). */
extern void *sb_setting_field(SbRepoConfig *cfg, int i);

/*
 * Check a string value: the setting's own check, an absolute path where
 * one is required, the length.  As SbSettingCheck.
 */
extern SbStatus sb_setting_check_string(int i, const char *shown,
										const char *value, SbError *err);

/*
 * Parse value as the setting's type (names of enums case-insensitively,
 * "30s" for milliseconds), check it and store it into cfg.  Errors name
 * the setting as shown.
 */
extern SbStatus sb_setting_set(SbRepoConfig *cfg, int i, const char *shown,
							   const char *value, SbError *err);

/* Store an int/enum value, or a string value, without checks (defaults). */
extern void sb_setting_store_int(SbRepoConfig *cfg, int i, int value);
extern SbStatus sb_setting_store_string(SbRepoConfig *cfg, int i,
										const char *shown, const char *value,
										SbError *err);

/* Every setting of cfg to its default (sb_config_init calls it). */
extern void sb_settings_defaults(SbRepoConfig *cfg);

/* The default as a user writes it ("", "22", "60s", "zstd") into buf. */
extern void sb_setting_default_text(const SbSetting *s, char *buf, size_t len);

/* "a", "b" and "c" (quoted, for hints) or "a, b, c" (plain) */
extern void sb_setting_enum_list(const SbSetting *s, bool quoted, char *buf,
								 size_t len);

/* --config key or GUC name closest to a misspelt one among names, or NULL. */
extern const char *sb_closest_name(const char *name, const char *const *names,
								   int nnames);

/*
 * Limits of server-only settings that the backend also sizes its shared
 * memory and worker handles by.
 */
#define SB_PUSH_MAX_WORKERS		8	/* safebackup.archive_push_workers */
#define SB_BACKUP_WORKERS_MAX	16	/* safebackup.backup_workers */

#endif							/* SB_SETTINGS_H */
