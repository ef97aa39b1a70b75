/*-------------------------------------------------------------------------
 *
 * verify_internal.h
 *		What verify.c (backups' files) and verify_wal.c (WAL) share.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_VERIFY_INTERNAL_H
#define SB_VERIFY_INTERNAL_H

#include "verify.h"

/* A run of segments a backup needs on one timeline. */
typedef struct VerifySpan
{
	unsigned int tli;
	uint64_t	from;
	uint64_t	to;				/* inclusive */
} VerifySpan;

typedef struct VerifyBackup
{
	SbVerifyBackup r;
	bool		have_manifest;
	unsigned int timeline;
	char		start_lsn[SB_LSN_LEN];
	char		start_wal[SB_WALNAME_MAX];
	char		stop_wal[SB_WALNAME_MAX];
	int			nspans;
	VerifySpan *spans;
} VerifyBackup;

extern void sb_verify_problem(SbVerifyBackup *b, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern bool sb_verify_interrupted(const SbVerifyOptions *o, SbError *err);

/* Check the WAL of every backup that has a manifest; problems go to them. */
extern SbStatus sb_verify_wal(SbStorage *st, const SbVerifyOptions *o,
							  VerifyBackup *b, int nb, SbError *err);

#endif							/* SB_VERIFY_INTERNAL_H */
