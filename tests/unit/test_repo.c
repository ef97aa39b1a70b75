/*-------------------------------------------------------------------------
 *
 * test_repo.c
 *		Unit tests of the repository layer: info files, the stanza, WAL
 *		push/find/get, and reading a data directory's identity; run against
 *		the posix driver in a temporary directory.
 *
 *-------------------------------------------------------------------------
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "cluster.h"
#include "info_file.h"
#include "sb_test.h"
#include "settings.h"
#include "sftp_settings.h"
#include "tls_settings.h"
#include "test_files.h"
#include "stanza.h"
#include "storage.h"
#include "temp_file.h"
#include "codec.h"
#include "wal.h"

SB_TEST_DEFINE_COUNTERS;

static char root[256];

static void
test_info_file(SbStorage *st)
{
	SbInfoFile	info;
	SbInfoFile	back;
	SbError		err;
	char	   *text;
	size_t		len;
	char		path[512];

	sb_info_init(&info);
	SB_CHECK(sb_info_set(&info, "a", "1"));
	SB_CHECK(sb_info_set(&info, "b", "two words"));
	SB_CHECK(sb_info_set(&info, "a", "3"));
	SB_CHECK(!sb_info_set(&info, "bad=key", "x"));
	SB_CHECK(!sb_info_set(&info, "k", "line\nbreak"));
	SB_CHECK(strcmp(sb_info_get(&info, "a"), "3") == 0);
	SB_CHECK(sb_info_get(&info, "missing") == NULL);

	text = sb_info_render(&info, &len);
	SB_REQUIRE(text != NULL);
	SB_CHECK(sb_info_parse(&back, text, len, "t", &err) == SB_OK);
	SB_CHECK(back.nkeys == 2 && strcmp(sb_info_get(&back, "b"), "two words") == 0);
	sb_info_free(&back);

	/* a flipped byte, a truncation and a missing checksum are all refused */
	text[0] ^= 1;
	SB_CHECK(sb_info_parse(&back, text, len, "t", &err) == SB_ERR_CORRUPT);
	text[0] ^= 1;
	SB_CHECK(sb_info_parse(&back, text, len - 5, "t", &err) == SB_ERR_CORRUPT);
	SB_CHECK(sb_info_parse(&back, "a=1\n", 4, "t", &err) == SB_ERR_CORRUPT);
	free(text);

	/* save writes two copies; load falls back to the copy */
	SB_CHECK(sb_info_save(st, "info-test", 0, &info, &err) == SB_OK);
	snprintf(path, sizeof(path), "%s/repo/info-test", root);
	text = sb_test_read_file(path, &len);
	SB_REQUIRE(text != NULL);
	text[2] = 'X';
	sb_test_write_file(path, text, len);
	free(text);
	SB_CHECK(sb_info_load(st, "info-test", &back, &err) == SB_OK);
	SB_CHECK(back.nkeys == 2 && strcmp(sb_info_get(&back, "a"), "3") == 0);
	sb_info_free(&back);
	unlink(path);
	SB_CHECK(sb_info_load(st, "info-test", &back, &err) == SB_OK);
	sb_info_free(&back);
	snprintf(path, sizeof(path), "%s/repo/info-test.copy", root);
	unlink(path);
	SB_CHECK(sb_info_load(st, "info-test", &back, &err) == SB_ERR_NOT_FOUND);
	/* saving again without REPLACE over an existing file is refused */
	SB_CHECK(sb_info_save(st, "info-test", 0, &info, &err) == SB_OK);
	SB_CHECK(sb_info_save(st, "info-test", 0, &info, &err) == SB_ERR_EXISTS);
	SB_CHECK(sb_info_save(st, "info-test", SB_WRITE_REPLACE, &info, &err) == SB_OK);
	sb_info_free(&info);
}

/* A stanza info file of the given format, written as an older or newer build would. */
static void
write_stanza_info(SbStorage *st, const char *stanza, const char *format,
				  const char *sysid)
{
	SbInfoFile	info;
	SbError		err;
	char		path[SB_PATH_MAX];

	sb_info_init(&info);
	sb_info_set(&info, "format_version", format);
	sb_info_set(&info, "system_identifier", sysid);
	sb_info_set(&info, "pg_version", "15");
	snprintf(path, sizeof(path), "%s/stanza.info", stanza);
	SB_CHECK(sb_storage_mkdir(st, stanza, &err) == SB_OK);
	SB_CHECK(sb_info_save(st, path, 0, &info, &err) == SB_OK);
	sb_info_free(&info);
}

