/*-------------------------------------------------------------------------
 *
 * codec.c
 *		The codec pipeline: SHA-256 digest, zlib (gzip) compression and the
 *		sinks that end a chain, plus the whole-file store and fetch helpers.
 *
 * Every filter owns at most one buffer of SB_CODEC_BUFSIZE bytes (plus the
 * library state of zlib or OpenSSL), so memory use does not depend on the
 * size of the file flowing through; only the buffer sink grows, bounded by
 * the max_len its creator chose.
 *
 * Compressed files are single-member gzip streams, so a repository file can
 * be checked by hand with "gzip -dc".
 *
 * Shared core: no postgres.h, no ereport()/palloc().  See codec.h.
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

/* gzip wrapper around a deflate stream with a 32 kB window */
#define SB_ZLIB_WINDOW_BITS		(15 + 16)
#define SB_ZLIB_MEM_LEVEL		8

/* largest piece handed to zlib at once (avail_in is an unsigned int) */
#define SB_ZLIB_MAX_CHUNK		((size_t) 1 << 30)

/* ----------------------------------------------------------------
 *		Generic entry points
 * ----------------------------------------------------------------
 */

SbStatus
sb_filter_write(SbFilter *f, const void *buf, size_t len, SbError *err)
{
	if (len == 0)
		return SB_OK;
	return f->write(f, (const uint8_t *) buf, len, err);
}

SbStatus
sb_filter_finish(SbFilter *f, SbError *err)
{
	return f->finish(f, err);
}

void
sb_filter_free_chain(SbFilter *head)
{
	while (head != NULL)
	{
		SbFilter   *next = head->next;

		head->free(head);
		head = next;
	}
}

/* Push to next when there is one; a filter without next discards. */
static SbStatus
filter_push(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	if (f->next == NULL || len == 0)
		return SB_OK;
	return sb_filter_write(f->next, buf, len, err);
}

static SbStatus
filter_finish_next(SbFilter *f, SbError *err)
{
	if (f->next == NULL)
		return SB_OK;
	return sb_filter_finish(f->next, err);
}

static void
to_hex(const unsigned char *md, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	size_t		i;

	for (i = 0; i < len; i++)
	{
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0x0f];
	}
	hex[2 * len] = '\0';
}

/* ----------------------------------------------------------------
 *		Digest filter: SHA-256 and byte count, pass-through
 * ----------------------------------------------------------------
 */

typedef struct DigestFilter
{
	SbFilter	base;
	EVP_MD_CTX *ctx;
	bool		init_ok;		/* EVP_DigestInit_ex succeeded */
	bool		finished;
	uint64_t	bytes;
	char		hex[SB_SHA256_HEX_LEN + 1];
} DigestFilter;

static SbStatus
digest_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	DigestFilter *d = (DigestFilter *) f;

	if (d->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not compute checksum: write after finish");
	if (!d->init_ok)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not initialize SHA-256 context");
	if (EVP_DigestUpdate(d->ctx, buf, len) != 1)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not update SHA-256 context");
	d->bytes += len;
	return filter_push(f, buf, len, err);
}

