/*-------------------------------------------------------------------------
 *
 * fake_repo.h
 *		Build small repositories for the expire and verify unit tests: a
 *		stanza, WAL files pushed through the core (any content: only the
 *		names matter to the layout), and backups with a few files and a
 *		manifest whose start/stop WAL and timeline are chosen by the test.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_FAKE_REPO_H
#define SB_FAKE_REPO_H

#include <stdbool.h>

#include "manifest.h"
#include "storage.h"

typedef struct FakeRepo
{
	char		root[256];		/* temporary directory */
	SbRepoConfig cfg;
	SbStorage  *st;
} FakeRepo;

/* A fresh repository under /tmp with stanza "main" created. */
extern void fake_repo_init(FakeRepo *r, const char *name);
extern void fake_repo_free(FakeRepo *r);

/* Push a WAL file (segment, .backup, .history) with the given content. */
extern void fake_push_wal(FakeRepo *r, const char *walname, const char *content);
/* Segments first..last (numbers, 16 MB segments) of a timeline. */
extern void fake_push_segments(FakeRepo *r, unsigned int tli, unsigned int first,
							   unsigned int last);

/*
 * A backup on timeline tli that starts in segment start_seg (LSN
 * <start_seg>000028) and stops in stop_seg, with files PG_VERSION,
 * global/pg_control and base/1/1259 (three codec buffers and more).
 * Without a manifest it looks like an interrupted backup.
 */
extern void fake_backup(FakeRepo *r, const char *label, unsigned int tli,
						unsigned int start_seg, unsigned int stop_seg,
						bool with_manifest);

/* Local path of a repository path, and existence of a repository path. */
extern const char *fake_local(FakeRepo *r, const char *relpath);
extern bool fake_exists(FakeRepo *r, const char *relpath);
/* Local path of a stored data file of a backup. */
extern const char *fake_data_file(FakeRepo *r, const char *label,
								  const char *relpath);
/* Local path of the stored file of a WAL name (NULL if not stored). */
extern const char *fake_wal_file(FakeRepo *r, const char *walname);

#endif							/* SB_FAKE_REPO_H */
