/*-------------------------------------------------------------------------
 *
 * guc.c
 *		Define the safebackup.* parameters from the settings tables
 *		(core/settings.h), with check hooks so that a bad value is refused
 *		when it is set or reloaded, never silently replaced.
 *
 * Every setting of the tables becomes one GUC here, in a loop: a driver's
 * new setting needs no code in this file.  The values of the repository
 * settings are kept in the arrays below and copied into an SbRepoConfig by
 * sb_guc_repo_config(); the server's own settings (SB_SETTING_SERVER) are
 * bound by name to the variables their users read (server_vars).
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "utils/guc.h"
#include "utils/memutils.h"

#include "guc.h"
#include "guc_backup.h"
#include "settings.h"
#include "storage.h"
#include "worker/lag_warning.h"
#include "repo_behind.h"

/* Most settings the tables may hold */
#define MAX_SETTINGS	SB_SETTINGS_MAX

/*
 * The values of repository r's setting i (r from 0: repository 1); the
 * server's own settings have only r = 0.  A check hook is for one slot,
 * r * MAX_SETTINGS + i.
 */
#define MAX_SLOTS		(SB_REPO_MAX * MAX_SETTINGS)

static char *string_vars[SB_REPO_MAX][MAX_SETTINGS];
static int	int_vars[SB_REPO_MAX][MAX_SETTINGS];

/* The server's own settings: the variables their users read */
static int	sb_archive_push_workers = 4;
static char *sb_backup_schedule = NULL;

static const struct
{
	const char *name;
	void	   *var;			/* int * or char ** by the setting's type */
}			server_vars[] = {
	{"archive_push_workers", &sb_archive_push_workers},
	{"backup_schedule", &sb_backup_schedule},
	{"backup_workers", &sb_backup_workers},
	{"checksum_failure", &sb_checksum_failure},
	{"backup_read", &sb_backup_read},
	{"backup_wal_timeout", &sb_backup_wal_timeout},
	{"backup_max_rate", &sb_backup_max_rate},
	{"summary_database", &sb_summary_database},
	{"schedule_on_standby", &sb_schedule_on_standby},
	{"archive_lag_warning", &sb_archive_lag_warning},
	{"archive_repo_hold", &sb_archive_repo_hold},
};

/*
 * The check of the string setting of a slot: its table's checks
 * (core/settings.c), the same as the CLI makes, reported as a GUC check
 * failure.
 */
static bool
check_string(int slot, char **newval)
{
	SbError		err;
	char		name[96];
	char		shown[112];
	int			i = slot % MAX_SETTINGS;

	sb_setting_repo_name(sb_setting_at(i, NULL), slot / MAX_SETTINGS + 1,
						 name, sizeof(name));
	snprintf(shown, sizeof(shown), "safebackup.%s", name);
	sb_error_clear(&err);
	if (sb_setting_check_string(i, shown, *newval ? *newval : "", &err) == SB_OK)
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errmsg("%s", err.msg);
	if (err.detail[0] != '\0')
		GUC_check_errdetail("%s", err.detail);
	if (err.hint[0] != '\0')
		GUC_check_errhint("%s", err.hint);
	return false;
}

/*
 * A GUC check hook is not told which setting it checks: one small hook per
 * slot, each passing its slot on (h, t, u: the digits of the slot).
 */
#define CHECK_HOOK(h, t, u) \
static bool \
check_string_##h##t##u(char **newval, void **extra, GucSource source) \
{ \
	return check_string(h * 100 + t * 10 + u, newval); \
}
#define CHECK_HOOKS_TENS(h, t) \
	CHECK_HOOK(h, t, 0) CHECK_HOOK(h, t, 1) CHECK_HOOK(h, t, 2) \
	CHECK_HOOK(h, t, 3) CHECK_HOOK(h, t, 4) CHECK_HOOK(h, t, 5) \
	CHECK_HOOK(h, t, 6) CHECK_HOOK(h, t, 7) CHECK_HOOK(h, t, 8) \
	CHECK_HOOK(h, t, 9)