static SbStatus
digest_finish(SbFilter *f, SbError *err)
{
	DigestFilter *d = (DigestFilter *) f;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (d->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not compute checksum: finished twice");
	d->finished = true;
	if (!d->init_ok)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not initialize SHA-256 context");
	if (EVP_DigestFinal_ex(d->ctx, md, &mdlen) != 1 || mdlen != SB_SHA256_LEN)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not finalize SHA-256 context");
	to_hex(md, SB_SHA256_LEN, d->hex);
	return filter_finish_next(f, err);
}

static void
digest_free(SbFilter *f)
{
	DigestFilter *d = (DigestFilter *) f;

	if (d == NULL)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}

SbFilter *
sb_filter_digest_new(SbFilter *next)
{
	DigestFilter *d;

	d = calloc(1, sizeof(DigestFilter));
	if (d == NULL)
		return NULL;
	d->ctx = EVP_MD_CTX_new();
	if (d->ctx == NULL)
	{
		free(d);
		return NULL;
	}
	/* an initialization failure is reported by the first write or finish */
	d->init_ok = (EVP_DigestInit_ex(d->ctx, EVP_sha256(), NULL) == 1);
	d->base.write = digest_write;
	d->base.finish = digest_finish;
	d->base.free = digest_free;
	d->base.next = next;
	return &d->base;
}

void
sb_filter_digest_hex(SbFilter *f, char *hex)
{
	DigestFilter *d = (DigestFilter *) f;

	if (f == NULL || f->write != digest_write)
	{
		hex[0] = '\0';
		return;
	}
	memcpy(hex, d->hex, sizeof(d->hex));
}

uint64_t
sb_filter_digest_bytes(SbFilter *f)
{
	if (f == NULL || f->write != digest_write)
		return 0;
	return ((DigestFilter *) f)->bytes;
}

void
sb_sha256_hex(const void *buf, size_t len, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (buf == NULL)
		buf = "";
	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
		mdlen != SB_SHA256_LEN)
	{
		/* no way to report an error here; an empty string never matches */
		hex[0] = '\0';
		return;
	}
	to_hex(md, SB_SHA256_LEN, hex);
}

/* ----------------------------------------------------------------
 *		Count filter: counts bytes, pass-through
 *
 * Also serves as the pass-through for SB_COMPRESS_NONE.
 * ----------------------------------------------------------------
 */

typedef struct CountFilter
{
	SbFilter	base;
	uint64_t	bytes;
} CountFilter;

static SbStatus
count_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	((CountFilter *) f)->bytes += len;
	return filter_push(f, buf, len, err);
}

static SbStatus
count_finish(SbFilter *f, SbError *err)
{
	return filter_finish_next(f, err);
}

static void
count_free(SbFilter *f)
{
	free(f);
}

SbFilter *
sb_filter_count_new(SbFilter *next)
{
	CountFilter *c;

	c = calloc(1, sizeof(CountFilter));
	if (c == NULL)
		return NULL;
	c->base.write = count_write;
	c->base.finish = count_finish;
	c->base.free = count_free;
	c->base.next = next;
	return &c->base;
}

uint64_t
sb_filter_count_bytes(SbFilter *f)
{
	if (f == NULL || f->write != count_write)
		return 0;
	return ((CountFilter *) f)->bytes;
}

/* ----------------------------------------------------------------
 *		Filter for an unsupported compression type
 *
 * The constructors may return NULL only when out of memory, so an unknown
 * type yields a filter that fails on first use.
 * ----------------------------------------------------------------
 */

typedef struct BadTypeFilter
{
	SbFilter	base;
	int			type;
} BadTypeFilter;

static SbStatus
badtype_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	(void) buf;
	(void) len;
	return sb_error_set(err, SB_ERR_CONFIG, "unsupported compression type %d",
						((BadTypeFilter *) f)->type);
}

static SbStatus
badtype_finish(SbFilter *f, SbError *err)
{
	return badtype_write(f, NULL, 0, err);
}

static SbFilter *
badtype_new(SbCompressType type, SbFilter *next)
{
	BadTypeFilter *b;

	b = calloc(1, sizeof(BadTypeFilter));
	if (b == NULL)
		return NULL;
	b->type = (int) type;
	b->base.write = badtype_write;
	b->base.finish = badtype_finish;
	b->base.free = count_free;
	b->base.next = next;
	return &b->base;
}

static bool
compress_type_known(SbCompressType type)
{
	return type == SB_COMPRESS_NONE || type == SB_COMPRESS_ZLIB;
}

