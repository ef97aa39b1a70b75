/*-------------------------------------------------------------------------
 *
 * test_settings.c
 *		Unit tests of the settings tables (core/settings.h) and of the
 *		drivers' capabilities: every row complete and consistent, values
 *		parsed and refused the same way for the CLI and the server, each
 *		driver's settings in its own area.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "sb_test.h"
#include "settings.h"
#include "sftp_settings.h"
#include "storage.h"
#include "tls_settings.h"

SB_TEST_DEFINE_COUNTERS;

/* Every row has what the GUCs, the CLI, the help and the README need. */
static void
test_tables(void)
{
	int			n = sb_settings_count();
	SbRepoConfig cfg;

	SB_CHECK(n > 20);
	SB_CHECK_MSG(n <= SB_SETTINGS_MAX, "%d settings, more than SB_SETTINGS_MAX", n);
	sb_config_init(&cfg);
	for (int i = 0; i < n; i++)
	{
		int			driver;
		const SbSetting *s = sb_setting_at(i, &driver);

		SB_REQUIRE(s != NULL && s->name != NULL);
		SB_CHECK_MSG(s->short_desc != NULL && s->doc != NULL, "%s: texts", s->name);
		SB_CHECK_MSG(sb_setting_index(s->name) == i, "%s: named twice", s->name);
		if (!(s->flags & SB_SETTING_SERVER))
		{
			SB_CHECK_MSG(s->arg != NULL && s->help != NULL, "%s: help", s->name);
			SB_CHECK_MSG(sb_setting_field(&cfg, i) != NULL, "%s: field", s->name);
		}
		/* a driver's settings carry its name: safebackup.sftp_* */
		if (driver >= 0)
		{
			const char *dname = sb_driver_at(driver)->name;

			SB_CHECK_MSG(strncmp(s->name, dname, strlen(dname)) == 0 &&
						 s->name[strlen(dname)] == '_', "%s: prefix", s->name);
		}
		switch (s->type)
		{
			case SB_SETTING_TYPE_STRING:
				SB_CHECK_MSG(s->str_default != NULL &&
							 (s->max_len == 0 || strlen(s->str_default) <= s->max_len),
							 "%s: default", s->name);
				break;
			case SB_SETTING_TYPE_ENUM:
				SB_CHECK_MSG(s->enum_name != NULL && s->enum_name(s->int_default) != NULL,
							 "%s: default", s->name);
				break;
			default:
				SB_CHECK_MSG(s->min <= s->int_default && s->int_default <= s->max,
							 "%s: default", s->name);
				break;
		}
	}
	for (int d = 0; d < sb_driver_count(); d++)
		SB_CHECK(sb_driver_at(d)->settings_size <= SB_DRIVER_AREA_SIZE);
	SB_CHECK(sb_setting_index("no_such_setting") < 0);
	SB_CHECK(sb_setting_index("safebackup.sftp-host") == sb_setting_index("sftp_host"));
}

/* Each repository setting once per repository, by prefix; no repo1_ names. */
static void
test_repo_names(void)
{
	int			repo = 0;
	char		name[96];
	int			path = sb_setting_index("repo_path");
	int			host = sb_setting_index("sftp_host");
	SbRepoConfig cfg;

	SB_CHECK(sb_setting_lookup("repo2_path", &repo) == path && repo == 2);
	SB_CHECK(sb_setting_lookup("safebackup.repo4-sftp-host", &repo) == host && repo == 4);
	SB_CHECK(sb_setting_lookup("repo_path", &repo) == path && repo == 1);
	SB_CHECK(sb_setting_lookup("repo2_stanza", &repo) == sb_setting_index("stanza") && repo == 2);
	SB_CHECK(sb_setting_lookup("repo1_path", &repo) < 0);
	SB_CHECK(sb_setting_lookup("repo5_path", &repo) < 0);
	SB_CHECK(sb_setting_lookup("repo2_repo_path", &repo) < 0);
	SB_CHECK(sb_setting_lookup("repo2_backup_schedule", &repo) < 0);
	SB_CHECK(sb_setting_index("repo2_path") < 0);
	sb_setting_repo_name(sb_setting_at(sb_setting_index("repo_type"), NULL), 3,
						 name, sizeof(name));
	SB_CHECK(strcmp(name, "repo3_type") == 0);
	sb_setting_repo_name(sb_setting_at(host, NULL), 1, name, sizeof(name));
	SB_CHECK(strcmp(name, "sftp_host") == 0);
	sb_config_init(&cfg);
	SB_CHECK(sb_repo_configured(&cfg, 1));
	SB_CHECK(!sb_repo_configured(&cfg, 2));
	strcpy(cfg.repo_path, "/r");
	SB_CHECK(sb_repo_configured(&cfg, 2));
}

/* Defaults land in each driver's own area. */
static void
test_defaults(void)
{
	SbRepoConfig cfg;

	sb_config_init(&cfg);
	SB_CHECK(cfg.repo_type == SB_REPO_POSIX);
	SB_CHECK(strcmp(cfg.stanza, "main") == 0);
	SB_CHECK(cfg.io_timeout_ms == 60000);
	SB_CHECK(SB_SFTP(&cfg)->sftp_port == 22);
	SB_CHECK(SB_TLS(&cfg)->tls_port == SB_TLS_DEFAULT_PORT);
	SB_CHECK(SB_TLS(&cfg)->tls_host[0] == '\0');
	SB_CHECK((void *) SB_SFTP(&cfg) != (void *) SB_TLS(&cfg));

	/* an empty repo_path is the driver's default, when it has one */
	sb_config_default_repo_path(&cfg);
	SB_CHECK(cfg.repo_path[0] == '\0');
	cfg.repo_type = sb_test_repo_type("tls");
	sb_config_default_repo_path(&cfg);
	SB_CHECK(strcmp(cfg.repo_path, "/") == 0);
}

