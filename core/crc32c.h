/*-------------------------------------------------------------------------
 *
 * crc32c.h
 *		CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum
 *		PostgreSQL puts in pg_control and in every WAL record.
 *
 * Start with SB_CRC32C_INIT, feed bytes with sb_crc32c_update (in as many
 * pieces as convenient), finish with SB_CRC32C_FINAL.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_CRC32C_H
#define SB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#define SB_CRC32C_INIT			0xFFFFFFFFu
#define SB_CRC32C_FINAL(crc)	((crc) ^ 0xFFFFFFFFu)

extern uint32_t sb_crc32c_update(uint32_t crc, const void *data, size_t len);

/* The table-driven loop alone (what processors without SSE 4.2 run). */
extern uint32_t sb_crc32c_update_portable(uint32_t crc, const void *data,
										  size_t len);

/* The whole computation over one buffer. */
static inline uint32_t
sb_crc32c(const void *data, size_t len)
{
	return SB_CRC32C_FINAL(sb_crc32c_update(SB_CRC32C_INIT, data, len));
}

#endif							/* SB_CRC32C_H */
