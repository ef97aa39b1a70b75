/*-------------------------------------------------------------------------
 *
 * codec.c
 *		The codec pipeline's generic entry points (write, finish and free a
 *		filter chain) and the whole-file store and fetch helpers built on
 *		the filters of filter_digest.c, filter_compress.c (zlib, lz4, zstd)
 *		and filter_sink.c.
 *
 * Every filter owns at most one buffer of SB_CODEC_BUFSIZE bytes (plus the
 * library state of zlib, liblz4, libzstd or OpenSSL; the writer thread of
 * filter_async.c a few of 1 MiB, and a seekable encoder one with room for a
 * whole compressed frame), so memory use does not depend on the size of
 * the file flowing through; only the buffer sink grows, bounded by the
 * max_len its creator chose.
 *
 * Compressed files are a single gzip member, LZ4 frame or Zstandard frame,
 * so a repository file can be checked by hand with "gzip -dc", "lz4 -dc" or
 * "zstd -dc" (unless the stanza is encrypted: then the compressed stream is
 * inside the encrypted format of filter_cipher.c).
 *
 * Shared core: no postgres.h, no ereport()/palloc().  See codec.h.
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"
#include "codec_internal.h"
#include "cipher.h"
#include "read_direct.h"
#include "stanza.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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

uint8_t *
sb_filter_space(SbFilter *f, size_t *room)
{
	if (f == NULL || f->space == NULL)
		return NULL;
	return f->space(f, room);
}

uint8_t *
sb_filter_space_next(SbFilter *f, size_t *room)
{
	return sb_filter_space(f->next, room);
}

/* Push to next when there is one; a filter without next discards. */
SbStatus
sb_filter_push(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	if (f->next == NULL || len == 0)
		return SB_OK;
	return sb_filter_write(f->next, buf, len, err);
}

SbStatus
sb_filter_finish_next(SbFilter *f, SbError *err)
{
	if (f->next == NULL)
		return SB_OK;
	return sb_filter_finish(f->next, err);
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
	SbFilter   *async;			/* the writer thread's filter, or NULL */
} StorePipe;

static SbStatus
check_codec_config(const SbRepoConfig *cfg, SbError *err)
{
	int			min;
	int			max;

	if (!sb_compress_type_known(cfg->compress_type) ||
		!sb_compress_level_range(cfg->compress_type, &min, &max))
		return sb_error_set(err, SB_ERR_CONFIG,
							"unsupported compression type %d",
							(int) cfg->compress_type);
	if (cfg->compress_type != SB_COMPRESS_NONE &&
		(cfg->compress_level < min || cfg->compress_level > max))
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "compression level %d is outside the valid range for %s",
					 cfg->compress_level,
					 sb_compress_type_name(cfg->compress_type));
		sb_error_hint(err, "Valid levels for %s are %d to %d.",
					  sb_compress_type_name(cfg->compress_type), min, max);
		return SB_ERR_CONFIG;
	}
	return SB_OK;
}

/* Discard everything; safe on a partly built pipe. */
static void
store_abort(SbStorage *st, StorePipe *p)
{
	/* first the chain: it may hold a thread still writing to p->w */
	sb_filter_free_chain(p->head);
	p->head = NULL;
	p->stored = NULL;
	if (p->w != NULL)
		sb_storage_write_abort(st, p->w);
	p->w = NULL;
}

/*
 * Open the writer and build digest -> compress -> [encrypt] -> count ->
 * storage sink.  With a prefix (a file named by its content), encryption
 * binds the chunks to it instead of path (sb_filter_encrypt_addressed_new).
 */
