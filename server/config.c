/*-------------------------------------------------------------------------
 *
 * config.c
 *		Read the repository server's configuration file.
 *
 * "name = value" lines, '#' comments, then an "[auth]" section mapping a
 * client certificate's common name to the stanzas it may use and its right
 * on each, and a "[retention]" section for the server's own expire:
 *
 *		listen = 127.0.0.1, ::1		(or "*" for every interface)
 *		port = 8432
 *		repo_path = /srv/pg_safebackup
 *		cert_file = ..., key_file = ..., ca_file = ...
 *		log_level = info			(error, warning, info, debug)
 *		log_file = stderr			(or a file, appended to)
 *		idle_timeout = 600			(seconds)
 *		io_timeout = 60				(seconds)
 *		handshake_timeout = 5		(seconds, TLS handshake and HELLO)
 *		max_connections = 100		(authenticated)
 *		max_handshakes = 64			(not yet authenticated)
 *		max_handshakes_per_host = 8
 *		retention_interval = 3600	(seconds between timed expires; 0: none)
 *		retention_min_days = 7		(the server never expires younger backups)
 *		[auth]
 *		pg1 = main					(right "append": create, read, list)
 *		pg2 = main, reports:append
 *		admin = *:admin				(also replace and remove: expire, rekey)
 *		[retention]
 *		main = 4					(retention_full, applied by the server)
 *		* = 2						(every other stanza)
 *
 * Everything is checked before the configuration is used, so that a reload
 * with a bad file keeps the old one.  The file is read by the reader that
 * the pg_safebackup --config files use too (core/conf_file.h): over-long
 * lines and syntax errors are refused with the line number, an unknown
 * setting with the closest known one as a hint.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf_file.h"
#include "server.h"

static char *
trim(char *s)
{
	char	   *e;

	while (isspace((unsigned char) *s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1]))
		*--e = '\0';
	return s;
}

static bool fail(char *errbuf, size_t errlen, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

static bool
fail(char *errbuf, size_t errlen, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
	return false;
}

static bool
copy_value(char *dst, size_t size, const char *value)
{
	if (strlen(value) >= size)
		return false;
	strcpy(dst, value);
	return true;
}

static bool
parse_int(const char *value, int min, int max, int *out)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < min || v > max)
		return false;
	*out = (int) v;
	return true;
}

/* "a, b, c" -> the listen list */
static bool
parse_listen(SrvConfig *cfg, char *value)
{
	char	   *save = NULL;

	cfg->nlisten = 0;
	for (char *tok = strtok_r(value, ",", &save); tok != NULL;
		 tok = strtok_r(NULL, ",", &save))
	{
		tok = trim(tok);
		if (*tok == '\0')
			continue;
		if (cfg->nlisten == SRV_MAX_LISTEN ||
			!copy_value(cfg->listen[cfg->nlisten], sizeof(cfg->listen[0]), tok))
			return false;
		cfg->nlisten++;
	}
	return cfg->nlisten > 0;
}