#define CHECK_HOOKS_HUNDREDS(h) \
	CHECK_HOOKS_TENS(h, 0) CHECK_HOOKS_TENS(h, 1) CHECK_HOOKS_TENS(h, 2) \
	CHECK_HOOKS_TENS(h, 3) CHECK_HOOKS_TENS(h, 4) CHECK_HOOKS_TENS(h, 5) \
	CHECK_HOOKS_TENS(h, 6) CHECK_HOOKS_TENS(h, 7) CHECK_HOOKS_TENS(h, 8) \
	CHECK_HOOKS_TENS(h, 9)

CHECK_HOOKS_HUNDREDS(0) CHECK_HOOKS_HUNDREDS(1)
CHECK_HOOKS_TENS(2, 0) CHECK_HOOKS_TENS(2, 1) CHECK_HOOKS_TENS(2, 2)
CHECK_HOOKS_TENS(2, 3)

#define HOOK_TENS(h, t) \
	check_string_##h##t##0, check_string_##h##t##1, check_string_##h##t##2, \
	check_string_##h##t##3, check_string_##h##t##4, check_string_##h##t##5, \
	check_string_##h##t##6, check_string_##h##t##7, check_string_##h##t##8, \
	check_string_##h##t##9
#define HOOK_HUNDREDS(h) \
	HOOK_TENS(h, 0), HOOK_TENS(h, 1), HOOK_TENS(h, 2), HOOK_TENS(h, 3), \
	HOOK_TENS(h, 4), HOOK_TENS(h, 5), HOOK_TENS(h, 6), HOOK_TENS(h, 7), \
	HOOK_TENS(h, 8), HOOK_TENS(h, 9)

static const GucStringCheckHook string_hooks[] = {
	HOOK_HUNDREDS(0), HOOK_HUNDREDS(1),
	HOOK_TENS(2, 0), HOOK_TENS(2, 1), HOOK_TENS(2, 2), HOOK_TENS(2, 3)
};

StaticAssertDecl(lengthof(string_hooks) == MAX_SLOTS,
				 "one check hook per setting slot");

/*
 * Is level valid for type?  When not, say so with the type's range.  The
 * table is the one the CLI and the codec use (sb_compress_level_range).
 */
static bool
compress_level_fits(int type, int level)
{
	int			min;
	int			max;

	if (type == SB_COMPRESS_NONE ||
		!sb_compress_level_range((SbCompressType) type, &min, &max) ||
		(level >= min && level <= max))
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errmsg("compression level %d is outside the valid range for safebackup.compress_type \"%s\"",
					 level, sb_compress_type_name((SbCompressType) type));
	GUC_check_errdetail("Valid levels for %s are %d to %d.",
						sb_compress_type_name((SbCompressType) type), min, max);
	return false;
}

/*
 * Repository 1's level is checked against its type in force (the levels of
 * repositories 2 to 4 where the codec uses them, with the same message).  A reload that changes
 * both is checked in the order of the file, so the type check is left to
 * the level (set compress_type first); a type whose range the level does
 * not fit is refused where the codec is used, with the same message.
 */
static bool
check_compress_level(int *newval, void **extra, GucSource source)
{
	if (compress_level_fits(int_vars[0][sb_setting_index("compress_type")], *newval))
		return true;
	GUC_check_errhint("Set safebackup.compress_type first when changing both.");
	return false;
}

/* The server variable of setting name; NULL when it has none. */
static void *
server_var(const char *name)
{
	for (size_t k = 0; k < lengthof(server_vars); k++)
		if (strcmp(server_vars[k].name, name) == 0)
			return server_vars[k].var;
	return NULL;
}

/* The choices of an enum setting, as PostgreSQL wants them (kept for good). */
static const struct config_enum_entry *
enum_options(const SbSetting *s)
{
	struct config_enum_entry *opts;
	int			n = 0;

	while (s->enum_name(n) != NULL)
		n++;
	opts = MemoryContextAllocZero(TopMemoryContext,
								  sizeof(struct config_enum_entry) * (n + 1));
	for (int k = 0; k < n; k++)
	{
		opts[k].name = s->enum_name(k);
		opts[k].val = k;
	}
	return opts;
}

