/*-------------------------------------------------------------------------
 *
 * wal.c
 *		Push, find and get WAL files in the repository; see wal.h.
 *
 *-------------------------------------------------------------------------
 */
#include "wal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "temp_file.h"

static bool
all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char) s[i]) || islower((unsigned char) s[i]))
			return false;
	return true;
}

bool
sb_wal_name_valid(const char *walname)
{
	size_t		len = strlen(walname);

	/* 000000010000000000000001 */
	if (len == 24)
		return all_hex(walname, 24);
	/* 000000010000000000000001.partial */
	if (len == 32 && strcmp(walname + 24, ".partial") == 0)
		return all_hex(walname, 24);
	/* 000000010000000000000001.00000028.backup */
	if (len == 40 && walname[24] == '.' && strcmp(walname + 33, ".backup") == 0)
		return all_hex(walname, 24) && all_hex(walname + 25, 8);
	/* 00000002.history */
	if (len == 16 && strcmp(walname + 8, ".history") == 0)
		return all_hex(walname, 8);
	return false;
}

bool
sb_wal_stored_tail_parse(const char *p, char *sha, SbCompressType *ct)
{
	int			n = 0;

	/* SHA-256 (64 digits) or XXH3-128 (32): see SbDigestKind */
	while (n <= SB_SHA256_HEX_LEN && isxdigit((unsigned char) p[n]))
		n++;
	if (n != SB_SHA256_HEX_LEN && n != SB_XXH128_HEX_LEN)
		return false;
	if (!sb_compress_type_from_suffix(p + n, ct))
		return false;
	if (sha != NULL)
	{
		memcpy(sha, p, n);
		sha[n] = '\0';
	}
	return true;
}

void
sb_wal_dir(const char *stanza, const char *walname, char *out)
{
	if (strlen(walname) >= 24 && all_hex(walname, 24))
		snprintf(out, SB_PATH_MAX, "%s/wal/%.16s", stanza, walname);
	else
		snprintf(out, SB_PATH_MAX, "%s/wal/history", stanza);
}

typedef struct FindState
{
	const char *walname;
	size_t		walname_len;
	int			nfound;
	SbWalEntry *entry;
	char		other_sha[SB_SHA256_HEX_LEN + 1];
} FindState;

static bool
find_cb(const char *name, const SbStat *st, void *arg)
{
	FindState  *fs = arg;
	const char *p;
	SbCompressType ct;
	char		sha[SB_SHA256_HEX_LEN + 1];

	(void) st;
	if (strncmp(name, fs->walname, fs->walname_len) != 0 ||
		name[fs->walname_len] != '-')
		return true;
	p = name + fs->walname_len + 1;
	if (!sb_wal_stored_tail_parse(p, sha, &ct))
		return true;

	if (fs->nfound++ == 0)
	{
		memcpy(fs->entry->digest, sha, sizeof(sha));
		fs->entry->compress_type = ct;
		snprintf(fs->entry->name, sizeof(fs->entry->name), "%s", name);
	}
	else if (strcasecmp(fs->entry->digest, sha) != 0)
		memcpy(fs->other_sha, sha, sizeof(sha));
	return true;
}

/*
 * sb_wal_find(), also telling whether walname's directory exists (when
 * dir_exists is not NULL), so that a push creates it only when it is missing.
 */
static SbStatus
find_in_dir(SbStorage *st, const char *stanza, const char *walname,
			SbWalEntry *entry, bool *dir_exists, SbError *err)
{
	char		dir[SB_PATH_MAX];
	char		name[SB_PATH_MAX];
	char		name_prefix[SB_PATH_MAX];
	FindState	fs;
	SbStatus	rc;

	if (!sb_wal_name_valid(walname))
	{
		sb_error_set(err, SB_ERR_CONFIG, "invalid WAL file name \"%s\"", walname);
		sb_error_hint(err, "Give the name of a WAL segment, history or backup history file, such as 000000010000000000000001.");
		return SB_ERR_CONFIG;
	}
	sb_wal_dir(stanza, walname, dir);
	memset(&fs, 0, sizeof(fs));
	fs.walname = walname;
	fs.walname_len = strlen(walname);
	fs.entry = entry;
	/*
	 * "<walname>-": the stored copies of this file only, never a listing of
	 * the directory (S3: one prefix query).  Not found: the directory may
	 * be missing too (a driver that cannot tell says so when nothing
	 * matched), so a push makes it.
	 */
	snprintf(name_prefix, sizeof(name_prefix), "%s-", walname);
	rc = sb_storage_list_prefix(st, dir, name_prefix, find_cb, &fs, err);
	if (dir_exists != NULL)
		*dir_exists = (rc == SB_OK);
	if (rc == SB_ERR_NOT_FOUND || (rc == SB_OK && fs.nfound == 0))
		return sb_error_set(err, SB_ERR_NOT_FOUND,
							"WAL file \"%s\" is not in the repository", walname);
	if (rc != SB_OK)
		return rc;
	if (fs.other_sha[0] != '\0')
	{
		sb_error_set(err, SB_ERR_CORRUPT,
					 "WAL file \"%s\" is stored more than once with different content",
					 walname);
		sb_error_detail(err, "Stored checksums: %s and %s.", entry->digest, fs.other_sha);
		return SB_ERR_CORRUPT;
	}
	snprintf(name, sizeof(name), "%s/%s", dir, entry->name);
	snprintf(entry->name, sizeof(entry->name), "%s", name);
	return SB_OK;
}