static bool
parse_auth(SrvConfig *cfg, const char *cn, char *value, char *errbuf,
		   size_t errlen, const char *file, int lineno)
{
	SrvAuthRule *rule;
	char	   *save = NULL;

	if (*cn == '\0' || strlen(cn) >= SRV_CN_MAX)
		return fail(errbuf, errlen, "invalid common name in file \"%s\" line %d",
					file, lineno);
	if (srv_auth_find(cfg, cn) != NULL)
		return fail(errbuf, errlen, "common name \"%s\" is mapped twice in file \"%s\" line %d",
					cn, file, lineno);
	if (cfg->nauth == SRV_MAX_AUTH)
		return fail(errbuf, errlen, "too many authorization rules (at most %d)",
					SRV_MAX_AUTH);
	rule = &cfg->auth[cfg->nauth];
	memset(rule, 0, sizeof(*rule));
	strcpy(rule->cn, cn);

	for (char *tok = strtok_r(value, ",", &save); tok != NULL;
		 tok = strtok_r(NULL, ",", &save))
	{
		char	   *colon;
		SrvRight	right = SRV_RIGHT_APPEND;

		tok = trim(tok);
		colon = strchr(tok, ':');
		if (colon != NULL)
		{
			*colon = '\0';
			if (!srv_right_parse(trim(colon + 1), &right))
				return fail(errbuf, errlen, "invalid right \"%s\" for \"%s\" in file \"%s\" line %d: expected \"append\" or \"admin\"",
							trim(colon + 1), cn, file, lineno);
			tok = trim(tok);
		}
		if (strcmp(tok, "*") == 0)
		{
			if (rule->all != SRV_RIGHT_NONE)
				return fail(errbuf, errlen, "\"*\" is given twice for \"%s\" in file \"%s\" line %d",
							cn, file, lineno);
			rule->all = right;
			continue;
		}
		if (!sb_stanza_name_valid(tok))
			return fail(errbuf, errlen, "invalid stanza name \"%s\" in file \"%s\" line %d",
						tok, file, lineno);
		for (int i = 0; i < rule->nstanzas; i++)
			if (strcmp(rule->stanzas[i], tok) == 0)
				return fail(errbuf, errlen, "stanza \"%s\" is given twice for \"%s\" in file \"%s\" line %d",
							tok, cn, file, lineno);
		if (rule->nstanzas == SRV_MAX_STANZAS)
			return fail(errbuf, errlen, "too many stanzas for \"%s\" in file \"%s\" line %d (at most %d)",
						cn, file, lineno, SRV_MAX_STANZAS);
		rule->rights[rule->nstanzas] = right;
		strcpy(rule->stanzas[rule->nstanzas++], tok);
	}
	if (rule->all == SRV_RIGHT_NONE && rule->nstanzas == 0)
		return fail(errbuf, errlen, "no stanza given for \"%s\" in file \"%s\" line %d",
					cn, file, lineno);
	cfg->nauth++;
	return true;
}

/* [retention]: "stanza = N" (full backups to keep; "*": every other stanza) */
static bool
parse_retention(SrvConfig *cfg, const char *stanza, const char *value,
				char *errbuf, size_t errlen, const char *file, int lineno)
{
	SrvRetention *r;

	if (strcmp(stanza, "*") != 0 && !sb_stanza_name_valid(stanza))
		return fail(errbuf, errlen, "invalid stanza name \"%s\" in file \"%s\" line %d",
					stanza, file, lineno);
	for (int i = 0; i < cfg->nretention; i++)
		if (strcmp(cfg->retention[i].stanza, stanza) == 0)
			return fail(errbuf, errlen, "retention of stanza \"%s\" is given twice in file \"%s\" line %d",
						stanza, file, lineno);
	if (cfg->nretention == SRV_MAX_STANZAS)
		return fail(errbuf, errlen, "too many retention rules (at most %d)",
					SRV_MAX_STANZAS);
	r = &cfg->retention[cfg->nretention];
	if (!parse_int(value, 0, 1000000, &r->retention_full))
		return fail(errbuf, errlen, "invalid retention_full \"%s\" for stanza \"%s\" in file \"%s\" line %d: expected a number of full backups (0 keeps all)",
					value, stanza, file, lineno);
	strcpy(r->stanza, stanza);
	cfg->nretention++;
	return true;
}

static bool
check_file(const char *what, const char *path, char *errbuf, size_t errlen)
{
	if (path[0] == '\0')
		return fail(errbuf, errlen, "%s is not set", what);
	if (access(path, R_OK) != 0)
		return fail(errbuf, errlen, "could not read %s \"%s\": %s", what, path,
					strerror(errno));
	return true;
}

/*
 * The key must be a regular file that is ours with no group or world
 * access, or root's with no world access (a root-managed key shared with a
 * group, as PostgreSQL allows for its server key).
 */