static SbStatus
store_begin(SbStorage *st, const SbRepoConfig *cfg, const char *path,
			const char *prefix, int flags, StorePipe *p, SbError *err)
{
	SbFilter   *sink;
	SbFilter   *compress;
	SbStatus	rc;

	memset(p, 0, sizeof(StorePipe));

	rc = check_codec_config(cfg, err);
	if (rc != SB_OK)
		return rc;
	rc = sb_codec_ready(st, err);
	if (rc != SB_OK)
		return rc;

	rc = sb_storage_write_open(st, path,
							   flags & ~(SB_WRITE_OVERLAP | SB_WRITE_DIGEST_XXH128 |
										 SB_WRITE_SEEKABLE | SB_WRITE_SOURCE_DIRECT),
							   &p->w, err);
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
	if (st->cipher != NULL)
	{
		compress = prefix != NULL ?
			sb_filter_encrypt_addressed_new(st->cipher, prefix, p->head) :
			sb_filter_encrypt_new(st->cipher, path, p->head);
		if (compress == NULL)
			goto oom;
		p->head = compress;
	}
	/*
	 * Seekable only in clear: the cipher's chunks would shift every stored
	 * offset of the table (docs/repository-format.md)
	 */
	if ((flags & SB_WRITE_SEEKABLE) && st->cipher == NULL)
		compress = sb_filter_compress_seekable_new(cfg->compress_type,
												   cfg->compress_level,
												   SB_SEEK_FRAME_SIZE, p->head);
	else
		compress = sb_filter_compress_new(cfg->compress_type,
										  cfg->compress_level, p->head);
	if (compress == NULL)
		goto oom;
	if (flags & SB_WRITE_NO_FRAME_CHECKSUM)
		(void) sb_stream_filter_omit_checksum(compress);
	p->head = compress;
	/* compression and writing on their own thread, digest on the caller's */
	if ((flags & SB_WRITE_OVERLAP) && sb_storage_has(st, SB_CAP_WRITE_ANY_THREAD))
	{
		compress = sb_filter_async_new(p->head);
		if (compress == NULL)
			goto oom;
		p->head = compress;
		p->async = compress;
	}
	compress = sb_codec_digest_new(st, (flags & SB_WRITE_DIGEST_XXH128) ?
								   SB_DIGEST_XXH128 : SB_DIGEST_SHA256,
								   p->head);
	if (compress == NULL)
		goto oom;
	p->head = compress;
	return SB_OK;

oom:
	store_abort(st, p);
	return sb_error_oom(err);
}

/*
 * Finish the chain and commit; on failure everything is discarded.  With a
 * prefix, the file is published as "<prefix><digest><suffix>" (the writer
 * renamed once the digest is known) instead of under the name it was
 * opened with.
 */
static SbStatus
store_end(SbStorage *st, StorePipe *p, const char *prefix, const char *suffix,
		  SbStoreResult *res, SbError *err)
{
	SbStatus	rc;
	SbWriter   *w;
	SbStoreResult local;

	rc = sb_filter_finish(p->head, err);
	if (rc != SB_OK)
	{
		store_abort(st, p);
		return rc;
	}

	if (res == NULL)
		res = &local;
	res->plain_size = sb_filter_digest_bytes(p->head);
	res->stored_size = sb_filter_count_bytes(p->stored);
	sb_filter_digest_hex(p->head, res->digest);

	if (prefix != NULL)
	{
		char		final[SB_PATH_MAX];

		if (snprintf(final, sizeof(final), "%s%s%s", prefix, res->digest,
					 suffix) >= (int) sizeof(final))
			rc = sb_error_set(err, SB_ERR_CONFIG,
							  "repository path \"%s%s%s\" is too long",
							  prefix, res->digest, suffix);
		else
			rc = sb_storage_write_rename(st, p->w, final, err);
		if (rc != SB_OK)
		{
			store_abort(st, p);
			return rc;
		}
	}

	/* commit frees the writer whatever happens */
	w = p->w;
	p->w = NULL;
	sb_filter_free_chain(p->head);
	p->head = NULL;
	p->stored = NULL;
	return sb_storage_write_commit(st, w, err);
}

/* how far ahead of the reader the disk is asked to read (a multiple of SB_CODEC_BUFSIZE) */
#define SB_READ_AHEAD	(8 * 1024 * 1024)

/* What sb_read_direct hands each part of a file to */
typedef struct DirectConsumer
{
	StorePipe  *p;
	int			src_fd;
	SbStoreInspect inspect;
	void	   *inspect_arg;
} DirectConsumer;