/* ----------------------------------------------------------------
 *		zlib filters
 *
 * Output is collected in one SB_CODEC_BUFSIZE buffer and pushed to next
 * only when full, and once more at finish, so the stage after us sees
 * writes of the full chunk size.
 * ----------------------------------------------------------------
 */

typedef struct ZlibFilter
{
	SbFilter	base;
	z_stream	zs;
	bool		inflating;		/* decompress rather than compress */
	int			init_rc;		/* result of deflateInit2/inflateInit2 */
	bool		stream_end;		/* Z_STREAM_END seen */
	bool		finished;
	const char *label;			/* file name for messages, or NULL */
	size_t		out_len;		/* bytes of out in use */
	uint8_t		out[SB_CODEC_BUFSIZE];
} ZlibFilter;

static SbStatus
zlib_flush_out(ZlibFilter *z, SbError *err)
{
	SbStatus	rc;

	rc = filter_push(&z->base, z->out, z->out_len, err);
	z->out_len = 0;
	return rc;
}

/* point zlib's output at the free part of our buffer, flushing if full */
static SbStatus
zlib_prepare_out(ZlibFilter *z, SbError *err)
{
	if (z->out_len == SB_CODEC_BUFSIZE)
	{
		SbStatus	rc = zlib_flush_out(z, err);

		if (rc != SB_OK)
			return rc;
	}
	z->zs.next_out = z->out + z->out_len;
	z->zs.avail_out = (uInt) (SB_CODEC_BUFSIZE - z->out_len);
	return SB_OK;
}

static void
zlib_account_out(ZlibFilter *z)
{
	z->out_len = SB_CODEC_BUFSIZE - z->zs.avail_out;
}

static SbStatus
zlib_init_error(ZlibFilter *z, SbError *err)
{
	return sb_error_set(err, SB_ERR_INTERNAL,
						"could not initialize zlib %s stream: error code %d",
						z->inflating ? "decompression" : "compression",
						z->init_rc);
}

static SbStatus
zlib_corrupt(ZlibFilter *z, const char *detail, SbError *err)
{
	if (z->label != NULL)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"could not decompress file \"%s\": %s",
							z->label, detail);
	return sb_error_set(err, SB_ERR_CORRUPT,
						"could not decompress data: %s", detail);
}

static SbStatus
deflate_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	ZlibFilter *z = (ZlibFilter *) f;

	if (z->init_rc != Z_OK)
		return zlib_init_error(z, err);
	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not compress data: write after finish");

	while (len > 0)
	{
		size_t		chunk = len < SB_ZLIB_MAX_CHUNK ? len : SB_ZLIB_MAX_CHUNK;

		z->zs.next_in = (Bytef *) buf;
		z->zs.avail_in = (uInt) chunk;
		while (z->zs.avail_in > 0)
		{
			SbStatus	rc;
			int			zrc;

			rc = zlib_prepare_out(z, err);
			if (rc != SB_OK)
				return rc;
			zrc = deflate(&z->zs, Z_NO_FLUSH);
			zlib_account_out(z);
			if (zrc != Z_OK && zrc != Z_BUF_ERROR)
				return sb_error_set(err, SB_ERR_INTERNAL,
									"could not compress data: %s",
									z->zs.msg ? z->zs.msg : "zlib error");
		}
		buf += chunk;
		len -= chunk;
	}
	return SB_OK;
}

static SbStatus
deflate_finish(SbFilter *f, SbError *err)
{
	ZlibFilter *z = (ZlibFilter *) f;
	SbStatus	rc;

	if (z->init_rc != Z_OK)
		return zlib_init_error(z, err);
	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not compress data: finished twice");
	z->finished = true;

	z->zs.next_in = NULL;
	z->zs.avail_in = 0;
	for (;;)
	{
		int			zrc;

		rc = zlib_prepare_out(z, err);
		if (rc != SB_OK)
			return rc;
		zrc = deflate(&z->zs, Z_FINISH);
		zlib_account_out(z);
		if (zrc == Z_STREAM_END)
			break;
		if (zrc != Z_OK && zrc != Z_BUF_ERROR)
			return sb_error_set(err, SB_ERR_INTERNAL,
								"could not compress data: %s",
								z->zs.msg ? z->zs.msg : "zlib error");
	}
	rc = zlib_flush_out(z, err);
	if (rc != SB_OK)
		return rc;
	return filter_finish_next(f, err);
}