static bool
check_key_file(const char *path, char *errbuf, size_t errlen)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return fail(errbuf, errlen, "could not access key file \"%s\": %s", path,
					strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return fail(errbuf, errlen, "key file \"%s\" is not a regular file", path);
	if (sb.st_uid == geteuid() && (sb.st_mode & (S_IRWXG | S_IRWXO)) == 0)
		return true;
	if (sb.st_uid == 0 && (sb.st_mode & S_IRWXO) == 0)
		return true;
	return fail(errbuf, errlen,
				"key file \"%s\" has group or world access (permissions %04o): it must be owned by the server's user with permissions 0600 or less, or by root with 0640 or less",
				path, (unsigned int) (sb.st_mode & 07777));
}

/* The settings of the file's first part, before any [section] */
static const char *const setting_names[] = {
	"listen", "port", "repo_path", "cert_file", "key_file", "ca_file",
	"log_file", "log_level", "idle_timeout", "io_timeout",
	"handshake_timeout", "max_connections", "max_handshakes",
	"max_handshakes_per_host", "retention_interval", "retention_min_days"
};

/* Where the reader is: which section, and where the messages go */
typedef struct LoadState
{
	SrvConfig  *cfg;
	char	   *errbuf;
	size_t		errlen;
	bool		in_auth;
	bool		in_retention;
} LoadState;

/* A message of this file's helpers (errbuf) as the reader's error */
static SbStatus
load_failed(LoadState *st, SbError *err)
{
	return sb_error_set(err, SB_ERR_CONFIG, "%s", st->errbuf);
}

static SbStatus
config_section(const SbConfLine *line, void *arg, SbError *err)
{
	LoadState  *st = arg;

	st->in_auth = strcmp(line->section, "auth") == 0;
	st->in_retention = strcmp(line->section, "retention") == 0;
	if (!st->in_auth && !st->in_retention)
		return sb_error_set(err, SB_ERR_CONFIG,
							"unknown section [%s] in file \"%s\" line %d",
							line->section, line->file, line->lineno);
	return SB_OK;
}

/* One setting of the first part; false when the value is not valid. */
static bool
apply_setting(SrvConfig *cfg, const char *key, char *value)
{
	if (strcmp(key, "listen") == 0)
		return parse_listen(cfg, value);
	if (strcmp(key, "port") == 0)
		return parse_int(value, 1, 65535, &cfg->port);
	if (strcmp(key, "repo_path") == 0)
		return value[0] == '/' && copy_value(cfg->repo_path, sizeof(cfg->repo_path), value);
	if (strcmp(key, "cert_file") == 0)
		return copy_value(cfg->cert_file, sizeof(cfg->cert_file), value);
	if (strcmp(key, "key_file") == 0)
		return copy_value(cfg->key_file, sizeof(cfg->key_file), value);
	if (strcmp(key, "ca_file") == 0)
		return copy_value(cfg->ca_file, sizeof(cfg->ca_file), value);
	if (strcmp(key, "log_file") == 0)
		return copy_value(cfg->log_file, sizeof(cfg->log_file), value);
	if (strcmp(key, "log_level") == 0)
	{
		if (strcmp(value, "error") == 0)
			cfg->log_level = SRV_LOG_ERROR;
		else if (strcmp(value, "warning") == 0)
			cfg->log_level = SRV_LOG_WARNING;
		else if (strcmp(value, "info") == 0)
			cfg->log_level = SRV_LOG_INFO;
		else if (strcmp(value, "debug") == 0)
			cfg->log_level = SRV_LOG_DEBUG;
		else
			return false;
		return true;
	}
	if (strcmp(key, "idle_timeout") == 0)
		return parse_int(value, 1, 86400, &cfg->idle_timeout);
	if (strcmp(key, "io_timeout") == 0)
		return parse_int(value, 1, 3600, &cfg->io_timeout);
	if (strcmp(key, "handshake_timeout") == 0)
		return parse_int(value, 1, 600, &cfg->handshake_timeout);
	if (strcmp(key, "max_connections") == 0)
		return parse_int(value, 1, SRV_MAX_CONNECTIONS, &cfg->max_connections);
	if (strcmp(key, "max_handshakes") == 0)
		return parse_int(value, 1, SRV_MAX_HANDSHAKES, &cfg->max_handshakes);
	if (strcmp(key, "retention_interval") == 0)
		return parse_int(value, 0, 7 * 86400, &cfg->retention_interval);
	if (strcmp(key, "retention_min_days") == 0)
		return parse_int(value, 0, 36500, &cfg->retention_min_days);
	if (strcmp(key, "max_handshakes_per_host") == 0)
		return parse_int(value, 1, SRV_MAX_HANDSHAKES,
						 &cfg->max_handshakes_per_host);
	return false;
}

