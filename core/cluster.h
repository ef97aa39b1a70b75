/*-------------------------------------------------------------------------
 *
 * cluster.h
 *		Facts about a local data directory, read without a running server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_CLUSTER_H
#define SB_CLUSTER_H

#include "sb_error.h"
#include "stanza.h"

/*
 * Fill info with the system identifier (from global/pg_control) and the
 * major version (from PG_VERSION) of the data directory pgdata.
 */
extern SbStatus sb_cluster_read_info(const char *pgdata, SbStanzaInfo *info,
									 SbError *err);

#endif							/* SB_CLUSTER_H */