static void
test_stanza(SbStorage *st)
{
	SbStanzaInfo mine = {SB_REPO_FORMAT_VERSION, 7300000000000000001ULL, 15};
	SbStanzaInfo other = mine;
	SbStanzaInfo loaded;
	SbError		err;
	char		path[512];
	char	   *text;
	size_t		len;

	SB_CHECK(sb_stanza_load(st, "s1", &loaded, &err) == SB_ERR_NOT_FOUND);
	SB_CHECK(sb_stanza_ensure(st, "s1", &mine, &err) == SB_OK);
	SB_CHECK(sb_stanza_load(st, "s1", &loaded, &err) == SB_OK);
	SB_CHECK(loaded.system_identifier == mine.system_identifier);
	SB_CHECK(loaded.pg_version == 15 && loaded.format_version == SB_REPO_FORMAT_VERSION);
	SB_CHECK(sb_stanza_ensure(st, "s1", &mine, &err) == SB_OK);

	other.system_identifier++;
	SB_CHECK(sb_stanza_ensure(st, "s1", &other, &err) == SB_ERR_MISMATCH);
	SB_CHECK(strstr(err.msg, "belongs to another cluster") != NULL);
	SB_CHECK(strstr(err.detail, "7300000000000000001") != NULL);
	SB_CHECK(err.hint[0] != '\0');

	other = mine;
	other.pg_version = 16;
	SB_CHECK(sb_stanza_ensure(st, "s1", &other, &err) == SB_ERR_MISMATCH);

	/* a stanza from a newer format is refused, not misread */
	snprintf(path, sizeof(path), "%s/repo/s1/stanza.info", root);
	text = sb_test_read_file(path, &len);
	SB_REQUIRE(text != NULL);
	free(text);
	write_stanza_info(st, "s2", "99", "1");
	SB_CHECK(sb_stanza_load(st, "s2", &loaded, &err) == SB_ERR_CONFIG);
	SB_CHECK(strstr(err.msg, "newer") != NULL);
}

static void
test_wal_names(void)
{
	char		dir[SB_PATH_MAX];

	SB_CHECK(sb_wal_name_valid("000000010000000000000001"));
	SB_CHECK(sb_wal_name_valid("0000000100000000000000FF.partial"));
	SB_CHECK(sb_wal_name_valid("000000010000000000000002.00000028.backup"));
	SB_CHECK(sb_wal_name_valid("00000002.history"));
	SB_CHECK(!sb_wal_name_valid("00000001000000000000000g"));
	SB_CHECK(!sb_wal_name_valid("0000000100000000000000ff"));
	SB_CHECK(!sb_wal_name_valid("../../etc/passwd"));
	SB_CHECK(!sb_wal_name_valid("00000001000000000000000"));
	SB_CHECK(!sb_wal_name_valid("000000010000000000000001.foo"));
	SB_CHECK(!sb_wal_name_valid(""));
	sb_wal_dir("main", "000000010000000200000003", dir);
	SB_CHECK(strcmp(dir, "main/wal/0000000100000002") == 0);
	sb_wal_dir("main", "00000002.history", dir);
	SB_CHECK(strcmp(dir, "main/wal/history") == 0);
}