static SbStatus
inflate_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	ZlibFilter *z = (ZlibFilter *) f;

	if (z->init_rc != Z_OK)
		return zlib_init_error(z, err);
	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not decompress data: write after finish");

	while (len > 0)
	{
		size_t		chunk = len < SB_ZLIB_MAX_CHUNK ? len : SB_ZLIB_MAX_CHUNK;

		if (z->stream_end)
			return zlib_corrupt(z, "trailing data after end of compressed stream",
								err);

		z->zs.next_in = (Bytef *) buf;
		z->zs.avail_in = (uInt) chunk;

		/*
		 * Run until all input is consumed and zlib has room left, so that no
		 * output stays pending inside zlib when we return.
		 */
		while (z->zs.avail_in > 0 || z->out_len == SB_CODEC_BUFSIZE)
		{
			SbStatus	rc;
			int			zrc;

			rc = zlib_prepare_out(z, err);
			if (rc != SB_OK)
				return rc;
			zrc = inflate(&z->zs, Z_NO_FLUSH);
			zlib_account_out(z);
			if (zrc == Z_STREAM_END)
			{
				z->stream_end = true;
				if (z->zs.avail_in > 0)
					return zlib_corrupt(z, "trailing data after end of compressed stream",
										err);
				break;
			}
			if (zrc == Z_OK)
				continue;
			if (zrc == Z_BUF_ERROR && z->zs.avail_in == 0)
				break;			/* needs more input */
			if (zrc == Z_DATA_ERROR || zrc == Z_NEED_DICT ||
				zrc == Z_BUF_ERROR)
				return zlib_corrupt(z, z->zs.msg ? z->zs.msg : "invalid data",
									err);
			if (zrc == Z_MEM_ERROR)
				return sb_error_set(err, SB_ERR_INTERNAL,
									"could not decompress data: out of memory");
			return sb_error_set(err, SB_ERR_INTERNAL,
								"could not decompress data: zlib error code %d",
								zrc);
		}
		buf += chunk;
		len -= chunk;
	}
	return SB_OK;
}

static SbStatus
inflate_finish(SbFilter *f, SbError *err)
{
	ZlibFilter *z = (ZlibFilter *) f;
	SbStatus	rc;

	if (z->init_rc != Z_OK)
		return zlib_init_error(z, err);
	if (z->finished)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"could not decompress data: finished twice");
	z->finished = true;

	/* inflate_write leaves no pending output, so the end must have been seen */
	if (!z->stream_end)
		return zlib_corrupt(z, "unexpected end of compressed data", err);

	rc = zlib_flush_out(z, err);
	if (rc != SB_OK)
		return rc;
	return filter_finish_next(f, err);
}

static void
zlib_free(SbFilter *f)
{
	ZlibFilter *z = (ZlibFilter *) f;

	if (z == NULL)
		return;
	if (z->init_rc == Z_OK)
	{
		if (z->inflating)
			inflateEnd(&z->zs);
		else
			deflateEnd(&z->zs);
	}
	free(z);
}

