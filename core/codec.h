/*-------------------------------------------------------------------------
 *
 * codec.h
 *		The one codec pipeline: checksum, compression (and later encryption)
 *		applied to a stream in a single pass through fixed-size buffers.
 *
 * A pipeline is a chain of push filters.  Data written into the head flows
 * through each filter to a sink; finish() flushes every stage in order.
 *
 *   store:  plain -> [sha256 + count] -> compress -> encrypt -> [count]
 *           -> storage sink
 *   fetch:  storage -> decrypt -> decompress -> [sha256 + count]
 *           -> sink (fd / buffer)
 *
 * Encryption is on when the storage's settings ask for it (cipher_type):
 * the stanza's key is then loaded on first use and kept on the storage
 * (SbStorage.cipher), and the checksums become HMAC-SHA256 keyed with a key
 * derived from the stanza's data key, so that nothing stored in clear
 * (file names) reveals a plain hash of the content.
 *
 * Nothing here calls ereport() or palloc(): errors come back as SbStatus
 * with an SbError filled in.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_CODEC_H
#define SB_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sb_config.h"
#include "sb_error.h"
#include "storage.h"

#define SB_CODEC_BUFSIZE	(256 * 1024)	/* chunk size used by every stage */
#define SB_SHA256_LEN		32
#define SB_SHA256_HEX_LEN	64
#define SB_CIPHER_CHUNK_SIZE	(64 * 1024)	/* plain bytes per encrypted chunk */

typedef struct SbFilter SbFilter;

struct SbFilter
{
	/* Consume len bytes, pushing any output to next. */
	SbStatus	(*write) (SbFilter *f, const uint8_t *buf, size_t len, SbError *err);
	/* Flush remaining output, then finish next.  Called once. */
	SbStatus	(*finish) (SbFilter *f, SbError *err);
	/* Free this filter only (not next). */
	void		(*free) (SbFilter *f);
	SbFilter   *next;

	/*
	 * Optional (NULL: none offered).  Where the next bytes written to f
	 * will be kept, and how many fit there (*room, never 0): a stage in
	 * front may produce them in that space and then write exactly them,
	 * and f copies nothing.  The stages between must hand their bytes on
	 * unchanged (sb_filter_space_next).  NULL when no space is offered now.
	 */
	uint8_t    *(*space) (SbFilter *f, size_t *room);
};

/* Push through a filter / finish it. */
extern SbStatus sb_filter_write(SbFilter *f, const void *buf, size_t len,
								SbError *err);
extern SbStatus sb_filter_finish(SbFilter *f, SbError *err);
/* Free a whole chain starting at head. */
extern void sb_filter_free_chain(SbFilter *head);
/* The space f offers (SbFilter.space), or NULL; f may be NULL. */
extern uint8_t *sb_filter_space(SbFilter *f, size_t *room);
/* SbFilter.space of a stage that hands its bytes on unchanged: next's */
extern uint8_t *sb_filter_space_next(SbFilter *f, size_t *room);

/*
 * Filters.  Constructors return NULL only when out of memory.
 */

/* Pass-through that hashes (SHA-256) and counts what flows through it. */
extern SbFilter *sb_filter_digest_new(SbFilter *next);
/* Valid after finish: hex digest (65 bytes incl. NUL) and byte count. */
extern void sb_filter_digest_hex(SbFilter *f, char *hex);
extern uint64_t sb_filter_digest_bytes(SbFilter *f);

/* Same with HMAC-SHA256 under key (the digest is then a MAC). */
extern SbFilter *sb_filter_hmac_new(const uint8_t *key, size_t keylen,
									SbFilter *next);

/*
 * Content digests.  SHA-256 (HMAC-SHA256 in an encrypted stanza) is the
 * digest of backup files and of every file of a stanza of repository
 * format 1.  The WAL files of an unencrypted stanza of format 2 and later
 * are named by their 128-bit XXH3 digest instead: a WAL push hashes 16 MiB
 * per segment, and XXH3 does that about ten times faster than SHA-256 (it
 * detects damage as surely; it is no defence against a forger, which an
 * unencrypted repository has none against anyway: see the README,
 * "What a writer of the repository can do").  The length of the hex
 * digest tells the kinds apart.
 */