static void
test_wal_push_get(SbStorage *st, SbRepoConfig *cfg)
{
	const char *seg = "000000010000000000000005";
	SbWalPushResult res;
	SbWalEntry	entry;
	SbError		err;
	char		src[512];
	char		dst[512];
	char		stored[SB_PATH_MAX + 300];
	char	   *data;
	char	   *back;
	size_t		len;
	const size_t size = 1024 * 1024;

	data = malloc(size);
	for (size_t i = 0; i < size; i++)
		data[i] = (char) ((i * 7) % 251);
	snprintf(src, sizeof(src), "%s/%s", root, seg);
	sb_test_write_file(src, data, size);
	snprintf(cfg->stanza, sizeof(cfg->stanza), "w");

	SB_CHECK(sb_wal_find(st, "w", seg, &entry, &err) == SB_ERR_NOT_FOUND);
	SB_CHECK(sb_wal_push(st, cfg, seg, src, &res, &err) == SB_OK);
	SB_CHECK(!res.already_stored);
	SB_CHECK(res.store.plain_size == size);
	SB_CHECK(res.store.stored_size > 0 && res.store.stored_size < size);
	SB_CHECK(sb_wal_find(st, "w", seg, &entry, &err) == SB_OK);
	SB_CHECK(strcmp(entry.digest, res.store.digest) == 0);
	SB_CHECK(entry.compress_type == cfg->compress_type);

	/* identical again: success without writing */
	SB_CHECK(sb_wal_push(st, cfg, seg, src, &res, &err) == SB_OK);
	SB_CHECK(res.already_stored);

	/* get it back byte-identical */
	snprintf(dst, sizeof(dst), "%s/restored", root);
	SB_CHECK(sb_wal_get(st, "w", seg, dst, &err) == SB_OK);
	back = sb_test_read_file(dst, &len);
	SB_CHECK(back != NULL && len == size && memcmp(back, data, size) == 0);
	free(back);

	/*
	 * a symbolic link planted at the temporary name "<dest>.sbtmp": refused,
	 * nothing written through it, the link left alone
	 */
	{
		char		tmp[600];
		char		victim[600];
		char		target[600];
		ssize_t		n;

		unlink(dst);
		snprintf(tmp, sizeof(tmp), "%s.sbtmp", dst);
		snprintf(victim, sizeof(victim), "%s/victim", root);
		sb_test_write_file(victim, "precious", 8);
		SB_REQUIRE(symlink(victim, tmp) == 0);
		SB_CHECK(sb_wal_get(st, "w", seg, dst, &err) == SB_ERR_EXISTS);
		SB_CHECK_MSG(strstr(err.msg, "a symbolic link is in its place") != NULL,
					 "%s", err.msg);
		SB_CHECK(err.hint[0] != '\0');
		back = sb_test_read_file(victim, &len);
		SB_CHECK(back != NULL && len == 8 && memcmp(back, "precious", 8) == 0);
		free(back);
		n = readlink(tmp, target, sizeof(target) - 1);
		SB_CHECK(n > 0 && (size_t) n == strlen(victim));
		SB_CHECK(access(dst, F_OK) != 0);
		/* a dangling link is not followed either */
		unlink(victim);
		SB_CHECK(sb_wal_get(st, "w", seg, dst, &err) == SB_ERR_EXISTS);
		SB_CHECK(access(victim, F_OK) != 0);
		unlink(tmp);
		/* a directory in its place */
		SB_REQUIRE(mkdir(tmp, 0700) == 0);
		SB_CHECK(sb_wal_get(st, "w", seg, dst, &err) == SB_ERR_EXISTS);
		SB_CHECK_MSG(strstr(err.msg, "a directory is in its place") != NULL,
					 "%s", err.msg);
		rmdir(tmp);
		/* a stale regular file of an interrupted run is replaced */
		sb_test_write_file(tmp, "stale", 5);
		SB_CHECK_MSG(sb_wal_get(st, "w", seg, dst, &err) == SB_OK, "%s", err.msg);
		back = sb_test_read_file(dst, &len);
		SB_CHECK(back != NULL && len == size && memcmp(back, data, size) == 0);
		free(back);
		SB_CHECK(access(tmp, F_OK) != 0);

		/*
		 * a destination in a missing directory: an error, but not "not in
		 * the repository" (archive-get would exit 3, the end of the archive)
		 */
		snprintf(tmp, sizeof(tmp), "%s/no-such-dir/restored", root);
		SB_CHECK(sb_wal_get(st, "w", seg, tmp, &err) == SB_ERR_IO);
		SB_CHECK_MSG(strstr(err.msg, "could not create file") != NULL, "%s", err.msg);
	}

	/* different content under the same name: refused, stored copy kept */
	data[100] ^= 0x55;
	sb_test_write_file(src, data, size);
	SB_CHECK(sb_wal_push(st, cfg, seg, src, &res, &err) == SB_ERR_CONFLICT);
	SB_CHECK(strstr(err.msg, "different content") != NULL);
	SB_CHECK(sb_wal_get(st, "w", seg, dst, &err) == SB_OK);
	back = sb_test_read_file(dst, &len);
	SB_CHECK(back != NULL && len == size && back[100] != data[100]);
	free(back);

	/* a damaged stored file is detected, and DESTPATH is not written */
	unlink(dst);
	snprintf(stored, sizeof(stored), "%s/repo/%s", root, entry.name);
	back = sb_test_read_file(stored, &len);
	SB_REQUIRE(back != NULL);
	back[len / 2] ^= 0x01;
	sb_test_write_file(stored, back, len);
	free(back);
	SB_CHECK(sb_wal_get(st, "w", seg, dst, &err) == SB_ERR_CORRUPT);
	SB_CHECK(access(dst, F_OK) != 0);

	/* uncompressed storage */
	cfg->compress_type = SB_COMPRESS_NONE;
	seg = "000000010000000000000006";
	snprintf(src, sizeof(src), "%s/%s", root, seg);
	sb_test_write_file(src, data, size);
	SB_CHECK(sb_wal_push(st, cfg, seg, src, &res, &err) == SB_OK);
	SB_CHECK(res.store.stored_size == size);
	SB_CHECK(sb_wal_find(st, "w", seg, &entry, &err) == SB_OK);
	SB_CHECK(entry.compress_type == SB_COMPRESS_NONE);
	SB_CHECK(sb_wal_get(st, "w", seg, dst, &err) == SB_OK);
	back = sb_test_read_file(dst, &len);
	SB_CHECK(back != NULL && len == size && memcmp(back, data, size) == 0);
	free(back);

	/* missing file, bad names */
	SB_CHECK(sb_wal_get(st, "w", "000000010000000000000099", dst, &err) == SB_ERR_NOT_FOUND);
	SB_CHECK(sb_wal_get(st, "w", "../x", dst, &err) == SB_ERR_CONFIG);
	SB_CHECK(sb_wal_push(st, cfg, "foo", src, &res, &err) == SB_ERR_CONFIG);
	snprintf(src, sizeof(src), "%s/does-not-exist", root);
	SB_CHECK(sb_wal_push(st, cfg, "000000010000000000000007", src, &res, &err) == SB_ERR_NOT_FOUND);
	free(data);
}

/*
 * One segment per compression type in one directory: each is stored with
 * its suffix, found with its type and fetched back byte-identical; a
 * damaged copy is refused; an identical re-push under another configured
 * type finds the stored copy, a different content is refused whatever the
 * type.
 */