static SbStatus
consume_direct(void *arg, uint8_t *buf, size_t len, uint64_t offset,
			   SbError *err)
{
	DirectConsumer *c = arg;
	SbStatus	rc = SB_OK;

	if (c->inspect != NULL)
		rc = c->inspect(c->inspect_arg, c->src_fd, buf, len, offset, err);
	if (rc == SB_OK)
		rc = sb_filter_write(c->p->head, buf, len, err);
	return rc;
}

/*
 * Push src_fd to its end into the pipe; path names the file for messages.
 * inspect (may be NULL) sees each chunk before it is encoded.  direct:
 * read past the page cache where the file system and the pipe allow
 * (SB_WRITE_SOURCE_DIRECT, read_direct.c), else through it.
 */
static SbStatus
store_from_fd(StorePipe *p, int src_fd, const char *path, bool direct,
			  SbStoreInspect inspect, void *inspect_arg, SbError *err)
{
	uint8_t    *buf;
	uint64_t	offset = 0;
	SbStatus	rc = SB_OK;
	bool		eof = false;

	if (direct && p->async != NULL)
	{
		DirectConsumer c = {p, src_fd, inspect, inspect_arg};
		bool		done;

		rc = sb_read_direct(src_fd, path, p->async, consume_direct, &c,
							&offset, &done, err);
		if (rc != SB_OK || done)
			return rc;
		/* the rest through the page cache */
		if (offset > 0 && lseek(src_fd, (off_t) offset, SEEK_SET) < 0)
			return sb_error_errno(err, errno,
								  "could not read data to store as \"%s\"",
								  path);
	}

	buf = malloc(SB_CODEC_BUFSIZE);
	if (buf == NULL)
		return sb_error_oom(err);

	/*
	 * Keep the disk reading ahead of us while this thread hashes: a larger
	 * read-ahead window, and the next SB_READ_AHEAD bytes asked for before
	 * they are needed.  Fails harmlessly on pipes.
	 */
	(void) posix_fadvise(src_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	(void) posix_fadvise(src_fd, (off_t) offset, SB_READ_AHEAD, POSIX_FADV_WILLNEED);

	while (!eof && rc == SB_OK)
	{
		size_t		have = 0;
		size_t		room = 0;
		uint8_t    *to = NULL;

		if (offset > 0 && offset % SB_READ_AHEAD == 0)
			(void) posix_fadvise(src_fd, (off_t) (offset + SB_READ_AHEAD),
								 SB_READ_AHEAD, POSIX_FADV_WILLNEED);

		/* with a writer thread, read straight into its buffer */
		if (p->async != NULL)
			to = sb_filter_async_space(p->async, &room);
		if (to == NULL || room < SB_CODEC_BUFSIZE)
			to = buf;

		/* fill the buffer, so that short reads from pipes are merged */
		while (have < SB_CODEC_BUFSIZE)
		{
			ssize_t		n = read(src_fd, to + have, SB_CODEC_BUFSIZE - have);

			if (n < 0)
			{
				if (errno == EINTR)
					continue;
				rc = sb_error_errno(err, errno,
									"could not read data to store as \"%s\"",
									path);
				break;
			}
			if (n == 0)
			{
				eof = true;
				break;
			}
			have += (size_t) n;
		}

		if (rc == SB_OK && inspect != NULL && have > 0)
			rc = inspect(inspect_arg, src_fd, to, have, offset, err);
		offset += have;
		if (rc == SB_OK)
			rc = sb_filter_write(p->head, to, have, err);
	}
	free(buf);
	return rc;
}

/*
 * Push the ranges of src_fd into the pipe, each in chunks of at most
 * SB_CODEC_BUFSIZE starting at the range's offset; a range that reaches
 * past the file's end fails with SB_ERR_CONFLICT.
 */
/*
 * Push into the pipe the bytes of buf (have bytes read at offset) that lie
 * in the emit ranges (ascending; *next is the first not yet passed).
 */
static SbStatus
emit_part(StorePipe *p, const uint8_t *buf, size_t have, uint64_t offset,
		  const SbRange *emit, int nemit, int *next, SbError *err)
{
	uint64_t	end = offset + have;
	SbStatus	rc = SB_OK;

	while (*next < nemit && rc == SB_OK)
	{
		const SbRange *e = &emit[*next];
		uint64_t	from = e->offset > offset ? e->offset : offset;
		uint64_t	to = e->offset + e->len < end ? e->offset + e->len : end;

		if (e->offset >= end)
			break;
		if (to > from)
			rc = sb_filter_write(p->head, buf + (from - offset),
								 (size_t) (to - from), err);
		if (e->offset + e->len > end)
			break;				/* the rest of it is in the next read */
		(*next)++;
	}
	return rc;
}

static SbStatus
store_from_ranges(StorePipe *p, int src_fd, const char *path,
				  const SbRange *ranges, int nranges,
				  const SbRange *emit, int nemit,
				  SbStoreInspect inspect, void *inspect_arg, SbError *err)
{
	uint8_t    *buf;
	SbStatus	rc = SB_OK;
	int			next = 0;

	buf = malloc(SB_CODEC_BUFSIZE);
	if (buf == NULL)
		return sb_error_oom(err);
	for (int i = 0; i < nranges && rc == SB_OK; i++)
	{
		uint64_t	offset = ranges[i].offset;
		uint64_t	left = ranges[i].len;

		while (left > 0 && rc == SB_OK)
		{
			size_t		want = left < SB_CODEC_BUFSIZE ? (size_t) left : SB_CODEC_BUFSIZE;
			size_t		have = 0;

			while (have < want)
			{
				ssize_t		n = pread(src_fd, buf + have, want - have,
									  (off_t) (offset + have));

				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0)
				{
					rc = sb_error_errno(err, errno,
										"could not read data to store as \"%s\"",
										path);
					break;
				}
				if (n == 0)
				{
					rc = sb_error_set(err, SB_ERR_CONFLICT,
									  "file to store as \"%s\" ended before offset %" PRIu64,
									  path, offset + want);
					break;
				}
				have += (size_t) n;
			}
			if (rc == SB_OK && inspect != NULL)
				rc = inspect(inspect_arg, src_fd, buf, have, offset, err);
			if (rc == SB_OK && emit == NULL)
				rc = sb_filter_write(p->head, buf, have, err);
			else if (rc == SB_OK)
				rc = emit_part(p, buf, have, offset, emit, nemit, &next, err);
			offset += have;
			left -= have;
		}
	}
	free(buf);
	return rc;
}