/* Setting i of repository repo (1 to SB_REPO_MAX) as a GUC */
static void
define_setting(int i, int repo)
{
	const SbSetting *s = sb_setting_at(i, NULL);
	char		base[96];
	char	   *name;
	int			flags = 0;
	int			slot = (repo - 1) * MAX_SETTINGS + i;
	void	   *var = &int_vars[repo - 1][i];

	sb_setting_repo_name(s, repo, base, sizeof(base));
	name = psprintf("safebackup.%s", base);
	if (s->flags & SB_SETTING_SECRET)
		flags |= GUC_SUPERUSER_ONLY;
	if (s->type == SB_SETTING_TYPE_MS)
		flags |= GUC_UNIT_MS;
	if (s->flags & SB_SETTING_SECONDS)
		flags |= GUC_UNIT_S;
	if (s->flags & SB_SETTING_KILOBYTES)
		flags |= GUC_UNIT_KB;
	if (s->type == SB_SETTING_TYPE_STRING)
		var = &string_vars[repo - 1][i];
	if (s->flags & SB_SETTING_SERVER)
	{
		var = server_var(s->name);
		if (var == NULL)
			elog(ERROR, "server setting \"%s\" has no variable", name);
	}

	switch (s->type)
	{
		case SB_SETTING_TYPE_STRING:
			DefineCustomStringVariable(name, s->short_desc, s->long_desc,
									   (char **) var, s->str_default,
									   PGC_SIGHUP, flags, string_hooks[slot],
									   NULL, NULL);
			break;
		case SB_SETTING_TYPE_INT:
		case SB_SETTING_TYPE_MS:
			DefineCustomIntVariable(name, s->short_desc, s->long_desc,
									(int *) var, s->int_default, s->min, s->max,
									PGC_SIGHUP, flags,
									repo == 1 && strcmp(s->name, "compress_level") == 0 ?
									check_compress_level : NULL,
									NULL, NULL);
			break;
		case SB_SETTING_TYPE_ENUM:
			DefineCustomEnumVariable(name, s->short_desc, s->long_desc,
									 (int *) var, s->int_default,
									 enum_options(s), PGC_SIGHUP, flags,
									 NULL, NULL, NULL);
			break;
	}
}

void
sb_define_gucs(void)
{
	int			n = sb_settings_count();

	if (n > MAX_SETTINGS)
		elog(ERROR, "pg_safebackup has %d settings, more than the %d backend/guc.c has room for",
			 n, MAX_SETTINGS);
	for (int repo = 1; repo <= SB_REPO_MAX; repo++)
		for (int i = 0; i < n; i++)
			if (repo == 1 || sb_setting_per_repo(sb_setting_at(i, NULL)))
				define_setting(i, repo);

	MarkGUCPrefixReserved("safebackup");
}

int
sb_guc_archive_push_workers(void)
{
	return sb_archive_push_workers;
}

void
sb_guc_repo_config(SbRepoConfig *cfg)
{
	(void) sb_guc_repo_config_n(1, cfg);
}

bool
sb_guc_repo_config_n(int repo, SbRepoConfig *cfg)
{
	int			n = sb_settings_count();
	int			r = repo - 1;

	Assert(repo >= 1 && repo <= SB_REPO_MAX);
	/* zero-padded: its bytes are its value (sb_push_config_hash) */
	sb_config_init(cfg);
	for (int i = 0; i < n; i++)
	{
		const SbSetting *s = sb_setting_at(i, NULL);
		SbError		err;

		if (!sb_setting_per_repo(s))
			continue;
		if (s->type != SB_SETTING_TYPE_STRING)
		{
			sb_setting_store_int(cfg, i, int_vars[r][i]);
			continue;
		}
		/* the check hooks refused anything that does not fit */
		if (sb_setting_store_string(cfg, i, s->name,
									string_vars[r][i] ? string_vars[r][i] : "",
									&err) != SB_OK)
			elog(ERROR, "could not copy setting \"%s\": %s", s->name, err.msg);
	}

	if (!sb_repo_configured(cfg, repo))
		return false;

	/* tls: repo_path is on the server, its repository root unless set */
	sb_config_default_repo_path(cfg);
	return true;
}

const char *
sb_guc_backup_schedule(void)
{
	return sb_backup_schedule ? sb_backup_schedule : "";
}