static void
test_wal_types(SbStorage *st, SbRepoConfig *cfg)
{
	static const struct
	{
		SbCompressType type;
		int			level;
		const char *seg;
		const char *suffix;
	}			t[] = {
		{SB_COMPRESS_ZLIB, 1, "000000010000000000000011", ".gz"},
		{SB_COMPRESS_LZ4, 1, "000000010000000000000012", ".lz4"},
		{SB_COMPRESS_ZSTD, 3, "000000010000000000000013", ".zst"},
		{SB_COMPRESS_NONE, 0, "000000010000000000000014", ""},
	};
	const size_t size = 3 * 256 * 1024 + 17;
	SbRepoConfig saved = *cfg;
	SbWalPushResult res;
	SbWalEntry	entry;
	SbError		err;
	char		src[512];
	char		dst[512];
	char		stored[SB_PATH_MAX + 300];
	char	   *data = malloc(size);
	char	   *back;
	size_t		len;

	SB_REQUIRE(data != NULL);
	snprintf(cfg->stanza, sizeof(cfg->stanza), "w");
	snprintf(dst, sizeof(dst), "%s/typed", root);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
	{
		size_t		sl = strlen(t[i].suffix);

		/* WAL-like: runs of text and of zeros, different per type */
		for (size_t j = 0; j < size; j++)
			data[j] = (j / 4096) % 3 == 0 ? 0 : (char) ('a' + (j * 7 + i) % 23);
		snprintf(src, sizeof(src), "%s/%s", root, t[i].seg);
		sb_test_write_file(src, data, size);

		cfg->compress_type = t[i].type;
		cfg->compress_level = t[i].level;
		SB_CHECK(sb_wal_push(st, cfg, t[i].seg, src, &res, &err) == SB_OK);
		SB_CHECK(!res.already_stored && res.store.plain_size == size);
		if (t[i].type != SB_COMPRESS_NONE)
			SB_CHECK(res.store.stored_size < size / 2);
		SB_CHECK(sb_wal_find(st, "w", t[i].seg, &entry, &err) == SB_OK);
		SB_CHECK_MSG(entry.compress_type == t[i].type &&
					 strlen(entry.name) > sl &&
					 strcmp(entry.name + strlen(entry.name) - sl, t[i].suffix) == 0 &&
					 strstr(entry.name, res.store.digest) != NULL,
					 "%s stored as %s", sb_compress_type_name(t[i].type), entry.name);

		/* every type, whatever is configured now */
		cfg->compress_type = SB_COMPRESS_ZLIB;
		unlink(dst);
		SB_CHECK(sb_wal_get(st, "w", t[i].seg, dst, &err) == SB_OK);
		back = sb_test_read_file(dst, &len);
		SB_CHECK_MSG(back != NULL && len == size && memcmp(back, data, size) == 0,
					 "%s segment fetched back", sb_compress_type_name(t[i].type));
		free(back);

		/* identical again, another type configured: the stored copy counts */
		cfg->compress_type = t[i].type == SB_COMPRESS_ZSTD ? SB_COMPRESS_LZ4 : SB_COMPRESS_ZSTD;
		cfg->compress_level = 1;
		SB_CHECK(sb_wal_push(st, cfg, t[i].seg, src, &res, &err) == SB_OK);
		SB_CHECK(res.already_stored);

		/* different content under another type: refused */
		data[5] ^= 0x20;
		sb_test_write_file(src, data, size);
		SB_CHECK(sb_wal_push(st, cfg, t[i].seg, src, &res, &err) == SB_ERR_CONFLICT);
		SB_CHECK(sb_wal_find(st, "w", t[i].seg, &entry, &err) == SB_OK &&
				 entry.compress_type == t[i].type);
	}

	/* a damaged copy of each compressed type: refused, nothing written */
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
	{
		if (t[i].type == SB_COMPRESS_NONE)
			continue;
		SB_REQUIRE(sb_wal_find(st, "w", t[i].seg, &entry, &err) == SB_OK);
		snprintf(stored, sizeof(stored), "%s/repo/%s", root, entry.name);
		back = sb_test_read_file(stored, &len);
		SB_REQUIRE(back != NULL);
		back[len / 2] ^= 0x10;
		sb_test_write_file(stored, back, len);
		free(back);
		unlink(dst);
		SB_CHECK_MSG(sb_wal_get(st, "w", t[i].seg, dst, &err) == SB_ERR_CORRUPT,
					 "damaged %s segment refused", sb_compress_type_name(t[i].type));
		SB_CHECK(access(dst, F_OK) != 0);
	}
	*cfg = saved;
	free(data);
}

/* A child that writes data into the FIFO at path once, then exits. */
static pid_t
feed_fifo(const char *path, const char *data, size_t len)
{
	pid_t		pid = fork();

	if (pid == 0)
	{
		int			fd = open(path, O_WRONLY);
		size_t		off = 0;

		while (fd >= 0 && off < len)
		{
			ssize_t		n = write(fd, data + off, len - off);

			if (n <= 0)
				_exit(1);
			off += (size_t) n;
		}
		_exit(fd >= 0 ? 0 : 1);
	}
	return pid;
}