SbStatus
sb_codec_store_fd_ranges(SbStorage *st, const SbRepoConfig *cfg, int src_fd,
						 const char *path, int flags, const SbRange *ranges,
						 int nranges, const SbRange *emit, int nemit,
						 SbStoreInspect inspect, void *inspect_arg,
						 SbStoreResult *res, SbError *err)
{
	StorePipe	p;
	SbStatus	rc;

	/* it holds only some chunks of the file: no seek table of its offsets */
	rc = store_begin(st, cfg, path, NULL, flags & ~SB_WRITE_SEEKABLE, &p, err);
	if (rc != SB_OK)
		return rc;
	rc = store_from_ranges(&p, src_fd, path, ranges, nranges, emit, nemit,
						   inspect, inspect_arg, err);
	if (rc != SB_OK)
	{
		store_abort(st, &p);
		return rc;
	}
	return store_end(st, &p, NULL, NULL, res, err);
}

SbStatus
sb_codec_store_fd(SbStorage *st, const SbRepoConfig *cfg, int src_fd,
				  const char *path, int flags, SbStoreResult *res,
				  SbError *err)
{
	return sb_codec_store_fd_inspect(st, cfg, src_fd, path, flags, NULL, NULL,
									 res, err);
}

SbStatus
sb_codec_store_fd_inspect(SbStorage *st, const SbRepoConfig *cfg, int src_fd,
						  const char *path, int flags, SbStoreInspect inspect,
						  void *inspect_arg, SbStoreResult *res, SbError *err)
{
	StorePipe	p;
	SbStatus	rc;

	rc = store_begin(st, cfg, path, NULL, flags, &p, err);
	if (rc != SB_OK)
		return rc;
	rc = store_from_fd(&p, src_fd, path, (flags & SB_WRITE_SOURCE_DIRECT) != 0,
					   inspect, inspect_arg, err);
	if (rc != SB_OK)
	{
		store_abort(st, &p);
		return rc;
	}
	return store_end(st, &p, NULL, NULL, res, err);
}

