/*-------------------------------------------------------------------------
 *
 * tls_proto.c
 *		Frame encoding and the strict request parser of the repository
 *		server protocol; see transport/tls_proto.h and docs/protocol.md.
 *
 * Integers are big-endian.  A string is a u16 length and that many bytes,
 * with no NUL among them.  The parser trusts nothing: every length is
 * checked against what is left of the payload, a request must use its
 * payload exactly, and a path must be a valid repository path whose first
 * component is a valid stanza name.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "tls_proto.h"

#include <string.h>

#include "storage.h"

void
sb_tls_frame_begin(SbTlsBuf *b, uint8_t *data, size_t cap, uint8_t type)
{
	b->data = data;
	b->cap = cap;
	b->len = 0;
	b->ok = cap >= SB_TLS_HEADER_LEN;
	if (b->ok)
	{
		memset(data, 0, SB_TLS_HEADER_LEN);
		data[4] = type;
		b->len = SB_TLS_HEADER_LEN;
	}
}

bool
sb_tls_frame_end(SbTlsBuf *b)
{
	size_t		plen;

	if (!b->ok || b->len < SB_TLS_HEADER_LEN)
		return false;
	plen = b->len - SB_TLS_HEADER_LEN;
	if (plen > SB_TLS_MAX_PAYLOAD)
		return false;
	b->data[0] = (uint8_t) (plen >> 24);
	b->data[1] = (uint8_t) (plen >> 16);
	b->data[2] = (uint8_t) (plen >> 8);
	b->data[3] = (uint8_t) plen;
	return true;
}

void
sb_tls_put_bytes(SbTlsBuf *b, const void *p, size_t len)
{
	if (!b->ok || len > b->cap - b->len)
	{
		b->ok = false;
		return;
	}
	if (len > 0)
		memcpy(b->data + b->len, p, len);
	b->len += len;
}

void
sb_tls_put_u8(SbTlsBuf *b, uint8_t v)
{
	sb_tls_put_bytes(b, &v, 1);
}

void
sb_tls_put_u16(SbTlsBuf *b, uint16_t v)
{
	uint8_t		x[2] = {(uint8_t) (v >> 8), (uint8_t) v};

	sb_tls_put_bytes(b, x, 2);
}

void
sb_tls_put_u32(SbTlsBuf *b, uint32_t v)
{
	uint8_t		x[4] = {(uint8_t) (v >> 24), (uint8_t) (v >> 16),
	(uint8_t) (v >> 8), (uint8_t) v};

	sb_tls_put_bytes(b, x, 4);
}

void
sb_tls_put_u64(SbTlsBuf *b, uint64_t v)
{
	sb_tls_put_u32(b, (uint32_t) (v >> 32));
	sb_tls_put_u32(b, (uint32_t) v);
}

void
sb_tls_put_str(SbTlsBuf *b, const char *s)
{
	size_t		len = strlen(s);

	if (len > 65535)
		len = 65535;
	sb_tls_put_u16(b, (uint16_t) len);
	sb_tls_put_bytes(b, s, len);
}

void
sb_tls_cursor_init(SbTlsCursor *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->left = len;
	c->ok = true;
}

static const uint8_t *
cursor_take(SbTlsCursor *c, size_t n)
{
	const uint8_t *p;

	if (!c->ok || c->left < n)
	{
		c->ok = false;
		return NULL;
	}
	p = c->p;
	c->p += n;
	c->left -= n;
	return p;
}

uint8_t
sb_tls_get_u8(SbTlsCursor *c)
{
	const uint8_t *p = cursor_take(c, 1);

	return p ? p[0] : 0;
}

uint16_t
sb_tls_get_u16(SbTlsCursor *c)
{
	const uint8_t *p = cursor_take(c, 2);

	return p ? (uint16_t) ((p[0] << 8) | p[1]) : 0;
}

uint32_t
sb_tls_get_u32(SbTlsCursor *c)
{
	const uint8_t *p = cursor_take(c, 4);

	if (p == NULL)
		return 0;
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

uint64_t
sb_tls_get_u64(SbTlsCursor *c)
{
	uint64_t	hi = sb_tls_get_u32(c);

	return (hi << 32) | sb_tls_get_u32(c);
}

void
sb_tls_get_str(SbTlsCursor *c, char *buf, size_t size)
{
	uint16_t	len = sb_tls_get_u16(c);
	const uint8_t *p;

	buf[0] = '\0';
	if (!c->ok)
		return;
	if ((size_t) len >= size)
	{
		c->ok = false;
		return;
	}
	p = cursor_take(c, len);
	if (p == NULL)
		return;
	if (len > 0 && memchr(p, '\0', len) != NULL)
	{
		c->ok = false;
		return;
	}
	memcpy(buf, p, len);
	buf[len] = '\0';
}

SbStatus
sb_tls_parse_header(const uint8_t *hdr, uint8_t *type, uint32_t *len,
					SbError *err)
{
	uint32_t	plen;

	plen = ((uint32_t) hdr[0] << 24) | ((uint32_t) hdr[1] << 16) |
		((uint32_t) hdr[2] << 8) | (uint32_t) hdr[3];
	*type = hdr[4];
	*len = plen;
	if (hdr[5] != 0 || hdr[6] != 0 || hdr[7] != 0)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"invalid frame header (reserved bytes are not zero)");
	if (plen > SB_TLS_MAX_PAYLOAD)
	{
		sb_error_set(err, SB_ERR_CORRUPT,
					 "frame of %lu bytes exceeds the limit of %d bytes",
					 (unsigned long) plen, SB_TLS_MAX_PAYLOAD);
		return SB_ERR_CORRUPT;
	}
	return SB_OK;
}

/* Check req->path and set req->stanza from its first component. */
static SbStatus
check_path(SbTlsRequest *req, SbError *err)
{
	const char *slash;
	size_t		n;

	if (!sb_path_valid(req->path))
		return sb_error_set(err, SB_ERR_PERMISSION,
							"invalid repository path \"%s\"", req->path);
	slash = strchr(req->path, '/');
	n = slash ? (size_t) (slash - req->path) : strlen(req->path);
	if (n >= sizeof(req->stanza))
		return sb_error_set(err, SB_ERR_PERMISSION,
							"invalid stanza name in path \"%s\"", req->path);
	memcpy(req->stanza, req->path, n);
	req->stanza[n] = '\0';
	if (!sb_stanza_name_valid(req->stanza))
		return sb_error_set(err, SB_ERR_PERMISSION,
							"invalid stanza name in path \"%s\"", req->path);
	return SB_OK;
}

