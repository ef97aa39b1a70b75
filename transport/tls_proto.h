/*-------------------------------------------------------------------------
 *
 * tls_proto.h
 *		Wire protocol of the pg_safebackup repository server: frame layout,
 *		message types, encoding helpers and the strict request parser shared
 *		by the TLS client driver (transport/tls.c) and the server (server/).
 *
 * docs/protocol.md is the reference; keep the two in step.
 *
 * Shared core: no postgres.h, no ereport() or palloc(), no OpenSSL here
 * (the parser is fuzzed on its own, tests/fuzz/fuzz_request.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_TLS_PROTO_H
#define SB_TLS_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sb_config.h"
#include "sb_error.h"
#include "storage.h"

#define SB_TLS_PROTO_VERSION	1

/* Frame header: u32 payload length, u8 type, three zero bytes. */
#define SB_TLS_HEADER_LEN		8

/* Largest payload accepted in either direction. */
#define SB_TLS_MAX_PAYLOAD		(512 * 1024)

/* Largest file data carried by one WRITE_DATA or DATA frame. */
#define SB_TLS_CHUNK			(256 * 1024)

/* Open files (readers + writers) one connection may hold. */
#define SB_TLS_MAX_HANDLES		16

/* Requests (client to server) */
#define SB_TLS_HELLO			0x01
#define SB_TLS_STAT				0x10
#define SB_TLS_LIST				0x11
#define SB_TLS_MKDIR			0x12
#define SB_TLS_REMOVE			0x13
#define SB_TLS_WRITE_OPEN		0x20
#define SB_TLS_WRITE_DATA		0x21
#define SB_TLS_WRITE_COMMIT		0x22
#define SB_TLS_WRITE_ABORT		0x23
#define SB_TLS_READ_OPEN		0x30
#define SB_TLS_READ				0x31
#define SB_TLS_READ_CLOSE		0x32

/* Replies (server to client) */
#define SB_TLS_OK				0x80
#define SB_TLS_HELLO_OK			0x81
#define SB_TLS_STAT_OK			0x82
#define SB_TLS_ENTRIES			0x83
#define SB_TLS_END				0x84
#define SB_TLS_DATA				0x85
#define SB_TLS_ERROR			0xEE

/* Flags of WRITE_OPEN */
#define SB_TLS_WFLAG_REPLACE	0x01

/*
 * The client's right on the HELLO's stanza: an optional u8 at the end of
 * HELLO_OK (servers before append-only repositories send none, and gave
 * every client every right).
 */
#define SB_TLS_RIGHT_APPEND		1
#define SB_TLS_RIGHT_ADMIN		2

/*
 * What the server can do beyond version 1: an optional u8 after the right
 * byte of HELLO_OK (servers before send none: no feature).
 * READ_AT: READ_OPEN takes an optional u64 offset after the path.
 */
#define SB_TLS_FEATURE_READ_AT	0x01

/* LIST flags (an optional byte after the path) */
#define SB_TLS_LFLAG_TEMP		0x01	/* temporary files too */

/* A parsed request; pointers point into the payload given to the parser. */
typedef struct SbTlsRequest
{
	uint8_t		type;
	uint16_t	version;		/* HELLO */
	uint8_t		flags;			/* WRITE_OPEN, LIST */
	bool		recursive;		/* REMOVE */
	uint32_t	handle;			/* WRITE_DATA/COMMIT/ABORT, READ, READ_CLOSE */
	uint32_t	maxlen;			/* READ */
	uint64_t	offset;			/* READ_OPEN (optional, else 0) */
	char		path[SB_PATH_MAX];	/* path requests; HELLO: stanza or "" */
	char		stanza[SB_NAME_MAX];	/* first component of path */
	const uint8_t *data;		/* WRITE_DATA */
	size_t		datalen;
} SbTlsRequest;

/* Encoder over a caller-supplied buffer; ok turns false on overflow. */
typedef struct SbTlsBuf
{
	uint8_t    *data;
	size_t		cap;
	size_t		len;
	bool		ok;
} SbTlsBuf;

/* Decoder over a received payload; ok turns false on a short read. */
typedef struct SbTlsCursor
{
	const uint8_t *p;
	size_t		left;
	bool		ok;
} SbTlsCursor;

/* Start a frame of the given type in buf (reserves the header). */
extern void sb_tls_frame_begin(SbTlsBuf *b, uint8_t *data, size_t cap,
							   uint8_t type);
/* Fill in the header's length; false when the frame overflowed. */
extern bool sb_tls_frame_end(SbTlsBuf *b);

extern void sb_tls_put_u8(SbTlsBuf *b, uint8_t v);
extern void sb_tls_put_u16(SbTlsBuf *b, uint16_t v);
extern void sb_tls_put_u32(SbTlsBuf *b, uint32_t v);
extern void sb_tls_put_u64(SbTlsBuf *b, uint64_t v);
extern void sb_tls_put_bytes(SbTlsBuf *b, const void *p, size_t len);
/* u16 length + bytes (truncated to 65535) */
extern void sb_tls_put_str(SbTlsBuf *b, const char *s);

extern void sb_tls_cursor_init(SbTlsCursor *c, const uint8_t *p, size_t len);
extern uint8_t sb_tls_get_u8(SbTlsCursor *c);
extern uint16_t sb_tls_get_u16(SbTlsCursor *c);
extern uint32_t sb_tls_get_u32(SbTlsCursor *c);
extern uint64_t sb_tls_get_u64(SbTlsCursor *c);
/* A string into buf (size bytes, NUL-terminated); refuses NUL bytes and overflow. */
extern void sb_tls_get_str(SbTlsCursor *c, char *buf, size_t size);

/*
 * Check a frame header: reserved bytes zero, length within
 * SB_TLS_MAX_PAYLOAD.  Fills *type and *len.
 */
extern SbStatus sb_tls_parse_header(const uint8_t *hdr, uint8_t *type,
									uint32_t *len, SbError *err);

/*
 * Parse a request payload strictly: known type, exact length, valid path
 * (relative, no "..", ".", empty components or NUL, first component a valid
 * stanza name).  Never reads outside payload[0..len).
 */
extern SbStatus sb_tls_parse_request(uint8_t type, const uint8_t *payload,
									 size_t len, SbTlsRequest *req,
									 SbError *err);

/* Error frames: status codes travel as one byte, the SbStatus value. */
extern void sb_tls_put_error(SbTlsBuf *b, const SbError *err);
extern SbStatus sb_tls_parse_error(const uint8_t *payload, size_t len,
								   SbError *err);

extern const char *sb_tls_type_name(uint8_t type);

/*
 * After HELLO_OK's version: skip the software and CN strings and read the
 * optional right byte (absent: admin, an older server; unknown value:
 * unknown).
 */
extern SbRepoMode sb_tls_hello_mode(SbTlsCursor *c);
/* After sb_tls_hello_mode: the optional features byte (absent: 0). */
extern uint8_t sb_tls_hello_features(SbTlsCursor *c);

#endif							/* SB_TLS_PROTO_H */
