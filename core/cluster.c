/*-------------------------------------------------------------------------
 *
 * cluster.c
 *		Read a data directory's identity without a running server.
 *
 * The system identifier is the first field of pg_control, stored in the
 * machine's byte order, in every supported version.  The other fields a
 * restore needs sit at offsets that depend on the file's format version;
 * the table below holds them, measured with offsetof() against the server
 * headers of PostgreSQL 15, 17 and 18 (16 shares 15's format, 1300).
 *
 *-------------------------------------------------------------------------
 */
#include "cluster.h"

#include "crc32c.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static SbStatus
read_small_file(const char *path, char *buf, size_t size, size_t *len,
				SbError *err)
{
	int			fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t		n;

	if (fd < 0)
	{
		sb_error_errno(err, errno, "could not open file \"%s\"", path);
		if (errno == ENOENT)
			sb_error_hint(err, "Check that --pgdata names a PostgreSQL data directory.");
		return err->status;
	}
	do
		n = read(fd, buf, size);
	while (n < 0 && errno == EINTR);
	if (n < 0)
	{
		int			save = errno;

		close(fd);
		return sb_error_errno(err, save, "could not read file \"%s\"", path);
	}
	close(fd);
	*len = (size_t) n;
	return SB_OK;
}

SbStatus
sb_cluster_read_info(const char *pgdata, SbStanzaInfo *info, SbError *err)
{
	char		path[SB_PATH_MAX];
	char		buf[64];
	size_t		len;
	char	   *end;
	long		v;
	SbStatus	rc;

	memset(info, 0, sizeof(*info));
	info->format_version = SB_REPO_FORMAT_VERSION;

	snprintf(path, sizeof(path), "%s/PG_VERSION", pgdata);
	rc = read_small_file(path, buf, sizeof(buf) - 1, &len, err);
	if (rc != SB_OK)
		return rc;
	buf[len] = '\0';
	v = strtol(buf, &end, 10);
	if (end == buf || (*end != '\n' && *end != '\0') || v < 10 || v > 1000)
		return sb_error_set(err, SB_ERR_CORRUPT, "invalid version in file \"%s\"", path);
	info->pg_version = (int) v;

	snprintf(path, sizeof(path), "%s/global/pg_control", pgdata);
	rc = read_small_file(path, buf, sizeof(uint64_t), &len, err);
	if (rc != SB_OK)
		return rc;
	if (len != sizeof(uint64_t))
		return sb_error_set(err, SB_ERR_CORRUPT, "file \"%s\" is too short", path);
	memcpy(&info->system_identifier, buf, sizeof(uint64_t));
	return SB_OK;
}

/* Where the fields sit in one pg_control format. */
typedef struct ControlLayout
{
	uint32_t	version;
	size_t		crc;			/* the CRC covers the bytes before it */
} ControlLayout;

/* Offsets shared by all known formats (the fields before the crc). */
#define CTL_VERSION			8
#define CTL_STATE			16
#define CTL_CHECKPOINT		32
#define CTL_REDO			40
#define CTL_TLI				48
#define CTL_MINRECOVERY		136
#define CTL_MINRECOVERY_TLI	144
#define CTL_WAL_LEVEL		172
#define CTL_WAL_LOG_HINTS	176
#define CTL_BLCKSZ			216
#define CTL_RELSEG_SIZE		220
#define CTL_XLOG_BLCKSZ		224
#define CTL_XLOG_SEG_SIZE	228
#define CTL_CHECKSUM_VER	252

static const ControlLayout control_layouts[] = {
	{1300, 288},				/* PostgreSQL 15 and 16 */
	{1700, 288},				/* PostgreSQL 17 */
	{1800, 292},				/* PostgreSQL 18 */
};

static uint32_t
get_u32(const unsigned char *buf, size_t off)
{
	uint32_t	v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

static uint64_t
get_u64(const unsigned char *buf, size_t off)
{
	uint64_t	v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

static const ControlLayout *
find_layout(uint32_t version)
{
	for (size_t i = 0; i < sizeof(control_layouts) / sizeof(control_layouts[0]); i++)
		if (control_layouts[i].version == version)
			return &control_layouts[i];
	return NULL;
}

SbStatus
sb_cluster_parse_control(const unsigned char *buf, size_t len,
						 const char *path, SbControlInfo *ci, SbError *err)
{
	const ControlLayout *lay;
	uint32_t	version;

	memset(ci, 0, sizeof(*ci));
	if (len < CTL_VERSION + 4)
		return sb_error_set(err, SB_ERR_CORRUPT, "file \"%s\" is too short", path);
	version = get_u32(buf, CTL_VERSION);
	lay = find_layout(version);
	if (lay == NULL)
	{
		sb_error_set(err, SB_ERR_MISMATCH,
					 "file \"%s\" has unsupported pg_control version %u", path, version);
		sb_error_detail(err, "Versions 1300 (PostgreSQL 15 and 16), 1700 (17) and 1800 (18) are supported.");
		return err->status;
	}
	if (len < lay->crc + 4)
		return sb_error_set(err, SB_ERR_CORRUPT, "file \"%s\" is too short", path);
	if (sb_crc32c(buf, lay->crc) != get_u32(buf, lay->crc))
		return sb_error_set(err, SB_ERR_CORRUPT,
							"checksum mismatch in file \"%s\"", path);

	ci->system_identifier = get_u64(buf, 0);
	ci->pg_control_version = version;
	ci->state = (int) get_u32(buf, CTL_STATE);
	ci->checkpoint = get_u64(buf, CTL_CHECKPOINT);
	ci->checkpoint_redo = get_u64(buf, CTL_REDO);
	ci->checkpoint_tli = get_u32(buf, CTL_TLI);
	ci->min_recovery_point = get_u64(buf, CTL_MINRECOVERY);
	ci->min_recovery_point_tli = get_u32(buf, CTL_MINRECOVERY_TLI);
	ci->wal_level = (int) get_u32(buf, CTL_WAL_LEVEL);
	ci->wal_log_hints = buf[CTL_WAL_LOG_HINTS] != 0;
	ci->blcksz = get_u32(buf, CTL_BLCKSZ);
	ci->relseg_size = get_u32(buf, CTL_RELSEG_SIZE);
	ci->xlog_blcksz = get_u32(buf, CTL_XLOG_BLCKSZ);
	ci->xlog_seg_size = get_u32(buf, CTL_XLOG_SEG_SIZE);
	ci->data_checksum_version = get_u32(buf, CTL_CHECKSUM_VER);
	return SB_OK;
}

SbStatus
sb_cluster_read_control(const char *pgdata, SbControlInfo *ci, SbError *err)
{
	char		path[SB_PATH_MAX];
	unsigned char buf[512];
	size_t		len;
	SbStatus	rc;

	snprintf(path, sizeof(path), "%s/global/pg_control", pgdata);
	rc = read_small_file(path, (char *) buf, sizeof(buf), &len, err);
	if (rc != SB_OK)
		return rc;
	return sb_cluster_parse_control(buf, len, path, ci, err);
}
