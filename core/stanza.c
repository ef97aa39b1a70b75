/*-------------------------------------------------------------------------
 *
 * stanza.c
 *		Create, load and check the stanza info file; see stanza.h.
 *
 *-------------------------------------------------------------------------
 */
#include "stanza.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "info_file.h"

static void
info_path(const char *stanza, char *out)
{
	snprintf(out, SB_PATH_MAX, "%s/stanza.info", stanza);
}

static bool
parse_int(const char *s, long long min, long long max, long long *out)
{
	char	   *end;

	if (s == NULL || *s == '\0')
		return false;
	*out = strtoll(s, &end, 10);
	return *end == '\0' && *out >= min && *out <= max;
}

SbStatus
sb_stanza_load(SbStorage *st, const char *stanza, SbStanzaInfo *out,
			   SbError *err)
{
	char		path[SB_PATH_MAX];
	SbInfoFile	info;
	SbStatus	rc;
	const char *sysid;
	char	   *end;
	long long	v;

	info_path(stanza, path);
	rc = sb_info_load(st, path, &info, err);
	if (rc == SB_ERR_NOT_FOUND)
		return sb_error_set(err, SB_ERR_NOT_FOUND,
							"stanza \"%s\" does not exist in the repository", stanza);
	if (rc != SB_OK)
		return rc;

	rc = SB_OK;
	if (!parse_int(sb_info_get(&info, "format_version"), 1, 1000000, &v))
		rc = sb_error_set(err, SB_ERR_CORRUPT,
						  "stanza \"%s\" has an invalid format_version", stanza);
	else
	{
		out->format_version = (int) v;
		sysid = sb_info_get(&info, "system_identifier");
		if (sysid == NULL || *sysid == '\0')
			rc = sb_error_set(err, SB_ERR_CORRUPT,
							  "stanza \"%s\" has no system_identifier", stanza);
		else
		{
			out->system_identifier = strtoull(sysid, &end, 10);
			if (*end != '\0')
				rc = sb_error_set(err, SB_ERR_CORRUPT,
								  "stanza \"%s\" has an invalid system_identifier", stanza);
			else if (!parse_int(sb_info_get(&info, "pg_version"), 1, 1000, &v))
				rc = sb_error_set(err, SB_ERR_CORRUPT,
								  "stanza \"%s\" has an invalid pg_version", stanza);
			else
				out->pg_version = (int) v;
		}
	}
	sb_info_free(&info);
	if (rc == SB_OK && out->format_version > SB_REPO_FORMAT_VERSION)
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "stanza \"%s\" uses repository format version %d, newer than this build supports",
					 stanza, out->format_version);
		sb_error_detail(err, "This build supports repository format version %d.",
						SB_REPO_FORMAT_VERSION);
		sb_error_hint(err, "Upgrade pg_safebackup.");
		return SB_ERR_CONFIG;
	}
	return rc;
}

static SbStatus
check_same_cluster(const char *stanza, const SbStanzaInfo *repo,
				   const SbStanzaInfo *mine, SbError *err)
{
	if (repo->system_identifier != mine->system_identifier)
	{
		sb_error_set(err, SB_ERR_MISMATCH,
					 "stanza \"%s\" belongs to another cluster", stanza);
		sb_error_detail(err,
						"The repository records system identifier %" PRIu64 ", this cluster has %" PRIu64 ".",
						repo->system_identifier, mine->system_identifier);
		sb_error_hint(err,
					  "Set safebackup.stanza to a stanza name of its own for each cluster.");
		return SB_ERR_MISMATCH;
	}
	if (repo->pg_version != mine->pg_version)
	{
		sb_error_set(err, SB_ERR_MISMATCH,
					 "stanza \"%s\" was created for PostgreSQL %d, this cluster runs PostgreSQL %d",
					 stanza, repo->pg_version, mine->pg_version);
		sb_error_hint(err,
					  "After a major version upgrade, back up into a new stanza.");
		return SB_ERR_MISMATCH;
	}
	return SB_OK;
}

SbStatus
sb_stanza_ensure(SbStorage *st, const char *stanza, const SbStanzaInfo *mine,
				 SbError *err)
{
	SbStanzaInfo repo;
	SbInfoFile	info;
	char		path[SB_PATH_MAX];
	char		buf[32];
	SbStatus	rc;
	bool		ok;

	rc = sb_stanza_load(st, stanza, &repo, err);
	if (rc == SB_OK)
		return check_same_cluster(stanza, &repo, mine, err);
	if (rc != SB_ERR_NOT_FOUND)
		return rc;

	/* first use: create the stanza */
	rc = sb_storage_mkdir(st, stanza, err);
	if (rc != SB_OK)
		return rc;

	sb_info_init(&info);
	snprintf(buf, sizeof(buf), "%d", SB_REPO_FORMAT_VERSION);
	ok = sb_info_set(&info, "format_version", buf);
	snprintf(buf, sizeof(buf), "%" PRIu64, mine->system_identifier);
	ok = ok && sb_info_set(&info, "system_identifier", buf);
	snprintf(buf, sizeof(buf), "%d", mine->pg_version);
	ok = ok && sb_info_set(&info, "pg_version", buf);
	ok = ok && sb_info_set(&info, "cipher_type", "none");
	if (!ok)
	{
		sb_info_free(&info);
		return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
	}
	info_path(stanza, path);
	rc = sb_info_save(st, path, 0, &info, err);
	sb_info_free(&info);

	/* somebody else created it at the same moment: check theirs */
	if (rc == SB_ERR_EXISTS)
	{
		rc = sb_stanza_load(st, stanza, &repo, err);
		if (rc == SB_OK)
			rc = check_same_cluster(stanza, &repo, mine, err);
	}
	return rc;
}
