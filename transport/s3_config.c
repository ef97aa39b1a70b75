/*-------------------------------------------------------------------------
 *
 * s3_config.c
 *		The S3 driver's settings: checked once when the storage is opened,
 *		turned into the URL base and the signing scope, and the access key
 *		and secret read from the credentials file (permissions checked like
 *		every other secret file) or from the environment.
 *
 * Credentials file: "name = value" lines; access_key_id,
 * secret_access_key and optionally session_token (an "aws_" prefix is
 * accepted, so a one-profile ~/.aws/credentials file works; "[section]"
 * lines and lines starting with '#' or ';' are skipped).  Without a file:
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.  With
 * s3_credentials_source = 'instance' they come from the instance metadata
 * service instead, before the first request (s3_instance.c).
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "s3_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secret_file.h"

#define CRED_FILE_MAX	8192

/* A bucket name as S3 allows it: 3-63 of [a-z0-9.-], no '/' anyway. */
static bool
bucket_name_valid(const char *b)
{
	size_t		len = strlen(b);

	if (len < 3 || len > 63)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(islower((unsigned char) b[i]) || isdigit((unsigned char) b[i]) ||
			  b[i] == '.' || b[i] == '-' || b[i] == '_'))
			return false;
	return true;
}

/* host, [v6]:port or host:port of letters, digits, '.', '-', ':', '[', ']' */
static bool
endpoint_valid(const char *e)
{
	if (e[0] == '\0')
		return false;
	for (const char *p = e; *p; p++)
		if (!(isalnum((unsigned char) *p) || strchr(".-:[]_", *p) != NULL))
			return false;
	return true;
}

SbStatus
s3_check_settings(const SbRepoConfig *cfg, S3Storage *s, SbError *err)
{
	const char *region = SB_S3(cfg)->s3_region[0] ? SB_S3(cfg)->s3_region : "us-east-1";
	char		endpoint[300];
	const char *rp = cfg->repo_path;
	size_t		len;

	if (SB_S3(cfg)->s3_bucket[0] == '\0')
	{
		sb_error_set(err, SB_ERR_CONFIG, "S3 bucket is not set");
		sb_error_hint(err, "Set safebackup.s3_bucket to the name of an existing bucket.");
		return SB_ERR_CONFIG;
	}
	if (!bucket_name_valid(SB_S3(cfg)->s3_bucket))
	{
		sb_error_set(err, SB_ERR_CONFIG, "invalid S3 bucket name \"%s\"",
					 SB_S3(cfg)->s3_bucket);
		sb_error_detail(err, "A bucket name is 3 to 63 lower-case letters, digits, \".\", \"-\" or \"_\".");
		return SB_ERR_CONFIG;
	}
	for (const char *p = region; *p; p++)
		if (!(isalnum((unsigned char) *p) || *p == '-'))
			return sb_error_set(err, SB_ERR_CONFIG, "invalid S3 region \"%s\"", region);
	if (SB_S3(cfg)->s3_endpoint[0] != '\0')
	{
		if (strstr(SB_S3(cfg)->s3_endpoint, "://") != NULL)
		{
			sb_error_set(err, SB_ERR_CONFIG, "invalid S3 endpoint \"%s\"",
						 SB_S3(cfg)->s3_endpoint);
			sb_error_hint(err, "Give the endpoint as HOST or HOST:PORT, without \"https://\": the repository is always reached over HTTPS.");
			return SB_ERR_CONFIG;
		}
		if (!endpoint_valid(SB_S3(cfg)->s3_endpoint))
			return sb_error_set(err, SB_ERR_CONFIG, "invalid S3 endpoint \"%s\"",
								SB_S3(cfg)->s3_endpoint);
		snprintf(endpoint, sizeof(endpoint), "%s", SB_S3(cfg)->s3_endpoint);
	}
	else
		snprintf(endpoint, sizeof(endpoint), "s3.%s.amazonaws.com", region);

	if (SB_S3(cfg)->s3_uri_style == SB_S3_URI_PATH)
	{
		snprintf(s->base_url, sizeof(s->base_url), "https://%s", endpoint);
		snprintf(s->bucket_path, sizeof(s->bucket_path), "/%s", SB_S3(cfg)->s3_bucket);
	}
	else
	{
		if (strchr(SB_S3(cfg)->s3_bucket, '.') != NULL)
		{
			sb_error_set(err, SB_ERR_CONFIG,
						 "S3 bucket name \"%s\" cannot be used in a host name",
						 SB_S3(cfg)->s3_bucket);
			sb_error_hint(err, "Set safebackup.s3_uri_style to \"path\": a bucket name with dots does not match the server's certificate as a host name.");
			return SB_ERR_CONFIG;
		}
		snprintf(s->base_url, sizeof(s->base_url), "https://%s.%s",
				 SB_S3(cfg)->s3_bucket, endpoint);
		s->bucket_path[0] = '\0';
	}
	snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", region);

	/* repo_path: a key prefix, "" for the whole bucket, else "dir/" */
	if (rp[0] != '\0' && rp[0] != '/')
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "repository path \"%s\" is not an absolute path", rp);
		sb_error_hint(err, "Set safebackup.repo_path to the key prefix in the bucket, starting with \"/\" (\"/\" for the whole bucket).");
		return SB_ERR_CONFIG;
	}
	while (*rp == '/')
		rp++;
	len = strlen(rp);
	while (len > 0 && rp[len - 1] == '/')
		len--;
	if (len > 0 && len + 2 > sizeof(s->prefix))
		return sb_error_set(err, SB_ERR_CONFIG, "repository path is too long");
	memcpy(s->prefix, rp, len);
	s->prefix[len] = '\0';
	if (len > 0)
	{
		if (!sb_path_valid(s->prefix))
			return sb_error_set(err, SB_ERR_CONFIG,
								"invalid repository path \"%s\"", cfg->repo_path);
		strcat(s->prefix, "/");
	}
	return SB_OK;
}