static bool
fifo_fed(pid_t pid)
{
	int			status;

	return pid > 0 && waitpid(pid, &status, 0) == pid &&
		WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Entries of a local directory whose name has ".tmp." in it. */
static int
count_temp_files(const char *path)
{
	DIR		   *d = opendir(path);
	struct dirent *de;
	int			n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".tmp.") != NULL)
			n++;
	closedir(d);
	return n;
}

/*
 * A segment is read once: pushed from a FIFO, which can be read only once
 * and not rewound, it is stored under the name its digest gives, fetched
 * back identical; an identical re-push succeeds and a different content is
 * refused, each from a FIFO too; no temporary file stays behind.
 */
static void
test_wal_one_pass(SbStorage *st, SbRepoConfig *cfg)
{
	const char *seg = "000000010000000000000021";
	const size_t size = 2 * 1024 * 1024 + 5;
	SbRepoConfig saved = *cfg;
	SbWalPushResult res;
	SbWalEntry	entry;
	SbError		err;
	SbStatus	rc;
	char		fifo[512];
	char		dst[512];
	char		dir[SB_PATH_MAX + 300];
	char		sha[SB_SHA256_HEX_LEN + 1];
	char	   *data = malloc(size);
	char	   *back;
	size_t		len;
	pid_t		pid;

	SB_REQUIRE(data != NULL);
	SB_REQUIRE(sb_storage_can_rename_writer(st, SB_SIZE_UNKNOWN));
	snprintf(cfg->stanza, sizeof(cfg->stanza), "w");
	cfg->compress_type = SB_COMPRESS_ZSTD;
	cfg->compress_level = 1;
	for (size_t j = 0; j < size; j++)
		data[j] = (j / 8192) % 2 ? 0 : (char) ((j * 13) % 97);
	sb_sha256_hex(data, size, sha);
	snprintf(fifo, sizeof(fifo), "%s/seg.fifo", root);
	SB_REQUIRE(mkfifo(fifo, 0600) == 0);

	pid = feed_fifo(fifo, data, size);
	rc = sb_wal_push(st, cfg, seg, fifo, &res, &err);
	SB_CHECK(fifo_fed(pid));
	SB_CHECK_MSG(rc == SB_OK, "push from a FIFO: %s: %s", sb_status_name(rc), err.msg);
	SB_CHECK(!res.already_stored && res.store.plain_size == size);
	SB_CHECK(strcmp(res.store.digest, sha) == 0);
	SB_CHECK(sb_wal_find(st, "w", seg, &entry, &err) == SB_OK);
	SB_CHECK(strcmp(entry.digest, sha) == 0 && entry.compress_type == SB_COMPRESS_ZSTD);
	snprintf(dst, sizeof(dst), "%s/one-pass", root);
	SB_CHECK(sb_wal_get(st, "w", seg, dst, &err) == SB_OK);
	back = sb_test_read_file(dst, &len);
	SB_CHECK(back != NULL && len == size && memcmp(back, data, size) == 0);
	free(back);

	/* identical again: success, nothing written */
	pid = feed_fifo(fifo, data, size);
	rc = sb_wal_push(st, cfg, seg, fifo, &res, &err);
	SB_CHECK(fifo_fed(pid));
	SB_CHECK(rc == SB_OK && res.already_stored);

	/* different content: refused, the stored copy kept */
	data[size - 1] ^= 1;
	pid = feed_fifo(fifo, data, size);
	rc = sb_wal_push(st, cfg, seg, fifo, &res, &err);
	SB_CHECK(fifo_fed(pid));
	SB_CHECK(rc == SB_ERR_CONFLICT);
	SB_CHECK(sb_wal_find(st, "w", seg, &entry, &err) == SB_OK &&
			 strcmp(entry.digest, sha) == 0);

	sb_wal_dir("w", seg, entry.name);
	snprintf(dir, sizeof(dir), "%s/repo/%s", root, entry.name);
	SB_CHECK_MSG(count_temp_files(dir) == 0, "%d temporary files in %s",
				 count_temp_files(dir), dir);
	unlink(fifo);
	*cfg = saved;
	free(data);
}

/*
 * The limits of the string settings (core/sb_config.c): the longest value
 * is stored whole, one byte more is refused with its length and the limit.
 */