SbStatus
sb_tls_parse_request(uint8_t type, const uint8_t *payload, size_t len,
					 SbTlsRequest *req, SbError *err)
{
	SbTlsCursor c;
	bool		has_path = false;

	memset(req, 0, sizeof(*req));
	req->type = type;
	sb_tls_cursor_init(&c, payload, len);

	switch (type)
	{
		case SB_TLS_HELLO:
			req->version = sb_tls_get_u16(&c);
			sb_tls_get_str(&c, req->path, sizeof(req->path));
			if (c.ok && req->path[0] != '\0' &&
				!sb_stanza_name_valid(req->path))
				return sb_error_set(err, SB_ERR_PERMISSION,
									"invalid stanza name \"%s\"", req->path);
			if (c.ok)
				strcpy(req->stanza, req->path);
			break;
		case SB_TLS_STAT:
		case SB_TLS_MKDIR:
			sb_tls_get_str(&c, req->path, sizeof(req->path));
			has_path = true;
			break;
		case SB_TLS_READ_OPEN:
			sb_tls_get_str(&c, req->path, sizeof(req->path));
			has_path = true;
			/* an optional offset to read from (SB_TLS_FEATURE_READ_AT) */
			if (c.ok && c.left > 0)
				req->offset = sb_tls_get_u64(&c);
			break;
		case SB_TLS_LIST:
			sb_tls_get_str(&c, req->path, sizeof(req->path));
			has_path = true;
			/* an optional flags byte after the path */
			if (c.ok && c.left > 0)
			{
				req->flags = sb_tls_get_u8(&c);
				if (c.ok && (req->flags & ~SB_TLS_LFLAG_TEMP) != 0)
					return sb_error_set(err, SB_ERR_CORRUPT,
										"invalid LIST flags %u",
										(unsigned int) req->flags);
			}
			break;
		case SB_TLS_REMOVE:
			{
				uint8_t		r = sb_tls_get_u8(&c);

				if (c.ok && r > 1)
					return sb_error_set(err, SB_ERR_CORRUPT,
										"invalid REMOVE request");
				req->recursive = (r == 1);
				sb_tls_get_str(&c, req->path, sizeof(req->path));
				has_path = true;
				break;
			}
		case SB_TLS_WRITE_OPEN:
			req->flags = sb_tls_get_u8(&c);
			if (c.ok && (req->flags & ~SB_TLS_WFLAG_REPLACE) != 0)
				return sb_error_set(err, SB_ERR_CORRUPT,
									"invalid WRITE_OPEN flags %u",
									(unsigned int) req->flags);
			sb_tls_get_str(&c, req->path, sizeof(req->path));
			has_path = true;
			break;
		case SB_TLS_WRITE_DATA:
			req->handle = sb_tls_get_u32(&c);
			if (c.ok && c.left > SB_TLS_CHUNK)
				return sb_error_set(err, SB_ERR_CORRUPT,
									"WRITE_DATA carries more than %d bytes",
									SB_TLS_CHUNK);
			if (c.ok)
			{
				req->data = c.p;
				req->datalen = c.left;
				c.left = 0;
			}
			break;
		case SB_TLS_WRITE_COMMIT:
			req->handle = sb_tls_get_u32(&c);
			/* optional: publish the file under this name instead */
			if (c.ok && c.left > 0)
			{
				sb_tls_get_str(&c, req->path, sizeof(req->path));
				has_path = true;
			}
			break;
		case SB_TLS_WRITE_ABORT:
		case SB_TLS_READ_CLOSE:
			req->handle = sb_tls_get_u32(&c);
			break;
		case SB_TLS_READ:
			req->handle = sb_tls_get_u32(&c);
			req->maxlen = sb_tls_get_u32(&c);
			if (c.ok && (req->maxlen == 0 || req->maxlen > SB_TLS_CHUNK))
				return sb_error_set(err, SB_ERR_CORRUPT,
									"invalid READ length %lu",
									(unsigned long) req->maxlen);
			break;
		default:
			return sb_error_set(err, SB_ERR_CORRUPT,
								"unknown request type 0x%02x",
								(unsigned int) type);
	}

	if (!c.ok)
		return sb_error_set(err, SB_ERR_CORRUPT, "malformed %s request",
							sb_tls_type_name(type));
	if (c.left != 0)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"%s request has %zu trailing bytes",
							sb_tls_type_name(type), c.left);
	if (has_path)
		return check_path(req, err);
	return SB_OK;
}