typedef enum SbDigestKind
{
	SB_DIGEST_SHA256,
	SB_DIGEST_XXH128
} SbDigestKind;

#define SB_XXH128_HEX_LEN	32

/*
 * The digest new files of stanza are named and listed by: XXH3-128 in an
 * unencrypted stanza of repository format 2 or later (once loaded through
 * st: sb_stanza_load or sb_stanza_ensure), else SHA-256 (a format-1
 * stanza, which the builds before must still read); an encrypted stanza's
 * digests are HMAC-SHA256 whatever this says (sb_codec_digest_new).  Pass
 * sb_codec_digest_flag() to the store functions to use it.
 */
struct SbStorage;
extern SbDigestKind sb_codec_file_digest(const struct SbStorage *st,
										 const char *stanza);
extern int	sb_codec_digest_flag(const struct SbStorage *st, const char *stanza);

/* The XXH3-128 digest filter (same accessors as sb_filter_digest_new). */
extern SbFilter *sb_filter_xxh128_new(SbFilter *next);
/* The kind of a hex digest: XXH3-128 for 32 digits, SHA-256 otherwise. */
extern SbDigestKind sb_digest_kind_of(const char *hex);

/* Pass-through that only counts bytes. */
extern SbFilter *sb_filter_count_new(SbFilter *next);
extern uint64_t sb_filter_count_bytes(SbFilter *f);

/* Compression and decompression; SB_COMPRESS_NONE gives a pass-through. */
extern SbFilter *sb_filter_compress_new(SbCompressType type, int level,
										SbFilter *next);
/* Decompression fails with SB_ERR_CORRUPT on bad or truncated input. */
extern SbFilter *sb_filter_decompress_new(SbCompressType type, SbFilter *next);

/*
 * Seekable compressed files (SB_WRITE_SEEKABLE): lz4 and zstd end their
 * frame every SB_SEEK_FRAME_SIZE plain bytes (a multiple of SB_BLOCK_SIZE,
 * block_sum.h) and, when the file holds more than one frame, append a seek
 * table (seek_table.h; docs/repository-format.md).  The decompressor of
 * sb_filter_decompress_new reads such a file as one stream.
 */
#define SB_SEEK_FRAME_SIZE	((uint64_t) 1024 * 1024)
/*
 * The compress filter of sb_filter_compress_new, seekable with frames of
 * frame_size plain bytes where type has frames (lz4, zstd); for the others
 * the same as sb_filter_compress_new.
 */
extern SbFilter *sb_filter_compress_seekable_new(SbCompressType type, int level,
												 uint64_t frame_size,
												 SbFilter *next);

/*
 * Authenticated encryption of one repository file (filter_cipher.c); path
 * is the file's repository path, bound into every chunk.  key must outlive
 * the filter.  Decryption fails with SB_ERR_CORRUPT naming path when the
 * data was modified, truncated, reordered, moved or sealed with another key.
 */
struct SbCipherKey;
extern SbFilter *sb_filter_encrypt_new(const struct SbCipherKey *key,
									   const char *path, SbFilter *next);
extern SbFilter *sb_filter_decrypt_new(const struct SbCipherKey *key,
									   const char *path, SbFilter *next);
/*
 * Encryption of a file named by its content, "<prefix><digest><suffix>",
 * bound only to prefix, which ends with the one '-' of its last path
 * component (sb_codec_prefix_addressable): it can be encrypted before the
 * digest is known.  Whoever decrypts it must check the digest of the name
 * against the content.
 */
extern SbFilter *sb_filter_encrypt_addressed_new(const struct SbCipherKey *key,
												 const char *prefix,
												 SbFilter *next);
/* Does buf start like an encrypted repository file? */
extern bool sb_cipher_header_present(const void *buf, size_t len);

