/*-------------------------------------------------------------------------
 *
 * s3_settings.c
 *		The S3 driver and the table of its settings: the GUCs, options,
 *		help and README rows of safebackup.s3_* come from here.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "s3_settings.h"


_Static_assert(sizeof(SbS3Settings) <= SB_DRIVER_AREA_SIZE,
			   "S3 settings do not fit the driver area");

static const char *
uri_style_name(int i)
{
	static const char *const names[] = {
		[SB_S3_URI_HOST] = "host",
		[SB_S3_URI_PATH] = "path"
	};

	return i >= 0 && i < (int) (sizeof(names) / sizeof(names[0])) ? names[i] : NULL;
}

static const char *
credentials_source_name(int i)
{
	static const char *const names[] = {
		[SB_S3_CREDENTIALS_STATIC] = "static",
		[SB_S3_CREDENTIALS_INSTANCE] = "instance"
	};

	return i >= 0 && i < (int) (sizeof(names) / sizeof(names[0])) ? names[i] : NULL;
}

/* "https://" belongs to no endpoint: the repository is always HTTPS */
static SbStatus
check_endpoint(const SbSetting *s, const char *shown, const char *value,
			   SbError *err)
{
	for (const char *p = value; *p; p++)
	{
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == ':' ||
			*p == '[' || *p == ']' || *p == '_')
			continue;
		sb_error_set(err, SB_ERR_CONFIG, "invalid value \"%s\" for %s", value, shown);
		sb_error_hint(err, "Give the endpoint as HOST or HOST:PORT, without \"https://\" or a path: the repository is always reached over HTTPS.");
		return SB_ERR_CONFIG;
	}
	return SB_OK;
}

static const SbSetting s3_settings[] = {
	{.name = "s3_bucket", SB_STRING_FIELD(SbS3Settings, s3_bucket),
		.str_default = "", .arg = "BUCKET",
		.help = "S3 bucket (it must exist)",
		.short_desc = "Name of the S3 bucket that holds the repository (repo_type s3).",
	.doc = "`repo_type = 's3'`: the bucket (it must exist); `repo_path` is the key prefix in it, `/` for the whole bucket.  See [S3 repository](#s3-repository)"},
	{.name = "s3_region", SB_STRING_FIELD(SbS3Settings, s3_region),
		.str_default = "us-east-1", .arg = "REGION",
		.help = "its region, for request signing (default us-east-1)",
		.short_desc = "Region of the S3 bucket, part of every request's signature.",
	.doc = "the bucket's region, part of every request's signature (SigV4); gateways such as Ceph RGW or MinIO accept `us-east-1`"},
	{.name = "s3_endpoint", SB_STRING_FIELD(SbS3Settings, s3_endpoint),
		.str_default = "", .check = check_endpoint, .arg = "HOST[:PORT]",
		.help = "S3 server (default: AWS for the region)",
		.short_desc = "Host name and port of the S3 server (default: the AWS endpoint of s3_region).",
		.doc_default = "(empty: `s3.REGION.amazonaws.com`)",
	.doc = "host name or address of the S3 server, with `:PORT` when not 443; always HTTPS"},
	{.name = "s3_uri_style", .type = SB_SETTING_TYPE_ENUM,
		SB_INT_FIELD(SbS3Settings, s3_uri_style),
		.int_default = SB_S3_URI_HOST, .enum_name = uri_style_name,
		.arg = "STYLE", .help = "host (BUCKET.ENDPOINT, default) or path (ENDPOINT/BUCKET)",
		.short_desc = "How requests name the bucket: host (virtual-host style) or path.",
	.doc = "`host`: requests go to `BUCKET.ENDPOINT` (virtual-host style, what AWS wants; the server's certificate must cover that name); `path`: to `ENDPOINT/BUCKET` (gateways without wildcard DNS, bucket names with dots)"},
	{.name = "s3_credentials_file", SB_STRING_FIELD(SbS3Settings, s3_credentials_file),
		.flags = SB_SETTING_SECRET | SB_SETTING_FILE | SB_SETTING_ABSOLUTE,
		.str_default = "", .arg = "FILE",
		.help = "access key and secret (mode 0600)",
		.short_desc = "File holding the S3 access key and secret; must have permissions 0600 or less.",
		.long_desc = "Lines \"access_key_id = ...\", \"secret_access_key = ...\" and optionally \"session_token = ...\".  Empty: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment.",
		.doc_default = "(empty: the environment)",
	.doc = "file with `access_key_id = ...` and `secret_access_key = ...` lines (and `session_token = ...` for temporary credentials); owned by the PostgreSQL OS user with permissions `0600` or less, else refused.  Empty: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`) from the environment"},
	{.name = "s3_credentials_source", .type = SB_SETTING_TYPE_ENUM,
		SB_INT_FIELD(SbS3Settings, s3_credentials_source),
		.int_default = SB_S3_CREDENTIALS_STATIC, .enum_name = credentials_source_name,
		.arg = "SOURCE", .help = "static (the file, else the environment; default) or instance",
		.short_desc = "Where the S3 access key and secret come from: static (s3_credentials_file or the environment) or instance (the EC2 instance metadata service).",
		.doc_default = "`static`",
	.doc = "`static`: the key and secret of `s3_credentials_file`, or of the environment when it is empty; `instance`: the temporary credentials of the IAM role of the EC2 instance, from its metadata service (IMDSv2, `http://169.254.169.254`, or `AWS_EC2_METADATA_SERVICE_ENDPOINT` in the environment), fetched again before they expire; `s3_credentials_file` must then be empty.  See [S3 repository](#s3-repository)"},
	{.name = "s3_ca_file", SB_STRING_FIELD(SbS3Settings, s3_ca_file),
		.flags = SB_SETTING_FILE, .str_default = "", .arg = "FILE",
		.help = "CA that signed the S3 server's certificate",
		.short_desc = "CA certificate(s) the S3 server's certificate must chain to (default: the system's).",
		.doc_default = "(empty: the system's CAs)",
	.doc = "CA certificate(s) the S3 server's certificate must chain to; the certificate and its name are always verified"},
};

const SbDriver sb_s3_driver = {
	.name = "s3",
	.ops = &sb_s3_ops,
	.title = "S3 repository options (--repo-type=s3)",
	.settings = s3_settings,
	.nsettings = (int) (sizeof(s3_settings) / sizeof(s3_settings[0])),
	.settings_size = sizeof(SbS3Settings),
	/* the whole bucket */
	.default_repo_path = "/"
};
