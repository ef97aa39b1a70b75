/*-------------------------------------------------------------------------
 *
 * cluster.h
 *		Facts about a local data directory, read without a running server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_CLUSTER_H
#define SB_CLUSTER_H

#include <stdbool.h>
#include <stdint.h>

#include "sb_error.h"
#include "stanza.h"

/* pg_control's cluster states (DBState) that mean "stopped cleanly". */
#define SB_DB_SHUTDOWNED				1
#define SB_DB_SHUTDOWNED_IN_RECOVERY	2

/* pg_control's wal_level values. */
#define SB_WAL_LEVEL_MINIMAL	0
#define SB_WAL_LEVEL_REPLICA	1
#define SB_WAL_LEVEL_LOGICAL	2

/* The fields of global/pg_control that a restore reasons with. */
typedef struct SbControlInfo
{
	uint64_t	system_identifier;
	uint32_t	pg_control_version; /* 1300 (15, 16), 1700 (17), 1800 (18) */
	int			state;			/* DBState, SB_DB_SHUTDOWNED ... */
	uint64_t	checkpoint;		/* LSN of the last checkpoint record */
	uint64_t	checkpoint_redo;	/* its redo point */
	uint32_t	checkpoint_tli; /* its timeline (ThisTimeLineID) */
	uint64_t	min_recovery_point;
	uint32_t	min_recovery_point_tli;
	int			wal_level;		/* SB_WAL_LEVEL_... */
	bool		wal_log_hints;
	uint32_t	blcksz;
	uint32_t	relseg_size;	/* blocks per relation segment file */
	uint32_t	xlog_blcksz;
	uint32_t	xlog_seg_size;
	uint32_t	data_checksum_version;	/* 0 when checksums are off */
} SbControlInfo;

/*
 * Fill info with the system identifier (from global/pg_control) and the
 * major version (from PG_VERSION) of the data directory pgdata.
 */
extern SbStatus sb_cluster_read_info(const char *pgdata, SbStanzaInfo *info,
									 SbError *err);

/*
 * Read pgdata/global/pg_control of PostgreSQL 15 to 18 and verify its
 * CRC-32C.  SB_ERR_CORRUPT when the file is short or its checksum is wrong,
 * SB_ERR_MISMATCH when its format version is not one we know.
 */
extern SbStatus sb_cluster_read_control(const char *pgdata, SbControlInfo *ci,
										SbError *err);

/* The same, from the bytes of a pg_control file already read. */
extern SbStatus sb_cluster_parse_control(const unsigned char *buf, size_t len,
										 const char *path, SbControlInfo *ci,
										 SbError *err);

#endif							/* SB_CLUSTER_H */