/*
 * Pass-through that pushes into next from a thread of its own (buffered,
 * bounded memory), so the stages before and after it overlap; the thread
 * runs nothing but next, with every signal blocked (filter_async.c,
 * sb_thread.c).  The thread starts
 * when its first 1 MiB buffer is full: a shorter stream is written by
 * finish on the caller's thread.  NULL when out of memory.
 */
extern SbFilter *sb_filter_async_new(SbFilter *next);
/*
 * Where the async filter f would copy the next bytes written to it, and
 * how many fit (*room, never 0): a caller may read its data straight into
 * that space and then write exactly those bytes into the chain in front
 * of f, which then copies nothing (filters in front of it that pass the
 * bytes on unchanged, like the digest, keep that so).  NULL when out of
 * memory, or when f is not an async filter.
 */
extern uint8_t *sb_filter_async_space(SbFilter *f, size_t *room);
/*
 * The same for the bytes that will follow the next ahead bytes written to
 * f (the buffer's space from there to its end), to read several parts at
 * once: NULL when that space is still held by the thread (or not there
 * yet), and then later.  Every buffer is aligned to SB_ASYNC_ALIGN and
 * SB_ASYNC_BUFSIZE long, and a stream's first byte starts one.
 */
extern uint8_t *sb_filter_async_space_at(SbFilter *f, size_t ahead,
										 size_t *room);
/*
 * Allocate every buffer of f now, in huge pages where the kernel has them,
 * for direct reads into them (filter_async.c says why).  False when f has
 * allocated a buffer already (or is not an async filter, or out of
 * memory): its buffers are then allocated one by one, as usual.
 */
extern bool sb_filter_async_reserve(SbFilter *f);
#define SB_ASYNC_ALIGN		4096
#define SB_ASYNC_BUFSIZE	(1024 * 1024)

/* Sinks (next is NULL). */
extern SbFilter *sb_filter_storage_sink_new(SbStorage *st, SbWriter *w);
extern SbFilter *sb_filter_fd_sink_new(int fd);
/*
 * Into a new file of about size bytes, from its start: with O_DIRECT when
 * size is at least SB_DIRECT_MIN_SIZE and the file system allows it, else
 * the descriptor sink (filter_direct_sink.c).  The caller flushes (syncfs
 * or fsync) as with the descriptor sink.
 */
#define SB_DIRECT_MIN_SIZE	((uint64_t) 8 * 1024 * 1024)
extern SbFilter *sb_filter_direct_sink_new(int fd, uint64_t size);
/* Does f write with O_DIRECT now? */
extern bool sb_filter_direct_sink_is_direct(const SbFilter *f);
/*
 * Does f keep several direct writes in flight (aio_ring.c)?  Its writes
 * then return before the disk has the data, and a writer thread in front
 * of it (sb_filter_async_new) would only copy the bytes once more.
 */
extern bool sb_filter_direct_sink_overlaps(const SbFilter *f);
/* Collects into a malloc'd buffer; bounded by max_len (SB_ERR_CORRUPT past it). */
extern SbFilter *sb_filter_buffer_sink_new(size_t max_len);
/* Valid after finish: the buffer stays owned by the filter until freed. */
extern const char *sb_filter_buffer_data(SbFilter *f, size_t *len);
/*
 * The same into the caller's buf of cap bytes (SB_ERR_CORRUPT past them;
 * not NUL-terminated); sb_filter_buffer_data gives buf and the length.
 */
extern SbFilter *sb_filter_fixed_sink_new(void *buf, size_t cap);
/*
 * Have the fixed sink f call progress(arg, len) after each write, len being
 * the bytes it holds so far, so that another thread may look at them while
 * the stream goes on.  They are checked (digest, size) only when the stream
 * ends: whoever uses them early must learn the outcome before trusting
 * what it made of them.  progress returning false stops the stream (that
 * write fails).
 */
typedef bool (*SbSinkProgress) (void *arg, size_t len);
extern void sb_filter_fixed_sink_watch(SbFilter *f, SbSinkProgress progress,
									   void *arg);

/*
 * Whole-file helpers used by WAL archiving, backups and restore.
 */