static void
test_setting_limits(void)
{
	static const struct
	{
		const char *name;
		size_t		max;
		size_t		field;		/* size of its field */
	}			cases[] = {
		{"repo_path", SB_PATH_MAX - 257, sizeof(((SbRepoConfig *) 0)->repo_path)},
		{"stanza", 63, sizeof(((SbRepoConfig *) 0)->stanza)},
		{"sftp_host", 255, sizeof(((SbSftpSettings *) 0)->sftp_host)},
		{"sftp_user", 63, sizeof(((SbSftpSettings *) 0)->sftp_user)},
		{"sftp_known_hosts_file", 1023, sizeof(((SbSftpSettings *) 0)->sftp_known_hosts_file)},
		{"cipher_pass_file", 1023, sizeof(((SbRepoConfig *) 0)->cipher_pass_file)},
		{"tls_server_name", 255, sizeof(((SbTlsSettings *) 0)->tls_server_name)},
	};
	SbRepoConfig c;
	SbError		err;
	char		value[2048];
	char		expect[200];
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		int			idx = sb_setting_index(cases[i].name);
		const SbSetting *s = sb_setting_at(idx, NULL);

		SB_REQUIRE(s != NULL);
		SB_CHECK_MSG(s->max_len == cases[i].max && s->max_len < cases[i].field,
					 "%s: %zu", cases[i].name, s->max_len);
		sb_config_init(&c);
		memset(value, 'v', cases[i].max);
		value[0] = '/';			/* file names and repo_path are absolute */
		if (strcmp(cases[i].name, "stanza") == 0)
			value[0] = 'v';
		value[cases[i].max] = '\0';
		SB_CHECK_MSG(sb_setting_set(&c, idx, "shown", value, &err) == SB_OK,
					 "%s", err.msg);
		SB_CHECK(strcmp(sb_setting_field(&c, idx), value) == 0);
		value[cases[i].max] = 'v';
		value[cases[i].max + 1] = '\0';
		SB_CHECK(sb_setting_set(&c, idx, "shown", value, &err) == SB_ERR_CONFIG);
		SB_CHECK_MSG(strcmp(err.msg, "value of \"shown\" is too long") == 0 ||
					 strcmp(cases[i].name, "stanza") == 0, "%s", err.msg);
		if (strcmp(cases[i].name, "stanza") != 0)
		{
			snprintf(expect, sizeof(expect), "The value is %zu bytes long; the limit is %zu bytes.",
					 cases[i].max + 1, cases[i].max);
			SB_CHECK_MSG(strcmp(err.detail, expect) == 0, "%s", err.detail);
		}
		/* the stored value is unchanged */
		value[cases[i].max] = '\0';
		SB_CHECK(strcmp(sb_setting_field(&c, idx), value) == 0);
	}
	SB_CHECK(sb_setting_index("no_such_setting") == -1);
	SB_CHECK(sb_setting_index("safebackup.sftp-host") == sb_setting_index("sftp_host"));
}

/* Hex XXH3-128 of a buffer, straight from the library (canonical order). */
static void
xxh128_hex(const void *buf, size_t len, char *hex)
{
	XXH128_canonical_t canon;

	XXH128_canonicalFromHash(&canon, XXH3_128bits(buf, len));
	for (size_t i = 0; i < sizeof(canon.digest); i++)
		sprintf(hex + 2 * i, "%02x", canon.digest[i]);
}

/*
 * WAL names by the stanza's repository format: XXH3-128 (32 hex digits) in
 * a stanza of format 2, SHA-256 (64) in one of format 1; each reads the
 * other's names, and a copy stored under the other kind is compared by its
 * own kind.
 */