static SbStatus
config_value(const SbConfLine *line, void *arg, SbError *err)
{
	LoadState  *st = arg;
	char		key[SB_CONF_LINE_MAX + 1];
	char		value[SB_CONF_LINE_MAX + 1];
	bool		known = false;

	snprintf(key, sizeof(key), "%s", line->key);
	snprintf(value, sizeof(value), "%s", line->value);
	if (st->in_auth)
		return parse_auth(st->cfg, key, value, st->errbuf, st->errlen,
						  line->file, line->lineno) ? SB_OK : load_failed(st, err);
	if (st->in_retention)
		return parse_retention(st->cfg, key, value, st->errbuf, st->errlen,
							   line->file, line->lineno) ? SB_OK : load_failed(st, err);

	for (char *k = key; *k; k++)
		if (*k == '-')
			*k = '_';
	for (size_t i = 0; i < sizeof(setting_names) / sizeof(setting_names[0]); i++)
		if (strcmp(key, setting_names[i]) == 0)
			known = true;
	if (!known)
	{
		SbConfLine	named = *line;

		named.key = key;
		return sb_conf_unknown_key(&named, "setting", setting_names,
								   (int) (sizeof(setting_names) / sizeof(setting_names[0])),
								   err);
	}
	if (!apply_setting(st->cfg, key, value))
		return sb_error_set(err, SB_ERR_CONFIG,
							"invalid value \"%s\" for \"%s\" in file \"%s\" line %d",
							line->value, key, line->file, line->lineno);
	return SB_OK;
}

bool
srv_config_load(const char *file, SrvConfig *cfg, char *errbuf, size_t errlen)
{
	LoadState	st = {cfg, errbuf, errlen, false, false};
	SbError		err;
	struct stat sb;

	memset(cfg, 0, sizeof(*cfg));
	cfg->port = SB_TLS_DEFAULT_PORT;
	cfg->log_level = SRV_LOG_INFO;
	cfg->idle_timeout = 600;
	cfg->io_timeout = 60;
	cfg->handshake_timeout = 5;
	cfg->max_connections = 100;
	cfg->max_handshakes = 64;
	cfg->max_handshakes_per_host = 8;
	cfg->retention_interval = 3600;
	cfg->retention_min_days = 7;
	if (!copy_value(cfg->file, sizeof(cfg->file), file))
		return fail(errbuf, errlen, "configuration file name is too long");

	sb_error_clear(&err);
	if (sb_conf_parse_file(file, config_value, config_section, &st, &err) != SB_OK)
		return fail(errbuf, errlen, "%s%s%s%s%s", err.msg,
					err.detail[0] ? ". " : "", err.detail,
					!err.hint[0] ? "" : err.detail[0] ? " " : ". ", err.hint);

	if (cfg->nlisten == 0)
	{
		strcpy(cfg->listen[0], "*");
		cfg->nlisten = 1;
	}
	if (cfg->repo_path[0] == '\0')
		return fail(errbuf, errlen, "repo_path is not set in file \"%s\"", file);
	if (stat(cfg->repo_path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return fail(errbuf, errlen, "repository directory \"%s\" does not exist or is not a directory",
					cfg->repo_path);
	if (!check_file("cert_file", cfg->cert_file, errbuf, errlen) ||
		!check_file("key_file", cfg->key_file, errbuf, errlen) ||
		!check_file("ca_file", cfg->ca_file, errbuf, errlen) ||
		!check_key_file(cfg->key_file, errbuf, errlen))
		return false;
	return true;
}