typedef struct SbStoreResult
{
	uint64_t	plain_size;
	uint64_t	stored_size;
	/* hex digest of the plain content, of its kind (SbDigestKind) */
	char		digest[SB_SHA256_HEX_LEN + 1];
} SbStoreResult;

/*
 * Read src_fd to its end, encode it with cfg's codec settings, and write it
 * atomically to path in st (flags as for sb_storage_write_open).  On error
 * the temporary file is discarded and nothing appears under path.
 */
extern SbStatus sb_codec_store_fd(SbStorage *st, const SbRepoConfig *cfg,
								  int src_fd, const char *path, int flags,
								  SbStoreResult *res, SbError *err);
/*
 * Same, in one pass, for a file whose name carries its digest: written
 * under open_path's temporary name and published as
 * "<prefix><digest><suffix>" once the last byte has been digested (the
 * storage's write_rename).  res->digest is that digest, also when the
 * commit fails with SB_ERR_EXISTS.  Only where sb_codec_can_store_addressed
 * says so for a file of plain_size bytes (SB_SIZE_UNKNOWN: any size): the
 * storage can rename a writer after what the file may grow to when stored
 * (S3 can while nothing was sent, up to one part), and the stanza is not
 * encrypted or is of repository format 2 or later (its files named by
 * content bind their chunks to prefix only, which must end with the one
 * '-' of its last path component; sb_filter_encrypt_addressed_new).
 */
extern bool sb_codec_can_store_addressed(SbStorage *st, uint64_t plain_size);
extern SbStatus sb_codec_store_fd_addressed(SbStorage *st,
											const SbRepoConfig *cfg,
											int src_fd, const char *open_path,
											const char *prefix,
											const char *suffix, int flags,
											SbStoreResult *res, SbError *err);

/*
 * A look at each chunk read by sb_codec_store_fd_inspect before it is
 * encoded: buf holds len bytes read from offset of src_fd (every chunk but
 * the last is SB_CODEC_BUFSIZE long).  It may rewrite buf in place (say,
 * with a page read again).  Anything but SB_OK (with err filled) abandons
 * the store.
 */
typedef SbStatus (*SbStoreInspect) (void *arg, int src_fd, uint8_t *buf,
									size_t len, uint64_t offset,
									SbError *err);

/* sb_codec_store_fd with inspect (may be NULL) called on every chunk. */
extern SbStatus sb_codec_store_fd_inspect(SbStorage *st,
										  const SbRepoConfig *cfg,
										  int src_fd, const char *path,
										  int flags, SbStoreInspect inspect,
										  void *inspect_arg,
										  SbStoreResult *res, SbError *err);
/*
 * Same, reading only the given ranges of src_fd (ascending), each from its
 * offset in pieces of at most SB_CODEC_BUFSIZE, which inspect sees with
 * their offsets in src_fd; and storing only the bytes of them that lie in
 * the emit ranges (ascending, inside the read ranges; NULL: all of them),
 * one after the other.  A range past the end of the file fails with
 * SB_ERR_CONFLICT (the file shrank) and nothing is stored.
 */
typedef struct SbRange
{
	uint64_t	offset;
	uint64_t	len;
} SbRange;
extern SbStatus sb_codec_store_fd_ranges(SbStorage *st,
										 const SbRepoConfig *cfg,
										 int src_fd, const char *path,
										 int flags, const SbRange *ranges,
										 int nranges, const SbRange *emit,
										 int nemit, SbStoreInspect inspect,
										 void *inspect_arg,
										 SbStoreResult *res, SbError *err);
/* Same, for a buffer in memory. */
extern SbStatus sb_codec_store_buffer(SbStorage *st, const SbRepoConfig *cfg,
									  const void *buf, size_t len,
									  const char *path, int flags,
									  SbStoreResult *res, SbError *err);
/*
 * Same, for content that produce(arg, into, err) writes into the
 * pipeline's first filter, in as many writes as it likes, returning SB_OK
 * or an error (then nothing is stored).
 */
typedef SbStatus (*SbStoreProduce) (void *arg, SbFilter *into, SbError *err);
extern SbStatus sb_codec_store_produced(SbStorage *st,
										const SbRepoConfig *cfg,
										const char *path, int flags,
										SbStoreProduce produce, void *arg,
										SbStoreResult *res, SbError *err);