SbFilter *
sb_filter_compress_new(SbCompressType type, int level, SbFilter *next)
{
	ZlibFilter *z;

	if (type == SB_COMPRESS_NONE)
		return sb_filter_count_new(next);
	if (type != SB_COMPRESS_ZLIB)
		return badtype_new(type, next);

	/* clamp: negative means zlib's default, above 9 means 9 */
	if (level < 0)
		level = Z_DEFAULT_COMPRESSION;
	else if (level > 9)
		level = 9;

	z = malloc(sizeof(ZlibFilter));
	if (z == NULL)
		return NULL;
	memset(z, 0, offsetof(ZlibFilter, out));
	z->inflating = false;
	z->init_rc = deflateInit2(&z->zs, level, Z_DEFLATED, SB_ZLIB_WINDOW_BITS,
							  SB_ZLIB_MEM_LEVEL, Z_DEFAULT_STRATEGY);
	if (z->init_rc == Z_MEM_ERROR)
	{
		free(z);
		return NULL;
	}
	z->base.write = deflate_write;
	z->base.finish = deflate_finish;
	z->base.free = zlib_free;
	z->base.next = next;
	return &z->base;
}

SbFilter *
sb_filter_decompress_new(SbCompressType type, SbFilter *next)
{
	ZlibFilter *z;

	if (type == SB_COMPRESS_NONE)
		return sb_filter_count_new(next);
	if (type != SB_COMPRESS_ZLIB)
		return badtype_new(type, next);

	z = malloc(sizeof(ZlibFilter));
	if (z == NULL)
		return NULL;
	memset(z, 0, offsetof(ZlibFilter, out));
	z->inflating = true;
	z->init_rc = inflateInit2(&z->zs, SB_ZLIB_WINDOW_BITS);
	if (z->init_rc == Z_MEM_ERROR)
	{
		free(z);
		return NULL;
	}
	z->base.write = inflate_write;
	z->base.finish = inflate_finish;
	z->base.free = zlib_free;
	z->base.next = next;
	return &z->base;
}

/* Name the file a decompress filter reads, for its error messages. */
static void
decompress_set_label(SbFilter *f, const char *label)
{
	if (f->write == inflate_write)
		((ZlibFilter *) f)->label = label;
}

/* ----------------------------------------------------------------
 *		Sinks
 * ----------------------------------------------------------------
 */

typedef struct StorageSink
{
	SbFilter	base;
	SbStorage  *st;
	SbWriter   *w;
} StorageSink;

static SbStatus
storage_sink_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	StorageSink *s = (StorageSink *) f;

	return sb_storage_write(s->st, s->w, buf, len, err);
}

/* The caller commits or aborts the writer; nothing to do here. */
static SbStatus
sink_finish_noop(SbFilter *f, SbError *err)
{
	(void) f;
	(void) err;
	return SB_OK;
}

static void
sink_free_plain(SbFilter *f)
{
	free(f);
}

SbFilter *
sb_filter_storage_sink_new(SbStorage *st, SbWriter *w)
{
	StorageSink *s;

	s = calloc(1, sizeof(StorageSink));
	if (s == NULL)
		return NULL;
	s->st = st;
	s->w = w;
	s->base.write = storage_sink_write;
	s->base.finish = sink_finish_noop;
	s->base.free = sink_free_plain;
	s->base.next = NULL;
	return &s->base;
}

typedef struct FdSink
{
	SbFilter	base;
	int			fd;
} FdSink;

static SbStatus
fd_sink_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	FdSink	   *s = (FdSink *) f;

	while (len > 0)
	{
		size_t		chunk = len < (size_t) SSIZE_MAX ? len : (size_t) SSIZE_MAX;
		ssize_t		n;

		errno = 0;
		n = write(s->fd, buf, chunk);
		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return sb_error_errno(err, errno,
								  "could not write to file descriptor %d",
								  s->fd);
		}
		if (n == 0)
		{
			/* a write that makes no progress and sets no errno: disk full */
			return sb_error_errno(err, errno ? errno : ENOSPC,
								  "could not write to file descriptor %d",
								  s->fd);
		}
		buf += n;
		len -= (size_t) n;
	}
	return SB_OK;
}