SbStatus
sb_wal_find(SbStorage *st, const char *stanza, const char *walname,
			SbWalEntry *entry, SbError *err)
{
	return find_in_dir(st, stanza, walname, entry, NULL, err);
}

static SbStatus
conflict_error(const char *walname, const char *stored, const char *local,
			   SbError *err)
{
	sb_error_set(err, SB_ERR_CONFLICT,
				 "WAL file \"%s\" is already in the repository with different content",
				 walname);
	sb_error_detail(err, "Stored checksum %s, local checksum %s.", stored, local);
	sb_error_hint(err,
				  "Check that no other cluster archives into this stanza.  The repository copy was not changed.");
	return SB_ERR_CONFLICT;
}

/* The push result for a copy that is already stored under sha. */
static void
already_stored(SbWalPushResult *res, const char *sha, uint64_t size)
{
	res->already_stored = true;
	res->store.plain_size = size;
	memcpy(res->store.digest, sha, SB_SHA256_HEX_LEN + 1);
}

/*
 * Store a file not in the repository yet, reading it once: digested and
 * encoded in the same pass, written under a provisional name and published
 * under "<walname>-<digest><suffix>" when the digest is known.
 */
static SbStatus
store_one_pass(SbStorage *st, const SbRepoConfig *cfg, const char *dir,
			   const char *walname, int fd, SbWalPushResult *res,
			   SbError *err)
{
	char		open_path[SB_PATH_MAX];
	char		prefix[SB_PATH_MAX];
	SbStatus	rc;

	snprintf(open_path, sizeof(open_path), "%s/%s", dir, walname);
	snprintf(prefix, sizeof(prefix), "%s/%s-", dir, walname);
	rc = sb_codec_store_fd_addressed(st, cfg, fd, open_path, prefix,
									 sb_compress_suffix(cfg->compress_type),
									 SB_WRITE_NAMED_BY_CONTENT |
									 sb_codec_digest_flag(st, cfg->stanza),
									 &res->store, err);
	if (rc == SB_ERR_EXISTS)
	{
		/* stored concurrently under the same checksum: that is our file */
		already_stored(res, res->store.digest, res->store.plain_size);
		rc = SB_OK;
	}
	return rc;
}

/*
 * Store a file not in the repository yet where the storage cannot name a
 * file after writing it (or the stanza is encrypted): digest it first, then
 * read it again to store it under its final name.
 */
static SbStatus
store_two_passes(SbStorage *st, const SbRepoConfig *cfg, const char *dir,
				 const char *walname, int fd, const char *src_path,
				 SbWalPushResult *res, SbError *err)
{
	char		path[SB_PATH_MAX];
	char		sha[SB_SHA256_HEX_LEN + 1];
	uint64_t	size;
	SbStatus	rc;

	rc = sb_codec_digest_fd(st, sb_codec_file_digest(st, cfg->stanza), fd, src_path,
							sha, &size, err);
	if (rc != SB_OK)
		return rc;
	snprintf(path, sizeof(path), "%s/%s-%s%s", dir, walname, sha,
			 sb_compress_suffix(cfg->compress_type));
	if (lseek(fd, 0, SEEK_SET) != 0)
		return sb_error_errno(err, errno, "could not seek in file \"%s\"", src_path);
	rc = sb_codec_store_fd(st, cfg, fd, path,
						   SB_WRITE_NAMED_BY_CONTENT | sb_codec_digest_flag(st, cfg->stanza),
						   &res->store, err);
	if (rc == SB_ERR_EXISTS)
	{
		/* stored concurrently under the same checksum: that is our file */
		already_stored(res, sha, size);
		return SB_OK;
	}
	if (rc == SB_OK && strcasecmp(res->store.digest, sha) != 0)
	{
		/* the file changed while we read it: never leave a wrong name */
		SbError		ignore;

		sb_storage_remove(st, path, false, &ignore);
		rc = sb_error_set(err, SB_ERR_IO,
						  "WAL file \"%s\" changed while it was being archived", src_path);
	}
	return rc;
}