static void
test_wal_digest_kinds(SbStorage *st, SbRepoConfig *cfg)
{
	const char *seg = "000000010000000000000007";
	SbStanzaInfo mine = {SB_REPO_FORMAT_VERSION, 7300000000000000077ULL, 15};
	SbStanzaInfo loaded;
	SbRepoConfig saved = *cfg;
	SbWalPushResult res;
	SbWalEntry	entry;
	SbError		err;
	char		src[512];
	char		dst[512];
	char		from[SB_PATH_MAX + 300];
	char		to[SB_PATH_MAX + 300];
	char		xxh[SB_SHA256_HEX_LEN + 1];
	char		sha[SB_SHA256_HEX_LEN + 1];
	char	   *data;
	char	   *back;
	size_t		len;
	const size_t size = 256 * 1024 + 17;

	data = malloc(size);
	SB_REQUIRE(data != NULL);
	for (size_t i = 0; i < size; i++)
		data[i] = (char) ((i * 31) % 253);
	snprintf(src, sizeof(src), "%s/%s", root, seg);
	sb_test_write_file(src, data, size);
	xxh128_hex(data, size, xxh);
	sb_sha256_hex(data, size, sha);
	cfg->compress_type = SB_COMPRESS_ZSTD;
	cfg->compress_level = 1;

	/* the filter gives the library's digest, as xxhsum -H2 prints it */
	{
		SbFilter   *f = sb_filter_xxh128_new(NULL);
		char		hex[SB_SHA256_HEX_LEN + 1];

		SB_REQUIRE(f != NULL);
		SB_CHECK(sb_filter_write(f, (const uint8_t *) "abc", 3, &err) == SB_OK);
		SB_CHECK(sb_filter_finish(f, &err) == SB_OK);
		sb_filter_digest_hex(f, hex);
		SB_CHECK_MSG(strcmp(hex, "06b05ab6733a618578af5f94892f3950") == 0, "%s", hex);
		sb_filter_free_chain(f);
	}
	{
		SbFilter   *f = sb_filter_xxh128_new(NULL);
		char		hex[SB_SHA256_HEX_LEN + 1];

		SB_REQUIRE(f != NULL);
		SB_CHECK(sb_filter_write(f, (const uint8_t *) data, 1000, &err) == SB_OK);
		SB_CHECK(sb_filter_write(f, (const uint8_t *) data + 1000, size - 1000, &err) == SB_OK);
		SB_CHECK(sb_filter_finish(f, &err) == SB_OK);
		sb_filter_digest_hex(f, hex);
		SB_CHECK_MSG(strcmp(hex, xxh) == 0, "%s against %s", hex, xxh);
		SB_CHECK(sb_filter_digest_bytes(f) == size);
		SB_CHECK(sb_digest_kind_of(hex) == SB_DIGEST_XXH128);
		SB_CHECK(sb_digest_kind_of(sha) == SB_DIGEST_SHA256);
		sb_filter_free_chain(f);
	}

	/* a new stanza (format 2): named by XXH3-128 */
	snprintf(cfg->stanza, sizeof(cfg->stanza), "x2");
	SB_REQUIRE(sb_stanza_ensure(st, "x2", &mine, &err) == SB_OK);
	SB_CHECK(sb_stanza_load(st, "x2", &loaded, &err) == SB_OK && loaded.format_version == 2);
	SB_CHECK(sb_wal_push(st, cfg, seg, src, &res, &err) == SB_OK && !res.already_stored);
	SB_CHECK_MSG(strcmp(res.store.digest, xxh) == 0, "%s", res.store.digest);
	SB_CHECK(sb_wal_find(st, "x2", seg, &entry, &err) == SB_OK);
	SB_CHECK(strcmp(entry.digest, xxh) == 0);
	SB_CHECK(strstr(entry.name, xxh) != NULL && strstr(entry.name, ".zst") != NULL);
	snprintf(dst, sizeof(dst), "%s/x2-back", root);
	SB_CHECK(sb_wal_get(st, "x2", seg, dst, &err) == SB_OK);
	back = sb_test_read_file(dst, &len);
	SB_CHECK(back != NULL && len == size && memcmp(back, data, size) == 0);
	free(back);
	unlink(dst);
	SB_CHECK(sb_wal_push(st, cfg, seg, src, &res, &err) == SB_OK && res.already_stored);
	data[5] ^= 1;
	sb_test_write_file(src, data, size);
	SB_CHECK(sb_wal_push(st, cfg, seg, src, &res, &err) == SB_ERR_CONFLICT);
	data[5] ^= 1;
	sb_test_write_file(src, data, size);

	/* damage under an XXH3-128 name is found by the get */
	snprintf(from, sizeof(from), "%s/repo/%s", root, entry.name);
	back = sb_test_read_file(from, &len);
	SB_REQUIRE(back != NULL);
	{
		/* a valid zstd stream of other content, under the same name */
		SbStoreResult other;
		char		tmpsrc[512];
		int			fd;

		data[7] ^= 1;
		snprintf(tmpsrc, sizeof(tmpsrc), "%s/other-content", root);
		sb_test_write_file(tmpsrc, data, size);
		data[7] ^= 1;
		fd = open(tmpsrc, O_RDONLY);
		SB_REQUIRE(fd >= 0);
		SB_CHECK(sb_storage_remove(st, entry.name, false, &err) == SB_OK);
		SB_CHECK(sb_codec_store_fd(st, cfg, fd, entry.name, 0, &other, &err) == SB_OK);
		close(fd);
		unlink(tmpsrc);
		SB_CHECK(sb_wal_get(st, "x2", seg, dst, &err) == SB_ERR_CORRUPT);
		SB_CHECK_MSG(strstr(err.msg, "checksum mismatch") != NULL, "%s", err.msg);
		SB_CHECK(access(dst, F_OK) != 0);
		sb_test_write_file(from, back, len);
	}
	free(back);

	/* a stanza of format 1: SHA-256 names, as the builds before wrote */
	write_stanza_info(st, "x1", "1", "7300000000000000077");
	snprintf(cfg->stanza, sizeof(cfg->stanza), "x1");
	SB_CHECK(sb_stanza_ensure(st, "x1", &mine, &err) == SB_OK);
	SB_CHECK(sb_stanza_load(st, "x1", &loaded, &err) == SB_OK && loaded.format_version == 1);
	SB_CHECK(sb_wal_push(st, cfg, seg, src, &res, &err) == SB_OK && !res.already_stored);
	SB_CHECK_MSG(strcmp(res.store.digest, sha) == 0, "%s", res.store.digest);
	SB_CHECK(sb_wal_find(st, "x1", seg, &entry, &err) == SB_OK && strcmp(entry.digest, sha) == 0);

	/*
	 * That SHA-256 copy moved into the format-2 stanza (as one stored
	 * before an upgrade would be): found, fetched and compared by SHA-256
	 */
	snprintf(from, sizeof(from), "%s/repo/%s", root, entry.name);
	SB_CHECK(sb_wal_find(st, "x2", seg, &entry, &err) == SB_OK);
	snprintf(to, sizeof(to), "%s/repo/%s", root, entry.name);
	SB_REQUIRE(unlink(to) == 0);
	snprintf(to, sizeof(to), "%s/repo/x2/wal/0000000100000000/%s-%s.zst", root, seg, sha);
	SB_REQUIRE(rename(from, to) == 0);
	SB_CHECK(sb_wal_find(st, "x2", seg, &entry, &err) == SB_OK);
	SB_CHECK_MSG(strcmp(entry.digest, sha) == 0, "%s", entry.digest);
	snprintf(cfg->stanza, sizeof(cfg->stanza), "x2");
	SB_CHECK(sb_stanza_load(st, "x2", &loaded, &err) == SB_OK);
	SB_CHECK(sb_wal_push(st, cfg, seg, src, &res, &err) == SB_OK && res.already_stored);
	SB_CHECK(sb_wal_get(st, "x2", seg, dst, &err) == SB_OK);
	back = sb_test_read_file(dst, &len);
	SB_CHECK(back != NULL && len == size && memcmp(back, data, size) == 0);
	free(back);
	unlink(dst);
	data[9] ^= 1;
	sb_test_write_file(src, data, size);
	SB_CHECK(sb_wal_push(st, cfg, seg, src, &res, &err) == SB_ERR_CONFLICT);

	unlink(src);
	free(data);
	*cfg = saved;
}