SbFilter *
sb_filter_fd_sink_new(int fd)
{
	FdSink	   *s;

	s = calloc(1, sizeof(FdSink));
	if (s == NULL)
		return NULL;
	s->fd = fd;
	s->base.write = fd_sink_write;
	s->base.finish = sink_finish_noop;
	s->base.free = sink_free_plain;
	s->base.next = NULL;
	return &s->base;
}

typedef struct BufferSink
{
	SbFilter	base;
	size_t		max_len;
	char	   *data;			/* NUL-terminated, not counted in len */
	size_t		len;
	size_t		cap;			/* allocated bytes, including the NUL */
} BufferSink;

static SbStatus
buffer_sink_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	BufferSink *s = (BufferSink *) f;

	if (len > s->max_len - s->len)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"file is larger than %zu bytes", s->max_len);
	if (s->len + len == SIZE_MAX)	/* no room for the NUL (max_len SIZE_MAX) */
		return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");

	if (s->len + len + 1 > s->cap)
	{
		size_t		want = s->len + len + 1;
		size_t		newcap = s->cap ? s->cap : 8192;
		char	   *p;

		while (newcap < want)
		{
			if (newcap > SIZE_MAX / 2)
			{
				newcap = want;
				break;
			}
			newcap *= 2;
		}
		/* never allocate beyond what max_len allows */
		if (s->max_len < SIZE_MAX && newcap > s->max_len + 1)
			newcap = s->max_len + 1;
		if (newcap < want)
			newcap = want;
		p = realloc(s->data, newcap);
		if (p == NULL)
			return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
		s->data = p;
		s->cap = newcap;
	}
	memcpy(s->data + s->len, buf, len);
	s->len += len;
	s->data[s->len] = '\0';
	return SB_OK;
}

static void
buffer_sink_free(SbFilter *f)
{
	BufferSink *s = (BufferSink *) f;

	if (s == NULL)
		return;
	free(s->data);
	free(s);
}

SbFilter *
sb_filter_buffer_sink_new(size_t max_len)
{
	BufferSink *s;

	s = calloc(1, sizeof(BufferSink));
	if (s == NULL)
		return NULL;
	s->max_len = max_len;
	s->base.write = buffer_sink_write;
	s->base.finish = sink_finish_noop;
	s->base.free = buffer_sink_free;
	s->base.next = NULL;
	return &s->base;
}

