/*-------------------------------------------------------------------------
 *
 * stanza.h
 *		The stanza info file: which cluster a stanza belongs to.
 *
 * <stanza>/stanza.info (and its .copy) records the repository format
 * version, the cluster's system identifier and PostgreSQL major version.
 * It is written on first use; afterwards every writer checks that it is the
 * same cluster, so two clusters' WAL can never be mixed in one stanza.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_STANZA_H
#define SB_STANZA_H

#include <stdint.h>

#include "sb_error.h"
#include "storage.h"

#define SB_REPO_FORMAT_VERSION	1

typedef struct SbStanzaInfo
{
	int			format_version;
	uint64_t	system_identifier;
	int			pg_version;		/* major version, e.g. 15 */
} SbStanzaInfo;

/* SB_ERR_NOT_FOUND when the stanza has not been created. */
extern SbStatus sb_stanza_load(SbStorage *st, const char *stanza,
							   SbStanzaInfo *out, SbError *err);

/*
 * Create the stanza for this cluster if it does not exist yet, otherwise
 * check that it belongs to this cluster (SB_ERR_MISMATCH if not).
 */
extern SbStatus sb_stanza_ensure(SbStorage *st, const char *stanza,
								 const SbStanzaInfo *mine, SbError *err);

#endif							/* SB_STANZA_H */
