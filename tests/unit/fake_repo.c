/*-------------------------------------------------------------------------
 *
 * fake_repo.c
 *		Small repositories for the expire and verify unit tests; see
 *		fake_repo.h.
 *
 *-------------------------------------------------------------------------
 */
#include "fake_repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "stanza.h"
#include "test_files.h"
#include "wal.h"

#define SYSID	7300000000000000042ULL

void
fake_repo_init(FakeRepo *r, const char *name)
{
	SbStanzaInfo info = {SB_REPO_FORMAT_VERSION, SYSID, 15};
	SbError		err;

	memset(r, 0, sizeof(*r));
	snprintf(r->root, sizeof(r->root), "/tmp/sb_test_%s.XXXXXX", name);
	if (mkdtemp(r->root) == NULL)
	{
		perror("mkdtemp");
		exit(2);
	}
	r->st = sb_test_open_repo(r->root, &r->cfg);
	if (sb_stanza_ensure(r->st, "main", &info, &err) != SB_OK)
	{
		fprintf(stderr, "stanza: %s\n", err.msg);
		exit(2);
	}
}

void
fake_repo_free(FakeRepo *r)
{
	sb_storage_close(r->st);
	sb_storage_free(r->st);
	sb_test_rm_tree(r->root);
}

void
fake_push_wal(FakeRepo *r, const char *walname, const char *content)
{
	char		src[512];
	SbWalPushResult res;
	SbError		err;

	snprintf(src, sizeof(src), "%s/src_%s", r->root, walname);
	sb_test_write_file(src, content, strlen(content));
	if (sb_wal_push(r->st, &r->cfg, walname, src, &res, &err) != SB_OK)
	{
		fprintf(stderr, "push %s: %s\n", walname, err.msg);
		exit(2);
	}
	unlink(src);
}

void
fake_push_segments(FakeRepo *r, unsigned int tli, unsigned int first,
				   unsigned int last)
{
	for (unsigned int s = first; s <= last; s++)
	{
		char		name[32];
		char		content[64];

		snprintf(name, sizeof(name), "%08X%08X%08X", tli, 0, s);
		snprintf(content, sizeof(content), "segment %s", name);
		fake_push_wal(r, name, content);
	}
}

static char *
content_of(size_t n, unsigned int seed)
{
	char	   *buf = malloc(n + 1);

	for (size_t i = 0; i < n; i++)
	{
		seed = seed * 1103515245u + 12345u;
		buf[i] = (char) ('a' + (seed >> 16) % 26);
	}
	buf[n] = '\0';
	return buf;
}

void
fake_backup(FakeRepo *r, const char *label, unsigned int tli,
			unsigned int start_seg, unsigned int stop_seg, bool with_manifest)
{
	static const char *const paths[] = {"PG_VERSION", "global/pg_control", "base/1/1259"};
	static const size_t sizes[] = {3, 8192, 3 * SB_CODEC_BUFSIZE + 777};
	SbManifest	m;
	SbError		err;
	char		path[SB_PATH_MAX];

	sb_manifest_init(&m);
	snprintf(m.label, sizeof(m.label), "%s", label);
	snprintf(m.start_lsn, sizeof(m.start_lsn), "0/%X000028", start_seg);
	snprintf(m.stop_lsn, sizeof(m.stop_lsn), "0/%X000100", stop_seg);
	snprintf(m.start_wal, sizeof(m.start_wal), "%08X%08X%08X", tli, 0, start_seg);
	snprintf(m.stop_wal, sizeof(m.stop_wal), "%08X%08X%08X", tli, 0, stop_seg);
	m.timeline = tli;
	m.start_time = 1795000000 + start_seg;
	m.stop_time = m.start_time + 10;
	m.system_identifier = SYSID;
	m.pg_version = 15;
	m.compress_type = r->cfg.compress_type;

	for (int i = 0; i < 3; i++)
	{
		char	   *data = content_of(sizes[i], start_seg * 10 + i);
		SbStoreResult res;
		SbManifestFile f;
		char	   *slash;

		sb_backup_file_path("main", label, paths[i], r->cfg.compress_type, path);
		slash = strrchr(path, '/');
		*slash = '\0';
		sb_storage_mkdir(r->st, path, &err);
		*slash = '/';
		/* named by the digest of the stanza's kind, as the backup worker does */
		if (sb_codec_store_buffer(r->st, &r->cfg, data, sizes[i], path,
								  sb_codec_digest_flag(r->st, "main"), &res, &err) != SB_OK)
		{
			fprintf(stderr, "store %s: %s\n", path, err.msg);
			exit(2);
		}
		memset(&f, 0, sizeof(f));
		f.path = (char *) paths[i];
		f.size = sizes[i];
		f.mtime = 1795000000;
		f.mode = 0600;
		memcpy(f.digest, res.digest, sizeof(f.digest));
		f.stored_size = res.stored_size;
		sb_manifest_add_file(&m, &f);
		m.database_size += f.size;
		m.stored_size += f.stored_size;
		free(data);
	}
	if (with_manifest && sb_manifest_save(r->st, &r->cfg, &m, &err) != SB_OK)
	{
		fprintf(stderr, "manifest %s: %s\n", label, err.msg);
		exit(2);
	}
	sb_manifest_free(&m);
}

const char *
fake_local(FakeRepo *r, const char *relpath)
{
	static char buf[4][2 * SB_PATH_MAX];
	static int	next = 0;
	char	   *p = buf[next++ % 4];

	snprintf(p, 2 * SB_PATH_MAX, "%s/%s", r->cfg.repo_path, relpath);
	return p;
}

bool
fake_exists(FakeRepo *r, const char *relpath)
{
	struct stat sb;

	return lstat(fake_local(r, relpath), &sb) == 0;
}

const char *
fake_data_file(FakeRepo *r, const char *label, const char *relpath)
{
	char		path[SB_PATH_MAX];

	sb_backup_file_path("main", label, relpath, r->cfg.compress_type, path);
	return fake_local(r, path);
}

const char *
fake_wal_file(FakeRepo *r, const char *walname)
{
	SbWalEntry	e;
	SbError		err;

	if (sb_wal_find(r->st, "main", walname, &e, &err) != SB_OK)
		return NULL;
	return fake_local(r, e.name);
}