/* Copy value (trimmed) into out; false when it does not fit. */
static bool
set_value(char *out, size_t outsz, const char *value)
{
	size_t		len = strlen(value);

	while (len > 0 && isspace((unsigned char) value[len - 1]))
		len--;
	if (len >= outsz)
		return false;
	memcpy(out, value, len);
	out[len] = '\0';
	return true;
}

static SbStatus
parse_credentials(const char *path, char *text, char *key, char *secret,
				  char *token, size_t tokensz, SbError *err)
{
	int			lineno = 0;

	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n"))
	{
		char	   *eq;
		char	   *name = line;
		char	   *value;
		char	   *end;
		bool		ok;

		lineno++;
		while (isspace((unsigned char) *name))
			name++;
		if (*name == '\0' || *name == '#' || *name == ';' || *name == '[')
			continue;
		eq = strchr(name, '=');
		if (eq == NULL)
		{
			sb_error_set(err, SB_ERR_CONFIG,
						 "syntax error in S3 credentials file \"%s\" line %d",
						 path, lineno);
			sb_error_hint(err, "Write \"access_key_id = KEY\" and \"secret_access_key = SECRET\" on lines of their own.");
			return SB_ERR_CONFIG;
		}
		for (end = eq; end > name && isspace((unsigned char) end[-1]); end--)
			;
		*end = '\0';
		value = eq + 1;
		while (isspace((unsigned char) *value))
			value++;
		if (strncmp(name, "aws_", 4) == 0)
			name += 4;
		if (strcmp(name, "access_key_id") == 0)
			ok = set_value(key, 256, value);
		else if (strcmp(name, "secret_access_key") == 0)
			ok = set_value(secret, 256, value);
		else if (strcmp(name, "session_token") == 0)
			ok = set_value(token, tokensz, value);
		else
			continue;			/* region and the like: not ours */
		if (!ok)
			return sb_error_set(err, SB_ERR_CONFIG,
								"value of \"%s\" in S3 credentials file \"%s\" is too long",
								name, path);
	}
	return SB_OK;
}