/*
 * Every path reads the file once where the storage allows it: a stored
 * copy is compared by digesting the file, a new one is digested and stored
 * in one pass.
 */
SbStatus
sb_wal_push(SbStorage *st, const SbRepoConfig *cfg, const char *walname,
			const char *src_path, SbWalPushResult *res, SbError *err)
{
	SbWalEntry	entry;
	char		dir[SB_PATH_MAX];
	char		sha[SB_SHA256_HEX_LEN + 1];
	uint64_t	size;
	bool		dir_exists = false;
	struct stat sbuf;
	SbStatus	rc;
	int			fd;

	memset(res, 0, sizeof(*res));
	if (!sb_wal_name_valid(walname))
		return sb_error_set(err, SB_ERR_CONFIG, "invalid WAL file name \"%s\"", walname);

	fd = open(src_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sb_error_errno(err, errno, "could not open file \"%s\"", src_path);

	rc = sb_codec_ready(st, err);
	if (rc != SB_OK)
		goto done;

	/* already there?  Then only its digest is needed */
	rc = find_in_dir(st, cfg->stanza, walname, &entry, &dir_exists, err);
	if (rc == SB_OK)
	{
		/* of the stored copy's kind: it may predate the stanza's format */
		rc = sb_codec_digest_fd(st, sb_digest_kind_of(entry.digest), fd,
								src_path, sha, &size, err);
		if (rc != SB_OK)
			goto done;
		if (strcasecmp(entry.digest, sha) != 0)
			rc = conflict_error(walname, entry.digest, sha, err);
		else
			already_stored(res, sha, size);
		goto done;
	}
	if (rc != SB_ERR_NOT_FOUND)
		goto done;

	/*
	 * The listing just showed whether the directory exists: creating it only
	 * when it does not saves requests on a network repository (over SFTP six
	 * round trips per segment, a mkdir and a stat for each of three path
	 * components: 14 requests per pushed segment became 8).  Should the
	 * directory vanish in between, the write fails and the next attempt
	 * creates it.
	 */
	sb_wal_dir(cfg->stanza, walname, dir);
	if (!dir_exists)
	{
		rc = sb_storage_mkdir(st, dir, err);
		if (rc != SB_OK)
			goto done;
	}

	if (fstat(fd, &sbuf) != 0)
	{
		rc = sb_error_errno(err, errno, "could not stat file \"%s\"", src_path);
		goto done;
	}
	if (sb_codec_can_store_addressed(st, (uint64_t) sbuf.st_size))
		rc = store_one_pass(st, cfg, dir, walname, fd, res, err);
	else
		rc = store_two_passes(st, cfg, dir, walname, fd, src_path, res, err);

done:
	close(fd);
	return rc;
}

SbStatus
sb_wal_get(SbStorage *st, const char *stanza, const char *walname,
		   const char *dest_path, SbError *err)
{
	SbWalEntry	entry;
	char		tmp[SB_PATH_MAX];
	SbFilter   *sink;
	SbStatus	rc;
	int			fd;

	rc = sb_wal_find(st, stanza, walname, &entry, err);
	if (rc != SB_OK)
		return rc;

	if (snprintf(tmp, sizeof(tmp), "%s.sbtmp", dest_path) >= (int) sizeof(tmp))
		return sb_error_set(err, SB_ERR_CONFIG, "path \"%s\" is too long", dest_path);
	rc = sb_temp_file_create(tmp, 0600, true, &fd, err);
	if (rc == SB_ERR_NOT_FOUND)
	{
		/* a missing local directory, never "the WAL file is not there" */
		err->status = SB_ERR_IO;
		return SB_ERR_IO;
	}
	if (rc != SB_OK)
		return rc;
	sink = sb_filter_fd_sink_new(fd);
	if (sink == NULL)
		rc = sb_error_oom(err);
	else
		rc = sb_codec_fetch(st, entry.name, entry.compress_type, sink,
							entry.digest, UINT64_MAX, NULL, err);
	if (sink)
		sb_filter_free_chain(sink);
	if (close(fd) != 0 && rc == SB_OK)
		rc = sb_error_errno(err, errno, "could not close file \"%s\"", tmp);
	if (rc == SB_OK && rename(tmp, dest_path) != 0)
		rc = sb_error_errno(err, errno, "could not rename file \"%s\" to \"%s\"",
							tmp, dest_path);
	if (rc != SB_OK)
		unlink(tmp);
	return rc;
}
