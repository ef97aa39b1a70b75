/*-------------------------------------------------------------------------
 *
 * test_files.c
 *		Local file helpers shared by the unit tests; see test_files.h.
 *
 *-------------------------------------------------------------------------
 */
#include "test_files.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

char *
sb_test_read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	*len = 0;
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n + 1);
	if (buf == NULL || fread(buf, 1, n, f) != (size_t) n)
		n = 0;
	if (buf != NULL)
		buf[n] = '\0';
	fclose(f);
	*len = (size_t) n;
	return buf;
}

void
sb_test_write_file(const char *path, const void *buf, size_t len)
{
	FILE	   *f = fopen(path, "wb");

	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
	{
		perror(path);
		exit(2);
	}
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	/* restored directories may be read-only: make them removable first */
	if (flag == FTW_DP)
		chmod(path, 0700);
	return remove(path);
}

void
sb_test_rm_tree(const char *path)
{
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

SbStorage *
sb_test_open_repo(const char *root, SbRepoConfig *cfg)
{
	SbStorage  *st;
	SbError		err;

	sb_config_init(cfg);
	snprintf(cfg->repo_path, sizeof(cfg->repo_path), "%s/repo", root);
	mkdir(cfg->repo_path, 0750);
	if (sb_storage_create(cfg, &st, &err) != SB_OK ||
		sb_storage_open(st, &err) != SB_OK)
	{
		fprintf(stderr, "cannot open repository: %s\n", err.msg);
		exit(2);
	}
	return st;
}