static SbStatus
read_credentials_file(const char *path, char *key, char *secret, char *token,
					  size_t tokensz, SbError *err)
{
	char	   *text;
	ssize_t		n;
	size_t		len = 0;
	SbStatus	rc;
	int			fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		sb_error_errno(err, errno, "could not open S3 credentials file \"%s\"", path);
		err->status = SB_ERR_CONFIG;
		return SB_ERR_CONFIG;
	}
	rc = sb_secret_file_check(path, fd, "S3 credentials file", SB_ERR_CONFIG, err);
	if (rc != SB_OK)
	{
		close(fd);
		return rc;
	}
	text = malloc(CRED_FILE_MAX + 1);
	if (text == NULL)
	{
		close(fd);
		return sb_error_oom(err);
	}
	while (len < CRED_FILE_MAX &&
		   (n = read(fd, text + len, CRED_FILE_MAX - len)) != 0)
	{
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			rc = sb_error_errno(err, errno, "could not read S3 credentials file \"%s\"", path);
			break;
		}
		len += (size_t) n;
	}
	close(fd);
	text[len] = '\0';
	if (rc == SB_OK)
		rc = parse_credentials(path, text, key, secret, token, tokensz, err);
	memset(text, 0, CRED_FILE_MAX + 1);
	free(text);
	return rc;
}

SbStatus
s3_load_credentials(const SbRepoConfig *cfg, S3Storage *s, SbError *err)
{
	char		key[256] = "";
	char		secret[256] = "";
	const char *where;
	SbStatus	rc = SB_OK;

	s->token[0] = '\0';
	s->instance = false;
	if (SB_S3(cfg)->s3_credentials_source == SB_S3_CREDENTIALS_INSTANCE)
	{
		if (SB_S3(cfg)->s3_credentials_file[0] != '\0')
		{
			sb_error_set(err, SB_ERR_CONFIG,
						 "safebackup.s3_credentials_file cannot be used with safebackup.s3_credentials_source \"instance\"");
			sb_error_hint(err, "Empty safebackup.s3_credentials_file to use the instance's IAM role, or set safebackup.s3_credentials_source to \"static\" to use the file.");
			return SB_ERR_CONFIG;
		}
		/* fetched before the first request (s3_http.c) */
		s->instance = true;
		s->creds_refresh_ms = 0;
		s->userpwd[0] = '\0';
		return SB_OK;
	}
	if (SB_S3(cfg)->s3_credentials_file[0] != '\0')
	{
		where = SB_S3(cfg)->s3_credentials_file;
		rc = read_credentials_file(where, key, secret, s->token,
								   sizeof(s->token), err);
	}
	else
	{
		const char *k = getenv("AWS_ACCESS_KEY_ID");
		const char *sec = getenv("AWS_SECRET_ACCESS_KEY");
		const char *tok = getenv("AWS_SESSION_TOKEN");

		where = "the environment";
		if ((k && !set_value(key, sizeof(key), k)) ||
			(sec && !set_value(secret, sizeof(secret), sec)) ||
			(tok && !set_value(s->token, sizeof(s->token), tok)))
			rc = sb_error_set(err, SB_ERR_CONFIG,
							  "S3 credentials in the environment are too long");
	}
	if (rc == SB_OK && (key[0] == '\0' || secret[0] == '\0'))
	{
		sb_error_set(err, SB_ERR_CONFIG, "no S3 access key and secret in %s%s%s",
					 where == SB_S3(cfg)->s3_credentials_file ? "\"" : "", where,
					 where == SB_S3(cfg)->s3_credentials_file ? "\"" : "");
		sb_error_hint(err, "Set safebackup.s3_credentials_file to a file (mode 0600) with \"access_key_id = KEY\" and \"secret_access_key = SECRET\" lines, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment.");
		rc = SB_ERR_CONFIG;
	}
	else if (rc == SB_OK && strchr(key, ':') != NULL)
		rc = sb_error_set(err, SB_ERR_CONFIG,
						  "S3 access key ID must not contain \":\"");
	if (rc == SB_OK)
		snprintf(s->userpwd, sizeof(s->userpwd), "%s:%s", key, secret);
	memset(secret, 0, sizeof(secret));
	return rc;
}