void
sb_tls_put_error(SbTlsBuf *b, const SbError *err)
{
	SbStatus	st = err->status == SB_OK ? SB_ERR_INTERNAL : err->status;

	sb_tls_put_u8(b, (uint8_t) st);
	sb_tls_put_str(b, err->msg);
	sb_tls_put_str(b, err->detail);
	sb_tls_put_str(b, err->hint);
}

SbStatus
sb_tls_parse_error(const uint8_t *payload, size_t len, SbError *err)
{
	SbTlsCursor c;
	uint8_t		code;
	char		msg[SB_ERROR_MSG_LEN];
	char		detail[SB_ERROR_DETAIL_LEN];
	char		hint[SB_ERROR_HINT_LEN];

	sb_tls_cursor_init(&c, payload, len);
	code = sb_tls_get_u8(&c);
	sb_tls_get_str(&c, msg, sizeof(msg));
	sb_tls_get_str(&c, detail, sizeof(detail));
	sb_tls_get_str(&c, hint, sizeof(hint));
	if (!c.ok || c.left != 0)
		return sb_error_set(err, SB_ERR_NETWORK,
							"malformed error reply from the repository server");
	/* unknown codes from a newer server are treated as internal errors */
	if (code == SB_OK || code > SB_ERR_NO_MEMORY)
		code = SB_ERR_INTERNAL;
	sb_error_set(err, (SbStatus) code, "%s", msg);
	if (detail[0])
		sb_error_detail(err, "%s", detail);
	if (hint[0])
		sb_error_hint(err, "%s", hint);
	return err->status;
}

const char *
sb_tls_type_name(uint8_t type)
{
	switch (type)
	{
		case SB_TLS_HELLO:
			return "HELLO";
		case SB_TLS_STAT:
			return "STAT";
		case SB_TLS_LIST:
			return "LIST";
		case SB_TLS_MKDIR:
			return "MKDIR";
		case SB_TLS_REMOVE:
			return "REMOVE";
		case SB_TLS_WRITE_OPEN:
			return "WRITE_OPEN";
		case SB_TLS_WRITE_DATA:
			return "WRITE_DATA";
		case SB_TLS_WRITE_COMMIT:
			return "WRITE_COMMIT";
		case SB_TLS_WRITE_ABORT:
			return "WRITE_ABORT";
		case SB_TLS_READ_OPEN:
			return "READ_OPEN";
		case SB_TLS_READ:
			return "READ";
		case SB_TLS_READ_CLOSE:
			return "READ_CLOSE";
		case SB_TLS_OK:
			return "OK";
		case SB_TLS_HELLO_OK:
			return "HELLO_OK";
		case SB_TLS_STAT_OK:
			return "STAT_OK";
		case SB_TLS_ENTRIES:
			return "ENTRIES";
		case SB_TLS_END:
			return "END";
		case SB_TLS_DATA:
			return "DATA";
		case SB_TLS_ERROR:
			return "ERROR";
	}
	return "unknown";
}

SbRepoMode
sb_tls_hello_mode(SbTlsCursor *c)
{
	char		skip[1024];
	uint8_t		right;

	sb_tls_get_str(c, skip, sizeof(skip));	/* server software */
	sb_tls_get_str(c, skip, sizeof(skip));	/* our CN */
	if (!c->ok)
		return SB_REPO_MODE_UNKNOWN;
	if (c->left == 0)
		return SB_REPO_MODE_ADMIN;
	right = sb_tls_get_u8(c);
	if (!c->ok)
		return SB_REPO_MODE_UNKNOWN;
	if (right == SB_TLS_RIGHT_APPEND)
		return SB_REPO_MODE_APPEND;
	if (right == SB_TLS_RIGHT_ADMIN)
		return SB_REPO_MODE_ADMIN;
	return SB_REPO_MODE_UNKNOWN;
}

uint8_t
sb_tls_hello_features(SbTlsCursor *c)
{
	uint8_t		features;

	if (!c->ok || c->left == 0)
		return 0;
	features = sb_tls_get_u8(c);
	return c->ok ? features : 0;
}