/*
 * The most a file of plain_size bytes can take once compressed: what no
 * compressor grows incompressible data beyond (zstd, lz4 and zlib add well
 * under 1/128 and a few frame headers).
 */
static uint64_t
stored_size_bound(uint64_t plain_size)
{
	if (plain_size >= SB_SIZE_UNKNOWN / 2)
		return SB_SIZE_UNKNOWN;
	return plain_size + plain_size / 128 + 64 * 1024;
}

/* Not encrypted: neither configured nor a key attached. */
static bool
unencrypted(const SbStorage *st)
{
	return st->cfg.cipher_type == SB_CIPHER_NONE && st->cipher == NULL;
}

/* Was stanza, of repository format 2 or later, loaded through st? */
static bool
stanza_format_2(const SbStorage *st, const char *stanza)
{
	return st->stanza_format >= 2 && strcmp(st->stanza_loaded, stanza) == 0;
}

bool
sb_codec_can_store_addressed(SbStorage *st, uint64_t plain_size)
{
	/*
	 * Encrypted: only in a stanza of repository format 2 or later, whose
	 * readers know chunks bound to a name prefix (and only once its key is
	 * loaded).
	 */
	return sb_storage_can_rename_writer(st, stored_size_bound(plain_size)) &&
		(unencrypted(st) ||
		 (st->cipher != NULL && stanza_format_2(st, st->cfg.stanza)));
}

SbDigestKind
sb_codec_file_digest(const SbStorage *st, const char *stanza)
{
	return unencrypted(st) && stanza_format_2(st, stanza) ?
		SB_DIGEST_XXH128 : SB_DIGEST_SHA256;
}

int
sb_codec_digest_flag(const SbStorage *st, const char *stanza)
{
	return sb_codec_file_digest(st, stanza) == SB_DIGEST_XXH128 ?
		SB_WRITE_DIGEST_XXH128 : 0;
}

/* Does prefix end with the one '-' of its last path component? */
static bool
prefix_addressable(const char *prefix)
{
	const char *base = strrchr(prefix, '/');
	size_t		len = strlen(prefix);

	base = base != NULL ? base + 1 : prefix;
	return len > 0 && prefix[len - 1] == '-' &&
		strchr(base, '-') == prefix + len - 1;
}

SbStatus
sb_codec_store_fd_addressed(SbStorage *st, const SbRepoConfig *cfg,
							int src_fd, const char *open_path,
							const char *prefix, const char *suffix, int flags,
							SbStoreResult *res, SbError *err)
{
	StorePipe	p;
	SbStatus	rc;
	struct stat sbuf;

	if (fstat(src_fd, &sbuf) != 0)
		return sb_error_errno(err, errno, "could not stat \"%s\"", open_path);
	if (!sb_codec_can_store_addressed(st, S_ISREG(sbuf.st_mode) ?
									  (uint64_t) sbuf.st_size : SB_SIZE_UNKNOWN) ||
		!prefix_addressable(prefix))
		return sb_error_set(err, SB_ERR_INTERNAL,
							"cannot store \"%s\" under a name given by its content",
							open_path);
	rc = store_begin(st, cfg, open_path, prefix, flags, &p, err);
	if (rc != SB_OK)
		return rc;
	rc = store_from_fd(&p, src_fd, open_path,
					   (flags & SB_WRITE_SOURCE_DIRECT) != 0, NULL, NULL, err);
	if (rc != SB_OK)
	{
		store_abort(st, &p);
		return rc;
	}
	return store_end(st, &p, prefix, suffix, res, err);
}