/*
 * Read path from st, decode it (compress type as stored), push the plain
 * bytes into sink (finishing it), and verify the SHA-256 (and size, when
 * expected_size is not UINT64_MAX) of the plain content.  Fails with
 * SB_ERR_CORRUPT on a mismatch.  expected_digest may be NULL to skip the
 * check; res (may be NULL) receives the measured values; with neither,
 * the digest is not even computed (the caller verifies the content its own
 * way, or not at all).  The sink has
 * received the data before the checksum could be verified: callers write to
 * a temporary name and publish it only when this returns SB_OK.
 */
extern SbStatus sb_codec_fetch(SbStorage *st, const char *path,
							   SbCompressType compress_type, SbFilter *sink,
							   const char *expected_digest,
							   uint64_t expected_size, SbStoreResult *res,
							   SbError *err);

/*
 * Ranged fetch of a stored file (restore of a few blocks of a large file):
 * push into sink (finishing it) the plain bytes of the whole frames that
 * cover [offset, offset + len) of the plain content, and set *got_offset to
 * where in the content they begin; only those frames' stored bytes are
 * read (the seek table from the file's tail first).  stored_size and
 * plain_size are the manifest's sizes of the file; a range past plain_size
 * is cut at it (len 0: nothing is pushed, and sink is finished).  For
 * compress type none the bytes of the range itself are pushed.
 *
 * SB_ERR_UNSUPPORTED when the file cannot be read so (the caller then
 * fetches the whole file with sb_codec_fetch): not stored seekable (one
 * frame, no seek table: written before seekable files, smaller than a
 * frame, or stored by ranges), zlib, or an encrypted stanza.  A seek table
 * that does not agree with stored_size or plain_size, or frames that do
 * not decode to the sizes it lists, are SB_ERR_CORRUPT.  The plain bytes
 * are not verified here: the caller checks them (the manifest's block
 * sums).
 */
extern SbStatus sb_codec_fetch_range(SbStorage *st, const char *path,
									 SbCompressType compress_type,
									 uint64_t stored_size, uint64_t plain_size,
									 uint64_t offset, uint64_t len,
									 SbFilter *sink, uint64_t *got_offset,
									 SbError *err);

/*
 * The frames of a stored file that sb_codec_fetch_range can read, from its
 * seek table (checked against stored_size and plain_size as that function
 * checks it), into *frames (freed with sb_seek_list_free): so that a caller
 * can cut the file into ranges that begin and end where frames do, each
 * then fetched whole.  SB_ERR_UNSUPPORTED where sb_codec_fetch_range would
 * return it, and for compress type none (no frames).
 */
struct SbSeekList;
extern SbStatus sb_codec_seek_table(SbStorage *st, const char *path,
									SbCompressType compress_type,
									uint64_t stored_size, uint64_t plain_size,
									struct SbSeekList *frames, SbError *err);

/*
 * Make st ready for the codec: when its settings ask for encryption, load
 * the stanza's key (sb_stanza_load) unless it is loaded already.
 */
extern SbStatus sb_codec_ready(SbStorage *st, SbError *err);

/*
 * The digest filter the codec uses for st: HMAC-SHA256 under the stanza's
 * name key when st is encrypted (call sb_codec_ready first), whatever the
 * kind; otherwise the digest of that kind.
 */
extern SbFilter *sb_codec_digest_new(SbStorage *st, SbDigestKind kind,
									 SbFilter *next);

/*
 * Digest (as sb_codec_digest_new) and size of the local file fd, read once
 * from its current position to its end; path names it in messages.
 */
extern SbStatus sb_codec_digest_fd(SbStorage *st, SbDigestKind kind, int fd,
								   const char *path, char *hex, uint64_t *size,
								   SbError *err);

/* Hex SHA-256 of a buffer (65 bytes with NUL). */
extern void sb_sha256_hex(const void *buf, size_t len, char *hex);

#endif							/* SB_CODEC_H */