const char *
sb_filter_buffer_data(SbFilter *f, size_t *len)
{
	BufferSink *s = (BufferSink *) f;

	if (f == NULL || f->write != buffer_sink_write)
	{
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = s->len;
	return s->data != NULL ? s->data : "";
}

/* ----------------------------------------------------------------
 *		Whole-file store
 * ----------------------------------------------------------------
 */

typedef struct StorePipe
{
	SbWriter   *w;
	SbFilter   *head;			/* digest filter */
	SbFilter   *stored;			/* count filter in front of the sink */
} StorePipe;

static SbStatus
check_codec_config(const SbRepoConfig *cfg, SbError *err)
{
	if (!compress_type_known(cfg->compress_type))
		return sb_error_set(err, SB_ERR_CONFIG,
							"unsupported compression type %d",
							(int) cfg->compress_type);
	if (cfg->compress_type == SB_COMPRESS_ZLIB &&
		(cfg->compress_level < 0 || cfg->compress_level > 9))
	{
		sb_error_set(err, SB_ERR_CONFIG, "invalid compression level %d",
					 cfg->compress_level);
		sb_error_hint(err, "Valid levels for zlib are 0 to 9.");
		return SB_ERR_CONFIG;
	}
	return SB_OK;
}

/* Discard everything; safe on a partly built pipe. */
static void
store_abort(SbStorage *st, StorePipe *p)
{
	if (p->w != NULL)
		sb_storage_write_abort(st, p->w);
	p->w = NULL;
	sb_filter_free_chain(p->head);
	p->head = NULL;
	p->stored = NULL;
}

/* Open the writer and build digest -> compress -> count -> storage sink. */
static SbStatus
store_begin(SbStorage *st, const SbRepoConfig *cfg, const char *path,
			int flags, StorePipe *p, SbError *err)
{
	SbFilter   *sink;
	SbFilter   *compress;
	SbStatus	rc;

	memset(p, 0, sizeof(StorePipe));

	rc = check_codec_config(cfg, err);
	if (rc != SB_OK)
		return rc;

	rc = sb_storage_write_open(st, path, flags, &p->w, err);
	if (rc != SB_OK)
	{
		p->w = NULL;
		return rc;
	}

	/* build from the tail; p->head always holds what has to be freed */
	sink = sb_filter_storage_sink_new(st, p->w);
	if (sink == NULL)
		goto oom;
	p->head = sink;
	p->stored = sb_filter_count_new(sink);
	if (p->stored == NULL)
		goto oom;
	p->head = p->stored;
	compress = sb_filter_compress_new(cfg->compress_type, cfg->compress_level,
									  p->stored);
	if (compress == NULL)
		goto oom;
	p->head = compress;
	compress = sb_filter_digest_new(compress);
	if (compress == NULL)
		goto oom;
	p->head = compress;
	return SB_OK;

oom:
	store_abort(st, p);
	return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
}

/* Finish the chain and commit; on failure everything is discarded. */
static SbStatus
store_end(SbStorage *st, StorePipe *p, SbStoreResult *res, SbError *err)
{
	SbStatus	rc;
	SbWriter   *w;

	rc = sb_filter_finish(p->head, err);
	if (rc != SB_OK)
	{
		store_abort(st, p);
		return rc;
	}

	if (res != NULL)
	{
		res->plain_size = sb_filter_digest_bytes(p->head);
		res->stored_size = sb_filter_count_bytes(p->stored);
		sb_filter_digest_hex(p->head, res->sha256);
	}

	/* commit frees the writer whatever happens */
	w = p->w;
	p->w = NULL;
	sb_filter_free_chain(p->head);
	p->head = NULL;
	p->stored = NULL;
	return sb_storage_write_commit(st, w, err);
}

SbStatus
sb_codec_store_fd(SbStorage *st, const SbRepoConfig *cfg, int src_fd,
				  const char *path, int flags, SbStoreResult *res,
				  SbError *err)
{
	StorePipe	p;
	uint8_t    *buf;
	SbStatus	rc;
	bool		eof = false;

	buf = malloc(SB_CODEC_BUFSIZE);
	if (buf == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL, "out of memory");

	rc = store_begin(st, cfg, path, flags, &p, err);
	if (rc != SB_OK)
	{
		free(buf);
		return rc;
	}

	while (!eof)
	{
		size_t		have = 0;

		/* fill the buffer, so that short reads from pipes are merged */
		while (have < SB_CODEC_BUFSIZE)
		{
			ssize_t		n = read(src_fd, buf + have, SB_CODEC_BUFSIZE - have);

			if (n < 0)
			{
				if (errno == EINTR)
					continue;
				rc = sb_error_errno(err, errno,
									"could not read data to store as \"%s\"",
									path);
				goto fail;
			}
			if (n == 0)
			{
				eof = true;
				break;
			}
			have += (size_t) n;
		}

		rc = sb_filter_write(p.head, buf, have, err);
		if (rc != SB_OK)
			goto fail;
	}
	free(buf);
	return store_end(st, &p, res, err);

fail:
	store_abort(st, &p);
	free(buf);
	return rc;
}

SbStatus
sb_codec_store_buffer(SbStorage *st, const SbRepoConfig *cfg,
					  const void *buf, size_t len, const char *path, int flags,
					  SbStoreResult *res, SbError *err)
{
	StorePipe	p;
	const uint8_t *data = buf;
	SbStatus	rc;

	rc = store_begin(st, cfg, path, flags, &p, err);
	if (rc != SB_OK)
		return rc;

	/* feed in chunks so every stage sees bounded writes */
	while (len > 0)
	{
		size_t		chunk = len < SB_CODEC_BUFSIZE ? len : SB_CODEC_BUFSIZE;

		rc = sb_filter_write(p.head, data, chunk, err);
		if (rc != SB_OK)
		{
			store_abort(st, &p);
			return rc;
		}
		data += chunk;
		len -= chunk;
	}
	return store_end(st, &p, res, err);
}

/* ----------------------------------------------------------------
 *		Whole-file fetch
 * ----------------------------------------------------------------
 */

SbStatus
sb_codec_fetch(SbStorage *st, const char *path, SbCompressType compress_type,
			   SbFilter *sink, const char *expected_sha256,
			   uint64_t expected_size, SbStoreResult *res, SbError *err)
{
	SbReader   *r = NULL;
	SbFilter   *digest = NULL;
	SbFilter   *decomp = NULL;
	uint8_t    *buf = NULL;
	SbStatus	rc;
	char		hex[SB_SHA256_HEX_LEN + 1];
	uint64_t	plain_size;
	uint64_t	stored_size = 0;

	if (sink == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"no sink given to fetch file \"%s\"", path);
	if (!compress_type_known(compress_type))
		return sb_error_set(err, SB_ERR_CONFIG,
							"unsupported compression type %d for file \"%s\"",
							(int) compress_type, path);

	buf = malloc(SB_CODEC_BUFSIZE);
	digest = sb_filter_digest_new(sink);
	if (digest != NULL)
		decomp = sb_filter_decompress_new(compress_type, digest);
	if (buf == NULL || digest == NULL || decomp == NULL)
	{
		rc = sb_error_set(err, SB_ERR_INTERNAL, "out of memory");
		goto done;
	}
	decompress_set_label(decomp, path);

	rc = sb_storage_read_open(st, path, &r, err);
	if (rc != SB_OK)
	{
		r = NULL;
		goto done;
	}

	for (;;)
	{
		size_t		nread = 0;

		rc = sb_storage_read(st, r, buf, SB_CODEC_BUFSIZE, &nread, err);
		if (rc != SB_OK)
			goto done;
		if (nread == 0)
			break;
		stored_size += nread;
		rc = sb_filter_write(decomp, buf, nread, err);
		if (rc != SB_OK)
			goto done;
	}

	rc = sb_filter_finish(decomp, err);
	if (rc != SB_OK)
		goto done;

	sb_filter_digest_hex(digest, hex);
	plain_size = sb_filter_digest_bytes(digest);
	if (res != NULL)
	{
		res->plain_size = plain_size;
		res->stored_size = stored_size;
		memcpy(res->sha256, hex, sizeof(hex));
	}

	if (expected_size != UINT64_MAX && plain_size != expected_size)
	{
		rc = sb_error_set(err, SB_ERR_CORRUPT,
						  "size mismatch in repository file \"%s\": expected %llu bytes, found %llu",
						  path, (unsigned long long) expected_size,
						  (unsigned long long) plain_size);
		goto done;
	}
	if (expected_sha256 != NULL &&
		(strlen(expected_sha256) != SB_SHA256_HEX_LEN ||
		 strncasecmp(expected_sha256, hex, SB_SHA256_HEX_LEN) != 0))
	{
		rc = sb_error_set(err, SB_ERR_CORRUPT,
						  "checksum mismatch in repository file \"%s\": expected %s, found %s",
						  path, expected_sha256, hex);
		goto done;
	}
	rc = SB_OK;

done:
	if (r != NULL)
		sb_storage_read_close(st, r);
	/* free our own filters one by one: the sink belongs to the caller */
	if (decomp != NULL)
		decomp->free(decomp);
	if (digest != NULL)
		digest->free(digest);
	free(buf);
	return rc;
}