SbStatus
sb_codec_store_produced(SbStorage *st, const SbRepoConfig *cfg,
						const char *path, int flags, SbStoreProduce produce,
						void *arg, SbStoreResult *res, SbError *err)
{
	StorePipe	p;
	SbStatus	rc;

	rc = store_begin(st, cfg, path, NULL, flags, &p, err);
	if (rc != SB_OK)
		return rc;
	rc = produce(arg, p.head, err);
	if (rc != SB_OK)
	{
		store_abort(st, &p);
		return rc;
	}
	return store_end(st, &p, NULL, NULL, res, err);
}

typedef struct BufferSource
{
	const uint8_t *data;
	size_t		len;
} BufferSource;

/* feed in chunks so every stage sees bounded writes */
static SbStatus
produce_buffer(void *arg, SbFilter *into, SbError *err)
{
	BufferSource *b = arg;

	for (size_t off = 0; off < b->len;)
	{
		size_t		chunk = b->len - off < SB_CODEC_BUFSIZE ?
			b->len - off : SB_CODEC_BUFSIZE;
		SbStatus	rc = sb_filter_write(into, b->data + off, chunk, err);

		if (rc != SB_OK)
			return rc;
		off += chunk;
	}
	return SB_OK;
}

SbStatus
sb_codec_store_buffer(SbStorage *st, const SbRepoConfig *cfg,
					  const void *buf, size_t len, const char *path, int flags,
					  SbStoreResult *res, SbError *err)
{
	BufferSource b = {buf, len};

	return sb_codec_store_produced(st, cfg, path, flags, produce_buffer, &b,
								   res, err);
}

/* The arguments every fetch checks first: a sink and a known type. */
SbStatus
sb_codec_fetch_check(const char *path, SbCompressType compress_type,
					 SbFilter *sink, SbError *err)
{
	if (sink == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"no sink given to fetch file \"%s\"", path);
	if (!sb_compress_type_known(compress_type))
		return sb_error_set(err, SB_ERR_CONFIG,
							"unsupported compression type %d for file \"%s\"",
							(int) compress_type, path);
	return SB_OK;
}

/* ----------------------------------------------------------------
 *		Whole-file fetch
 * ----------------------------------------------------------------
 */

SbStatus
sb_codec_fetch(SbStorage *st, const char *path, SbCompressType compress_type,
			   SbFilter *sink, const char *expected_digest,
			   uint64_t expected_size, SbStoreResult *res, SbError *err)
{
	SbReader   *r = NULL;
	SbFilter   *digest = NULL;
	SbFilter   *decomp = NULL;
	SbFilter   *decrypt = NULL;
	SbFilter   *head;
	uint8_t    *buf = NULL;
	SbStatus	rc;
	char		hex[SB_SHA256_HEX_LEN + 1];
	uint64_t	plain_size;
	uint64_t	stored_size = 0;
	bool		looks_encrypted = false;
	bool		hash;

	rc = sb_codec_fetch_check(path, compress_type, sink, err);
	if (rc != SB_OK)
		return rc;
	rc = sb_codec_ready(st, err);
	if (rc != SB_OK)
		return rc;

	buf = malloc(SB_CODEC_BUFSIZE);
	/* nothing asks for the digest: only count (the caller checks otherwise) */
	hash = (expected_digest != NULL || res != NULL);
	digest = hash ? sb_codec_digest_new(st, sb_digest_kind_of(expected_digest),
										sink) :
		sb_filter_count_new(sink);
	if (digest != NULL)
		decomp = sb_filter_decompress_new(compress_type, digest);
	head = decomp;
	if (decomp != NULL && st->cipher != NULL)
		head = decrypt = sb_filter_decrypt_new(st->cipher, path, decomp);
	if (buf == NULL || digest == NULL || decomp == NULL || head == NULL)
	{
		rc = sb_error_oom(err);
		goto done;
	}
	sb_decompress_set_label(decomp, path);

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
		if (stored_size == 0 && st->cipher == NULL)
			looks_encrypted = sb_cipher_header_present(buf, nread);
		stored_size += nread;
		rc = sb_filter_write(head, buf, nread, err);
		if (rc != SB_OK)
			goto done;
	}

	rc = sb_filter_finish(head, err);
	if (rc != SB_OK)
		goto done;

	if (hash)
	{
		sb_filter_digest_hex(digest, hex);
		plain_size = sb_filter_digest_bytes(digest);
	}
	else
		plain_size = sb_filter_count_bytes(digest);
	if (res != NULL)
	{
		res->plain_size = plain_size;
		res->stored_size = stored_size;
		memcpy(res->digest, hex, sizeof(hex));
	}

	if (expected_size != UINT64_MAX && plain_size != expected_size)
	{
		rc = sb_error_set(err, SB_ERR_CORRUPT,
						  "size mismatch in repository file \"%s\": expected %llu bytes, found %llu",
						  path, (unsigned long long) expected_size,
						  (unsigned long long) plain_size);
		goto done;
	}
	/* of the kind the expected digest's length names (sb_digest_kind_of) */
	if (expected_digest != NULL && strcasecmp(expected_digest, hex) != 0)
	{
		rc = sb_error_set(err, SB_ERR_CORRUPT,
						  "checksum mismatch in repository file \"%s\": expected %s, found %s",
						  path, expected_digest, hex);
		goto done;
	}
	rc = SB_OK;