static SbStatus
set(SbRepoConfig *cfg, const char *name, const char *value, SbError *err)
{
	sb_error_clear(err);
	return sb_setting_set(cfg, sb_setting_index(name), name, value, err);
}

/* Values parsed by type, refused with the reason. */
static void
test_parse(void)
{
	SbRepoConfig cfg;
	SbError		err;

	sb_config_init(&cfg);
	SB_CHECK(set(&cfg, "io_timeout", "30s", &err) == SB_OK && cfg.io_timeout_ms == 30000);
	SB_CHECK(set(&cfg, "io_timeout", "2min", &err) == SB_OK && cfg.io_timeout_ms == 120000);
	SB_CHECK(set(&cfg, "io_timeout", "5000", &err) == SB_OK && cfg.io_timeout_ms == 5000);
	SB_CHECK(set(&cfg, "io_timeout", "500", &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strcmp(err.hint, "Give a time between 1s and 60min, such as \"30s\" or \"60000\" (milliseconds).") == 0,
				 "%s", err.hint);
	SB_CHECK(set(&cfg, "io_timeout", "61min", &err) == SB_ERR_CONFIG);
	SB_CHECK(set(&cfg, "io_timeout", "3h", &err) == SB_ERR_CONFIG);

	SB_CHECK(set(&cfg, "compress_type", "LZ4", &err) == SB_OK &&
			 cfg.compress_type == SB_COMPRESS_LZ4);
	SB_CHECK(set(&cfg, "compress_type", "brotli", &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strcmp(err.msg, "invalid value \"brotli\" for option \"compress_type\"") == 0,
				 "%s", err.msg);
	SB_CHECK_MSG(strcmp(err.hint, "Valid values are \"none\", \"zlib\", \"lz4\" and \"zstd\".") == 0,
				 "%s", err.hint);
	SB_CHECK(set(&cfg, "repo_type", "sftp", &err) == SB_OK &&
			 cfg.repo_type == sb_test_repo_type("sftp"));

	SB_CHECK(set(&cfg, "sftp_port", "2222", &err) == SB_OK && SB_SFTP(&cfg)->sftp_port == 2222);
	SB_CHECK(set(&cfg, "sftp_port", "0", &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strcmp(err.msg, "option \"sftp_port\" must be an integer between 1 and 65535") == 0,
				 "%s", err.msg);
	SB_CHECK(SB_SFTP(&cfg)->sftp_port == 2222);
	SB_CHECK(set(&cfg, "tls_port", "12x", &err) == SB_ERR_CONFIG);

	SB_CHECK(set(&cfg, "repo_path", "relative", &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strcmp(err.msg, "repo_path must be an absolute path") == 0, "%s", err.msg);
	SB_CHECK(set(&cfg, "cipher_pass_file", "pass", &err) == SB_ERR_CONFIG);
	SB_CHECK(set(&cfg, "stanza", ".hidden", &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strcmp(err.msg, "invalid stanza name \".hidden\"") == 0, "%s", err.msg);
	SB_CHECK(set(&cfg, "sftp_host_key_fingerprint", "SHA256:nonsense", &err) == SB_ERR_CONFIG);
	SB_CHECK(set(&cfg, "sftp_host", "backup.example", &err) == SB_OK &&
			 strcmp(SB_SFTP(&cfg)->sftp_host, "backup.example") == 0);
	/* another driver's setting of the same kind is its own */
	SB_CHECK(SB_TLS(&cfg)->tls_host[0] == '\0');
}

/* Capabilities answer what callers used to ask by driver name. */
static void
test_capabilities(void)
{
	const SbDriver *posix = sb_driver_at(sb_test_repo_type("posix"));
	const SbDriver *sftp = sb_driver_at(sb_test_repo_type("sftp"));
	const SbDriver *tls = sb_driver_at(sb_test_repo_type("tls"));
	SbRepoMode	mode;

	SB_REQUIRE(posix != NULL && sftp != NULL && tls != NULL);
	SB_CHECK(sb_driver_at(SB_REPO_POSIX) == posix);
	SB_CHECK(posix->ops->caps & SB_CAP_DIR_FSYNC);
	SB_CHECK(posix->ops->caps & SB_CAP_LOCAL);
	SB_CHECK(!(sftp->ops->caps & SB_CAP_LOCAL));
	SB_CHECK(tls->ops->caps & SB_CAP_SERVER_MODE);
	SB_CHECK(!(sftp->ops->caps & SB_CAP_SERVER_MODE));
	for (int d = 0; d < sb_driver_count(); d++)
		SB_CHECK((sb_driver_at(d)->ops->caps & SB_CAP_ATOMIC_RENAME) ||
				 strcmp(sb_driver_at(d)->name, "s3") == 0);
	/* S3 has no rename: objects are published whole by their last request */
	SB_CHECK(!(sb_driver_at(sb_test_repo_type("s3"))->ops->caps & SB_CAP_ATOMIC_RENAME));

	SB_CHECK(sb_driver_mode_before_open(posix, &mode) && mode == SB_REPO_MODE_ADMIN);
	SB_CHECK(sb_driver_mode_before_open(sftp, &mode) && mode == SB_REPO_MODE_UNKNOWN);
	SB_CHECK(!sb_driver_mode_before_open(tls, &mode));
}

int
main(void)
{
	test_tables();
	test_repo_names();
	test_defaults();
	test_parse();
	test_capabilities();
	return sb_test_summary("test_settings");
}