/* the shared "create a new temporary file" helper (core/temp_file.h) */
static void
test_temp_file(void)
{
	char		path[600];
	char		victim[600];
	SbError		err;
	struct stat sb;
	int			fd = -1;

	snprintf(path, sizeof(path), "%s/t.tmp", root);
	snprintf(victim, sizeof(victim), "%s/t.victim", root);

	SB_CHECK(sb_temp_file_create(path, 0600, false, &fd, &err) == SB_OK);
	SB_CHECK(fd >= 0 && fstat(fd, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	SB_CHECK(write(fd, "x", 1) == 1);
	close(fd);
	/* without replace_stale, any existing name is refused */
	SB_CHECK(sb_temp_file_create(path, 0600, false, &fd, &err) == SB_ERR_EXISTS);
	/* with it, a regular file is replaced by an empty new one */
	SB_CHECK(sb_temp_file_create(path, 0600, true, &fd, &err) == SB_OK);
	SB_CHECK(fstat(fd, &sb) == 0 && sb.st_size == 0);
	close(fd);
	unlink(path);

	/* a link: never followed, never removed, whatever replace_stale says */
	sb_test_write_file(victim, "v", 1);
	SB_REQUIRE(symlink(victim, path) == 0);
	SB_CHECK(sb_temp_file_create(path, 0600, false, &fd, &err) == SB_ERR_EXISTS);
	SB_CHECK(sb_temp_file_create(path, 0600, true, &fd, &err) == SB_ERR_EXISTS);
	SB_CHECK(lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode));
	SB_CHECK(stat(victim, &sb) == 0 && sb.st_size == 1);
	unlink(path);
	unlink(victim);

	/* a missing directory: the errno is kept */
	snprintf(path, sizeof(path), "%s/no-such-dir/t.tmp", root);
	SB_CHECK(sb_temp_file_create(path, 0600, true, &fd, &err) == SB_ERR_NOT_FOUND);
}

static void
test_cluster_info(void)
{
	char		pgdata[512];
	char		path[600];
	uint64_t	sysid = 7123456789012345678ULL;
	char		control[8192];
	SbStanzaInfo info;
	SbError		err;

	snprintf(pgdata, sizeof(pgdata), "%s/pgdata", root);
	SB_CHECK(sb_cluster_read_info(pgdata, &info, &err) == SB_ERR_NOT_FOUND);
	mkdir(pgdata, 0700);
	snprintf(path, sizeof(path), "%s/global", pgdata);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/PG_VERSION", pgdata);
	sb_test_write_file(path, "15\n", 3);
	memset(control, 0, sizeof(control));
	memcpy(control, &sysid, sizeof(sysid));
	snprintf(path, sizeof(path), "%s/global/pg_control", pgdata);
	sb_test_write_file(path, control, sizeof(control));
	SB_CHECK(sb_cluster_read_info(pgdata, &info, &err) == SB_OK);
	SB_CHECK(info.system_identifier == sysid && info.pg_version == 15);
	snprintf(path, sizeof(path), "%s/PG_VERSION", pgdata);
	sb_test_write_file(path, "abc\n", 4);
	SB_CHECK(sb_cluster_read_info(pgdata, &info, &err) == SB_ERR_CORRUPT);
}

int
main(void)
{
	SbRepoConfig cfg;
	SbStorage  *st;
	const char *tmp = getenv("TMPDIR");
	char		cmd[600];
	int			rc;

	snprintf(root, sizeof(root), "%s/sb_repo_test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(root) == NULL)
	{
		perror("mkdtemp");
		return 2;
	}
	st = sb_test_open_repo(root, &cfg);

	test_info_file(st);
	test_stanza(st);
	test_wal_names();
	test_wal_push_get(st, &cfg);
	test_wal_types(st, &cfg);
	test_wal_one_pass(st, &cfg);
	test_wal_digest_kinds(st, &cfg);
	test_temp_file();
	test_setting_limits();
	test_cluster_info();

	sb_storage_close(st);
	sb_storage_free(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	rc = system(cmd);
	(void) rc;
	return sb_test_summary("repository");
}