done:
	if (rc != SB_OK && rc != SB_ERR_NOT_FOUND && looks_encrypted)
	{
		/* what went wrong is that we are reading without the key */
		sb_error_set(err, SB_ERR_CONFIG,
					 "repository file \"%s\" is encrypted, but encryption is not configured",
					 path);
		sb_error_hint(err, "Set cipher_type = aes-256-gcm and cipher_pass_file to the file holding the stanza's passphrase.");
		rc = SB_ERR_CONFIG;
	}
	if (r != NULL)
		sb_storage_read_close(st, r);
	/* free our own filters one by one: the sink belongs to the caller */
	if (decrypt != NULL)
		decrypt->free(decrypt);
	if (decomp != NULL)
		decomp->free(decomp);
	if (digest != NULL)
		digest->free(digest);
	free(buf);
	return rc;
}

/* ----------------------------------------------------------------
 *		Encryption state of a storage
 * ----------------------------------------------------------------
 */

SbStatus
sb_codec_ready(SbStorage *st, SbError *err)
{
	SbStanzaInfo info;

	if (st->cfg.cipher_type == SB_CIPHER_NONE || st->cipher != NULL)
		return SB_OK;
	/* loading the stanza checks its encryption and attaches the key */
	return sb_stanza_load(st, st->cfg.stanza, &info, err);
}

SbFilter *
sb_codec_digest_new(SbStorage *st, SbDigestKind kind, SbFilter *next)
{
	if (st != NULL && st->cipher != NULL)
		return sb_filter_hmac_new(st->cipher->name_key, SB_CIPHER_KEY_LEN, next);
	if (kind == SB_DIGEST_XXH128)
		return sb_filter_xxh128_new(next);
	return sb_filter_digest_new(next);
}

/*
 * Digest and size of a local file, reading it once: of the kind asked
 * (SHA-256 or XXH3-128), or HMAC-SHA256 under the stanza's name key when st
 * is encrypted (the name is visible in the repository: it must not reveal
 * a plain hash).
 */
SbStatus
sb_codec_digest_fd(SbStorage *st, SbDigestKind kind, int fd, const char *path,
				   char *hex, uint64_t *size, SbError *err)
{
	SbFilter   *digest = sb_codec_digest_new(st, kind, NULL);
	char	   *buf = malloc(SB_CODEC_BUFSIZE);
	SbStatus	rc = SB_OK;

	if (digest == NULL || buf == NULL)
		rc = sb_error_oom(err);
	while (rc == SB_OK)
	{
		ssize_t		n = read(fd, buf, SB_CODEC_BUFSIZE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = sb_error_errno(err, errno, "could not read file \"%s\"", path);
		else if (n == 0)
			break;
		else
			rc = sb_filter_write(digest, buf, n, err);
	}
	if (rc == SB_OK)
		rc = sb_filter_finish(digest, err);
	if (rc == SB_OK)
	{
		sb_filter_digest_hex(digest, hex);
		*size = sb_filter_digest_bytes(digest);
	}
	if (digest)
		sb_filter_free_chain(digest);
	free(buf);
	return rc;
}
