/*-------------------------------------------------------------------------
 *
 * s3_instance.c
 *		Temporary S3 credentials of the EC2 instance's IAM role, from the
 *		instance metadata service (s3_credentials_source = 'instance'), so
 *		that no key needs to be stored on a cloud host.
 *
 * IMDSv2: a session token is asked for with a PUT, then the role's name and
 * its credentials (JSON: AccessKeyId, SecretAccessKey, Token, Expiration)
 * are read with it.  The service is http://169.254.169.254 unless
 * AWS_EC2_METADATA_SERVICE_ENDPOINT says otherwise (as for the AWS tools).
 * The credentials are fetched before the first request and again five
 * minutes before they expire (s3_http.c asks before each signed request).
 * The requests go through s3_http.c like every other, so waits stay
 * interruptible and failures are retried with the same backoff.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "s3_internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IMDS_DEFAULT	"http://169.254.169.254"
#define IMDS_ROLE_PATH	"/latest/meta-data/iam/security-credentials/"
/* fetch again this long before the credentials expire */
#define REFRESH_MARGIN_S	300
/* and at the latest after this long when they do not say */
#define REFRESH_DEFAULT_S	900

static const char *
imds_base(void)
{
	const char *e = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");

	return e != NULL && e[0] != '\0' ? e : IMDS_DEFAULT;
}

static SbStatus
imds_failed(const char *what, const char *why, SbError *err)
{
	sb_error_set(err, SB_ERR_AUTH,
				 "could not get S3 credentials from the instance metadata service at \"%s\": %s%s%s",
				 imds_base(), what, why ? ": " : "", why ? why : "");
	sb_error_hint(err, "Check that this host is an EC2 instance with an IAM role that may use the bucket and that the metadata service is enabled, or set safebackup.s3_credentials_source to \"static\" and give the keys in safebackup.s3_credentials_file.");
	return SB_ERR_AUTH;
}

/* One request to the service; the answer's body in out (text). */
static SbStatus
imds_request(SbStorage *st, const char *method, const char *path,
			 const char *header, S3Buf *out, SbError *err)
{
	S3Request	req;
	char		url[1024];
	SbError		cause;
	SbStatus	rc;

	if (snprintf(url, sizeof(url), "%s%s", imds_base(), path) >= (int) sizeof(url))
		return imds_failed("the address is too long", NULL, err);
	s3_request_init(&req, method, NULL);
	req.url = url;
	req.headers[0] = header;
	req.out = out;
	out->len = 0;
	sb_error_clear(&cause);
	rc = s3_http_do(st, &req, &cause);
	if (rc == SB_ERR_NETWORK)
		return imds_failed(path, cause.msg, err);
	if (rc != SB_OK)
	{
		*err = cause;			/* asked to stop, out of memory */
		return rc;
	}
	if (req.status != 200)
	{
		char		why[64];

		snprintf(why, sizeof(why), "HTTP status %ld", req.status);
		return imds_failed(path, why, err);
	}
	if (!s3_buf_append(out, "", 1))
		return sb_error_oom(err);
	out->len--;
	return SB_OK;
}

/* A string member of obj, or NULL. */
static const char *
member(json_object *obj, const char *name)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, name, &v) ||
		!json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* "2026-12-06T10:00:00Z" as seconds since the epoch, or -1. */
static int64_t
parse_utc(const char *s)
{
	struct tm	tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL || (*end != 'Z' && *end != '.' && *end != '\0'))
		return -1;
	return (int64_t) timegm(&tm);
}

static int64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

SbStatus
s3_instance_credentials(SbStorage *st, SbError *err)
{
	S3Storage  *s = st->priv;
	S3Buf		buf;
	char		token_hdr[600];
	char		role[256];
	char		path[512];
	json_object *doc = NULL;
	const char *key;
	const char *secret;
	const char *token;
	const char *expiration;
	int64_t		left_s = REFRESH_DEFAULT_S;
	SbStatus	rc;
	size_t		n;

	s3_buf_init(&buf, 64 * 1024);
	/* a session token of the service, for six hours */
	rc = imds_request(st, "PUT", "/latest/api/token",
					  "X-aws-ec2-metadata-token-ttl-seconds: 21600", &buf, err);
	if (rc != SB_OK)
		goto done;
	n = strcspn(buf.data, "\r\n");
	if (n == 0 || n > 512)
	{
		rc = imds_failed("/latest/api/token", "no session token in the answer", err);
		goto done;
	}
	snprintf(token_hdr, sizeof(token_hdr), "X-aws-ec2-metadata-token: %.*s", (int) n, buf.data);

	/* the instance's role: the first line of the listing */
	rc = imds_request(st, "GET", IMDS_ROLE_PATH, token_hdr, &buf, err);
	if (rc != SB_OK)
		goto done;
	n = strcspn(buf.data, "\r\n");
	if (n == 0 || n >= sizeof(role) || strcspn(buf.data, "/?#% ") < n)
	{
		rc = imds_failed(IMDS_ROLE_PATH, "the instance has no IAM role", err);
		goto done;
	}
	memcpy(role, buf.data, n);
	role[n] = '\0';

	snprintf(path, sizeof(path), "%s%s", IMDS_ROLE_PATH, role);
	rc = imds_request(st, "GET", path, token_hdr, &buf, err);
	if (rc != SB_OK)
		goto done;
	doc = json_tokener_parse(buf.data);
	key = doc ? member(doc, "AccessKeyId") : NULL;
	secret = doc ? member(doc, "SecretAccessKey") : NULL;
	token = doc ? member(doc, "Token") : NULL;
	expiration = doc ? member(doc, "Expiration") : NULL;
	if (key == NULL || secret == NULL || key[0] == '\0' || secret[0] == '\0')
	{
		rc = imds_failed(path, "no AccessKeyId and SecretAccessKey in the answer", err);
		goto done;
	}
	if (strchr(key, ':') != NULL ||
		strlen(key) + strlen(secret) + 2 > sizeof(s->userpwd) ||
		(token != NULL && strlen(token) >= sizeof(s->token)))
	{
		rc = imds_failed(path, "the credentials in the answer are malformed or too long", err);
		goto done;
	}
	snprintf(s->userpwd, sizeof(s->userpwd), "%s:%s", key, secret);
	snprintf(s->token, sizeof(s->token), "%s", token ? token : "");
	if (expiration != NULL)
	{
		int64_t		at = parse_utc(expiration);

		if (at < 0)
		{
			rc = imds_failed(path, "the Expiration in the answer is not a UTC time", err);
			goto done;
		}
		left_s = at - (int64_t) time(NULL) - REFRESH_MARGIN_S;
		if (left_s > REFRESH_DEFAULT_S * 4)
			left_s = REFRESH_DEFAULT_S * 4;
	}
	/* credentials about to expire are used once, and fetched again */
	s->creds_refresh_ms = monotonic_ms() + (left_s > 0 ? left_s * 1000 : 0);
	rc = SB_OK;

done:
	if (doc != NULL)
		json_object_put(doc);
	if (buf.data != NULL)
		memset(buf.data, 0, buf.cap);
	s3_buf_free(&buf);
	return rc;
}
