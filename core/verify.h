/*-------------------------------------------------------------------------
 *
 * verify.h
 *		Check that backups in the repository can be restored: every stored
 *		file re-read through the codec and compared with the manifest, and
 *		the WAL from each backup's start to the newest archived segment
 *		present (following timeline switches) and intact.
 *
 * For each backup checked, the report function receives one SbVerifyBackup:
 * ok, or the problems found, each a sentence naming what is wrong:
 *
 *   missing file X                        (not in the repository)
 *   truncated file X: ...                 (stored file shorter than written)
 *   size mismatch in X: ...               (longer stored file, or content size)
 *   checksum mismatch in X: ...           (content differs, or cannot be decoded)
 *   WAL gap from A to B                   (segments A..B are not stored)
 *   checksum mismatch in WAL file A: ...  (content differs from its name)
 *   timeline history file H is missing, ...
 *
 * File content is streamed through fixed buffers; what is kept in memory is
 * one manifest at a time and the list of stored WAL segment numbers.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_VERIFY_H
#define SB_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "manifest.h"
#include "sb_error.h"
#include "storage.h"

#define SB_VERIFY_MAX_LISTED	50	/* problems listed per backup; the rest are counted */

typedef struct SbVerifyBackup
{
	char		label[SB_LABEL_LEN];
	bool		ok;
	int			nproblems;		/* all problems found */
	int			nlisted;		/* the first ones, in problems[] */
	char	  **problems;
	int			files_checked;
	uint64_t	bytes_checked;	/* plain bytes re-read */
	int			wal_checked;	/* WAL segments re-read for this backup */
	char		wal_first[SB_WALNAME_MAX];	/* start segment ("" if unknown) */
	char		wal_last[SB_WALNAME_MAX];	/* newest segment it can reach */
} SbVerifyBackup;

typedef void (*SbVerifyReportFn) (const SbVerifyBackup *b, void *arg);
/* Polled between files: true stops verify (SB_ERR_INTERNAL "interrupted"). */
typedef bool (*SbVerifyInterruptFn) (void *arg);

typedef struct SbVerifyOptions
{
	const char *stanza;
	const char *label;			/* NULL or "": every complete backup */
	SbVerifyReportFn report;
	void	   *report_arg;
	SbVerifyInterruptFn interrupted;	/* may be NULL */
	void	   *interrupt_arg;
} SbVerifyOptions;

/*
 * Verify and report each backup (oldest first).  Returns SB_OK when verify
 * ran, whatever it found (*nbad: backups with problems; *nchecked: backups
 * reported); an error when it could not run (repository unreadable, no such
 * backup, interrupted).
 */
extern SbStatus sb_verify(SbStorage *st, const SbVerifyOptions *o,
						  int *nchecked, int *nbad, SbError *err);

#endif							/* SB_VERIFY_H */
