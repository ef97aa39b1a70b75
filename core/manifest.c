/*-------------------------------------------------------------------------
 *
 * manifest.c
 *		Backup manifests: building, rendering, parsing, saving and loading
 *		them, and listing the complete backups of a stanza; see manifest.h.
 *
 * The text form is line-based: a magic first line, "key=value" records, and
 * a last line "checksum=<sha256 of every byte before it>".  Parsing reads
 * the text as it arrives (a line at a time, the block sums going to the
 * manifest's store), reports a checksum mismatch before any other fault it
 * found, ignores header keys it does not know (a newer writer may add
 * some), and checks every path through the
 * same rules as sb_manifest_add_*(), so a manifest read from a repository
 * can never name a file outside the directory it is restored into.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "manifest.h"
#include "manifest_internal.h"
#include "cipher.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MANIFEST_NAME			"backup.manifest"

/*
 * A line longer than this is not something we wrote: the longest is the
 * blocks record of a file, 16 bytes per 128 kB block (a 64 MB line for a
 * file of 512 GB).
 */
#define MANIFEST_LINE_MAX		((size_t) 64 * 1024 * 1024)

/*
 * Longest relative path accepted in a manifest.  The stored name adds the
 * stanza, "backup", the label, "data" and a suffix (".zst") around it and must
 * still fit in SB_PATH_MAX.
 */
#define MANIFEST_PATH_MAX		(SB_PATH_MAX - SB_NAME_MAX - SB_LABEL_LEN - 32)

/* ----------------------------------------------------------------
 *		Building
 * ----------------------------------------------------------------
 */

void
sb_manifest_init(SbManifest *m)
{
	memset(m, 0, sizeof(*m));
	m->format_version = MANIFEST_FORMAT_PLAIN;
	strcpy(m->type, "full");
	m->compress_type = SB_COMPRESS_NONE;
	sb_sum_store_init(&m->sums);
}

void
sb_manifest_free(SbManifest *m)
{
	int			i;

	for (i = 0; i < m->nfiles; i++)
	{
		free(m->files[i].path);
		sb_manifest_file_free_layers(&m->files[i]);
	}
	for (i = 0; i < m->ndirs; i++)
		free(m->dirs[i].path);
	for (i = 0; i < m->ntablespaces; i++)
		free(m->tablespaces[i].path);
	free(m->files);
	free(m->dirs);
	free(m->tablespaces);
	sb_sum_store_free(&m->sums);
	sb_manifest_init(m);
}

/*
 * A path inside the data directory: relative, made of non-empty components
 * other than "." and "..", without tab or newline (the field and record
 * separators), and short enough to be stored.
 */
static bool
relpath_valid(const char *path)
{
	return sb_path_valid(path) && strlen(path) < MANIFEST_PATH_MAX &&
		strpbrk(path, "\t\n") == NULL;
}

/* Grow an array of elements of size elsize so that it holds one more. */
static bool
grow(void **array, int *cap, int n, size_t elsize)
{
	int			newcap;
	void	   *p;

	if (n < *cap)
		return true;
	if (*cap > (1 << 28))
		return false;
	newcap = *cap > 0 ? *cap * 2 : 64;
	p = realloc(*array, (size_t) newcap * elsize);
	if (p == NULL)
		return false;
	*array = p;
	*cap = newcap;
	return true;
}

SbStatus
sb_manifest_add(SbManifest *m, const SbManifestFile *f, SbError *err)
{
	SbManifestFile *dst;
	char	   *path;
	uint64_t	sums_at = 0;

	if (!relpath_valid(f->path))
		return sb_error_set(err, SB_ERR_INTERNAL,
							"invalid path \"%s\" for a backup manifest", f->path);
	if (f->nblocks > 0 && f->block_sums == NULL)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"no block sums given for \"%s\"", f->path);
	if (!grow((void **) &m->files, &m->files_cap, m->nfiles,
			  sizeof(SbManifestFile)))
		return sb_error_oom(err);
	if (f->nblocks > 0 &&
		sb_sum_store_append(&m->sums, f->block_sums, f->nblocks, &sums_at,
							err) != SB_OK)
		return err->status;
	path = strdup(f->path);
	if (path == NULL)
		return sb_error_oom(err);
	dst = &m->files[m->nfiles];
	*dst = *f;
	if (!sb_manifest_file_copy_layers(dst, f))
	{
		free(path);
		return sb_error_oom(err);
	}
	m->nfiles++;
	dst->path = path;
	dst->block_sums = NULL;
	dst->sums_at = sums_at;
	dst->digest[SB_SHA256_HEX_LEN] = '\0';
	return SB_OK;
}

bool
sb_manifest_add_file(SbManifest *m, const SbManifestFile *f)
{
	SbError		err;

	return sb_manifest_add(m, f, &err) == SB_OK;
}

SbStatus
sb_manifest_file_sums(const SbManifest *m, const SbManifestFile *f,
					  uint64_t *out, SbError *err)
{
	if (m->sums_skipped)
		return sb_error_set(err, SB_ERR_INTERNAL,
							"the block sums of \"%s\" were not read from the manifest",
							f->path);
	return sb_sum_store_read(&m->sums, f->sums_at, f->nblocks, out, err);
}

uint64_t *
sb_manifest_file_sums_dup(const SbManifest *m, const SbManifestFile *f,
						  SbError *err)
{
	uint64_t   *sums;

	if (f->nblocks > SIZE_MAX / sizeof(uint64_t))
	{
		sb_error_oom(err);
		return NULL;
	}
	sums = malloc(f->nblocks > 0 ? f->nblocks * sizeof(uint64_t) : 1);
	if (sums == NULL)
	{
		sb_error_oom(err);
		return NULL;
	}
	if (sb_manifest_file_sums(m, f, sums, err) != SB_OK)
	{
		free(sums);
		return NULL;
	}
	return sums;
}

bool
sb_manifest_add_dir(SbManifest *m, const char *path, unsigned int mode)
{
	char	   *copy;

	if (!relpath_valid(path))
		return false;
	if (!grow((void **) &m->dirs, &m->dirs_cap, m->ndirs,
			  sizeof(SbManifestDir)))
		return false;
	copy = strdup(path);
	if (copy == NULL)
		return false;
	m->dirs[m->ndirs].path = copy;
	m->dirs[m->ndirs].mode = mode;
	m->ndirs++;
	return true;
}

bool
sb_manifest_add_tablespace(SbManifest *m, unsigned int oid, const char *path)
{
	char	   *copy;

	/* PostgreSQL tablespace locations are absolute */
	if (oid == 0 || path == NULL || path[0] != '/' ||
		strlen(path) >= SB_PATH_MAX || strpbrk(path, "\t\n") != NULL)
		return false;
	if (!grow((void **) &m->tablespaces, &m->tablespaces_cap,
			  m->ntablespaces, sizeof(SbManifestTablespace)))
		return false;
	copy = strdup(path);
	if (copy == NULL)
		return false;
	m->tablespaces[m->ntablespaces].oid = oid;
	m->tablespaces[m->ntablespaces].path = copy;
	m->ntablespaces++;
	return true;
}

/* ----------------------------------------------------------------
 *		Repository paths
 * ----------------------------------------------------------------
 */

void
sb_backup_dir(const char *stanza, const char *label, char *out)
{
	snprintf(out, SB_PATH_MAX, "%s/backup/%s", stanza, label);
}

void
sb_backup_manifest_path(const char *stanza, const char *label, char *out)
{
	snprintf(out, SB_PATH_MAX, "%s/backup/%s/%s", stanza, label,
			 MANIFEST_NAME);
}

void
sb_backup_file_path(const char *stanza, const char *label,
					const char *relpath, SbCompressType ct, char *out)
{
	snprintf(out, SB_PATH_MAX, "%s/backup/%s/data/%s%s", stanza, label,
			 relpath, sb_compress_suffix(ct));
}

void
sb_manifest_file_location(const char *stanza, const SbManifest *m,
						  const SbManifestFile *f, char *out,
						  SbCompressType *ct)
{
	if (f->ref_label[0] != '\0')
	{
		sb_backup_file_path(stanza, f->ref_label, f->path, f->ref_compress, out);
		*ct = f->ref_compress;
	}
	else
	{
		sb_backup_file_path(stanza, m->label, f->path, m->compress_type, out);
		*ct = m->compress_type;
	}
}

/* ----------------------------------------------------------------
 *		Parsing
 * ----------------------------------------------------------------
 */

/* Header keys, each required exactly as rendered above. */
enum
{
	H_FORMAT_VERSION,
	H_LABEL,
	H_TYPE,
	H_START_LSN,
	H_STOP_LSN,
	H_START_WAL,
	H_STOP_WAL,
	H_TIMELINE,
	H_START_TIME,
	H_STOP_TIME,
	H_SYSTEM_IDENTIFIER,
	H_PG_VERSION,
	H_COMPRESS_TYPE,
	H_DATABASE_SIZE,
	H_STORED_SIZE,
	H_COUNT
};

static const char *const header_keys[H_COUNT] = {
	"format_version", "label", "type", "start_lsn", "stop_lsn", "start_wal",
	"stop_wal", "timeline", "start_time", "stop_time", "system_identifier",
	"pg_version", "compress_type", "database_size", "stored_size"
};

static bool
parse_u64(const char *s, uint64_t *out)
{
	char	   *end;

	if (!isdigit((unsigned char) s[0]))
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool
parse_i64(const char *s, int64_t *out)
{
	char	   *end;
	long long	v;

	if (!(isdigit((unsigned char) s[0]) ||
		  (s[0] == '-' && isdigit((unsigned char) s[1]))))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = (int64_t) v;
	return true;
}

static bool
parse_mode(const char *s, unsigned int *out)
{
	char	   *end;
	unsigned long v;

	if (s[0] < '0' || s[0] > '7')
		return false;
	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno != 0 || *end != '\0' || v > 07777)
		return false;
	*out = (unsigned int) v;
	return true;
}

/* A file digest: SHA-256 or HMAC-SHA256 (64 hex digits), XXH3-128 (32). */
static bool
sha256_hex_valid(const char *s)
{
	size_t		n = 0;

	while (isxdigit((unsigned char) s[n]))
		n++;
	return s[n] == '\0' && (n == SB_SHA256_HEX_LEN || n == SB_XXH128_HEX_LEN);
}

/* Copy a header value into a fixed field; false when it does not fit. */
static bool
copy_field(char *dst, size_t size, const char *value)
{
	if (strlen(value) >= size)
		return false;
	strcpy(dst, value);
	return true;
}

/*
 * Split line (modified in place) at tabs into exactly n fields.
 */
static bool
split_fields(char *line, char **fields, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		char	   *tab;

		fields[i] = line;
		tab = strchr(line, '\t');
		if (i == n - 1)
			return tab == NULL;
		if (tab == NULL)
			return false;
		*tab = '\0';
		line = tab + 1;
	}
	return true;
}

static SbStatus
bad_line(SbError *err, int lineno, const char *what)
{
	return sb_error_set(err, SB_ERR_CORRUPT,
						"invalid backup manifest: line %d: %s", lineno, what);
}

/* Apply one header key; SB_OK, or an error naming the line. */
static SbStatus
parse_header(SbManifest *m, int key, const char *value, int lineno,
			 SbError *err)
{
	uint64_t	u;
	int64_t		i;
	uint64_t	lsn;

	switch (key)
	{
		case H_FORMAT_VERSION:
			if (!parse_u64(value, &u) || u == 0 || u > 1000000)
				return bad_line(err, lineno, "invalid format_version");
			m->format_version = (int) u;
			return SB_OK;
		case H_LABEL:
			if (value[0] == '\0' || strchr(value, '/') != NULL ||
				strcmp(value, ".") == 0 || strcmp(value, "..") == 0 ||
				!copy_field(m->label, sizeof(m->label), value))
				return bad_line(err, lineno, "invalid label");
			return SB_OK;
		case H_TYPE:
			if (value[0] == '\0' || !copy_field(m->type, sizeof(m->type), value))
				return bad_line(err, lineno, "invalid type");
			return SB_OK;
		case H_START_LSN:
		case H_STOP_LSN:
			if (!sb_lsn_parse(value, &lsn) ||
				!copy_field(key == H_START_LSN ? m->start_lsn : m->stop_lsn,
							SB_LSN_LEN, value))
				return bad_line(err, lineno, "invalid LSN");
			return SB_OK;
		case H_START_WAL:
		case H_STOP_WAL:
			if (!copy_field(key == H_START_WAL ? m->start_wal : m->stop_wal,
							SB_WALNAME_MAX, value))
				return bad_line(err, lineno, "invalid WAL file name");
			return SB_OK;
		case H_TIMELINE:
			if (!parse_u64(value, &u) || u > UINT32_MAX)
				return bad_line(err, lineno, "invalid timeline");
			m->timeline = (unsigned int) u;
			return SB_OK;
		case H_START_TIME:
		case H_STOP_TIME:
			if (!parse_i64(value, &i))
				return bad_line(err, lineno, "invalid time");
			if (key == H_START_TIME)
				m->start_time = i;
			else
				m->stop_time = i;
			return SB_OK;
		case H_SYSTEM_IDENTIFIER:
			if (!parse_u64(value, &m->system_identifier))
				return bad_line(err, lineno, "invalid system_identifier");
			return SB_OK;
		case H_PG_VERSION:
			if (!parse_u64(value, &u) || u == 0 || u > 1000)
				return bad_line(err, lineno, "invalid pg_version");
			m->pg_version = (int) u;
			return SB_OK;
		case H_COMPRESS_TYPE:
			if (!sb_compress_type_parse(value, &m->compress_type))
			{
				sb_error_set(err, SB_ERR_CONFIG,
							 "backup manifest uses unsupported compression type \"%s\"",
							 value);
				sb_error_hint(err, "Upgrade pg_safebackup.");
				return SB_ERR_CONFIG;
			}
			return SB_OK;
		case H_DATABASE_SIZE:
			if (!parse_u64(value, &m->database_size))
				return bad_line(err, lineno, "invalid database_size");
			return SB_OK;
		case H_STORED_SIZE:
			if (!parse_u64(value, &m->stored_size))
				return bad_line(err, lineno, "invalid stored_size");
			return SB_OK;
	}
	return SB_OK;
}

/* page_checksum_failures=<path>\t<n>: the file was listed before. */
static SbStatus
parse_page_failures(SbManifest *m, char *value, int lineno, SbError *err)
{
	char	   *f[2];
	uint64_t	n;
	int			k;

	if (!split_fields(value, f, 2) || !parse_u64(f[1], &n) || n > UINT32_MAX)
		return bad_line(err, lineno, "invalid page_checksum_failures record");
	for (k = m->nfiles - 1; k >= 0; k--)
	{
		if (strcmp(m->files[k].path, f[0]) == 0)
		{
			m->files[k].checksum_failures = (uint32_t) n;
			return SB_OK;
		}
	}
	return bad_line(err, lineno, "page_checksum_failures names a file that is not listed");
}

/*
 * blocks=<path>\t<sums>: the file was listed before, block_size given in
 * the header, one sum per block of the file's size.  *cursor is where the
 * previous blocks record's file was (they come in file order).
 */
static SbStatus
parse_block_sums(SbManifest *m, char *value, int lineno, int *cursor,
				 SbError *err)
{
	char	   *f[2];
	SbManifestFile *file = NULL;
	uint64_t	n;
	size_t		len;

	if (m->block_size == 0)
		return bad_line(err, lineno, "a blocks record needs block_size before it");
	if (!split_fields(value, f, 2))
		return bad_line(err, lineno, "invalid blocks record");
	for (int k = 0; k < m->nfiles && file == NULL; k++)
	{
		int			j = (*cursor + k) % m->nfiles;

		if (strcmp(m->files[j].path, f[0]) == 0)
		{
			file = &m->files[j];
			*cursor = j + 1;
		}
	}
	if (file == NULL)
		return bad_line(err, lineno, "blocks names a file that is not listed");
	if (file->nblocks > 0)
		return bad_line(err, lineno, "duplicate blocks record");
	n = sb_block_count(file->size, m->block_size);
	len = strlen(f[1]);
	if (n == 0 || len % SB_BLOCK_SUM_HEX_LEN != 0 ||
		len / SB_BLOCK_SUM_HEX_LEN != n)
		return bad_line(err, lineno, "the number of block sums does not match the file size");
	file->nblocks = n;
	if (m->sums_skipped)
		return SB_OK;
	/* decoded into the store a batch at a time: the batches follow each other */
	for (uint64_t k = 0; k < n;)
	{
		uint64_t	batch[1024];
		uint64_t	nb = n - k < 1024 ? n - k : 1024;
		uint64_t	at;

		for (uint64_t j = 0; j < nb; j++, k++)
		{
			uint64_t	v = 0;

			for (int d = 0; d < SB_BLOCK_SUM_HEX_LEN; d++)
			{
				int			x = sb_hex_digit(f[1][k * SB_BLOCK_SUM_HEX_LEN + d]);

				if (x < 0)
					return bad_line(err, lineno, "invalid block sum");
				v = (v << 4) | (uint64_t) x;
			}
			batch[j] = v;
		}
		if (sb_sum_store_append(&m->sums, batch, nb, &at, err) != SB_OK)
			return err->status;
		if (k == nb)
			file->sums_at = at;
	}
	file->nblocks = n;
	return SB_OK;
}

/* A label as written by a backup: no separator, fits SB_LABEL_LEN. */
static bool
label_valid(const char *label)
{
	return label[0] != '\0' && strlen(label) < SB_LABEL_LEN &&
		strchr(label, '/') == NULL && sb_path_valid(label);
}

/* ref=<path>\t<label>\t<compress>: the file was listed before. */
static SbStatus
parse_ref(SbManifest *m, char *value, int lineno, SbError *err)
{
	char	   *f[3];
	SbCompressType ct;
	int			k;

	if (!split_fields(value, f, 3) || !label_valid(f[1]) ||
		strcmp(f[1], m->label) == 0)
		return bad_line(err, lineno, "invalid ref record");
	if (!sb_compress_type_parse(f[2], &ct))
		return bad_line(err, lineno, "unknown compression type in a ref record");
	for (k = m->nfiles - 1; k >= 0; k--)
	{
		if (strcmp(m->files[k].path, f[0]) == 0)
		{
			strcpy(m->files[k].ref_label, f[1]);
			m->files[k].ref_compress = ct;
			return SB_OK;
		}
	}
	return bad_line(err, lineno, "ref names a file that is not listed");
}

/* The listed file named path, searched from the end (records follow files). */
static SbManifestFile *
find_listed(SbManifest *m, const char *path)
{
	for (int k = m->nfiles - 1; k >= 0; k--)
		if (strcmp(m->files[k].path, path) == 0)
			return &m->files[k];
	return NULL;
}

/*
 * Is size the length of n chunks of block_size, every one whole but the
 * last (the file's last chunk may be shorter)?
 */
static bool
chunks_size_fits(uint64_t size, uint32_t n, uint32_t bs)
{
	return n > 0 && size > (uint64_t) (n - 1) * bs && size <= (uint64_t) n * bs;
}

/* chunks=<path>\t<size>\t<list>: the file was listed before. */
static SbStatus
parse_chunks(SbManifest *m, char *value, int lineno, SbError *err)
{
	char	   *f[3];
	SbManifestFile *file;
	uint64_t	size;
	uint64_t	limit;

	if (m->chunk_size == 0 || m->block_size == 0)
		return bad_line(err, lineno, "a chunks record needs block_size and chunk_size before it");
	if (!split_fields(value, f, 3) || !parse_u64(f[1], &size))
		return bad_line(err, lineno, "invalid chunks record");
	if ((file = find_listed(m, f[0])) == NULL)
		return bad_line(err, lineno, "chunks names a file that is not listed");
	if (file->nchunks > 0)
		return bad_line(err, lineno, "duplicate chunks record");
	limit = sb_block_count(file->size, m->chunk_size);
	if (!sb_chunk_list_parse(f[2], limit > UINT32_MAX ? UINT32_MAX : (uint32_t) limit,
							 &file->chunks, &file->nchunks))
		return bad_line(err, lineno, "invalid chunk list");
	/* whole chunks of the file, the last one as long as the file allows */
	{
		uint64_t	want = 0;

		for (uint32_t k = 0; k < file->nchunks; k++)
		{
			uint64_t	off = (uint64_t) file->chunks[k] * m->chunk_size;

			want += file->size - off < m->chunk_size ? file->size - off : m->chunk_size;
		}
		if (want != size)
		{
			sb_manifest_file_free_layers(file);
			return bad_line(err, lineno, "the size of the chunks does not match the file");
		}
	}
	if (!chunks_size_fits(size, file->nchunks, m->chunk_size))
	{
		sb_manifest_file_free_layers(file);
		return bad_line(err, lineno, "the size of the chunks does not match their number");
	}
	file->chunks_size = size;
	return SB_OK;
}

/*
 * part=<path>\t<label>\t<compress>\t<size>\t<sha256>\t<stored size>\t<list|*>:
 * after the file's chunks record; the first part is a whole file.
 */
static SbStatus
parse_part(SbManifest *m, char *value, int lineno, SbError *err)
{
	char	   *f[7];
	SbManifestFile *file;
	SbManifestPart *v;
	SbManifestPart p;
	uint64_t	limit;
	bool		whole;

	memset(&p, 0, sizeof(p));
	if (!split_fields(value, f, 7) || !label_valid(f[1]) ||
		strcmp(f[1], m->label) == 0 || !parse_u64(f[3], &p.size) ||
		!sha256_hex_valid(f[4]) || !parse_u64(f[5], &p.stored_size))
		return bad_line(err, lineno, "invalid part record");
	if (!sb_compress_type_parse(f[2], &p.compress))
		return bad_line(err, lineno, "unknown compression type in a part record");
	if ((file = find_listed(m, f[0])) == NULL || file->nchunks == 0)
		return bad_line(err, lineno, "part names a file without a chunks record before it");
	whole = strcmp(f[6], "*") == 0;
	if (whole != (file->nparts == 0))
		return bad_line(err, lineno, "only the first part of a file is a whole file");
	limit = sb_block_count(file->size, m->chunk_size);
	if (!whole &&
		(!sb_chunk_list_parse(f[6], limit > UINT32_MAX ? UINT32_MAX : (uint32_t) limit,
							  &p.chunks, &p.nchunks) ||
		 !chunks_size_fits(p.size, p.nchunks, m->chunk_size)))
	{
		free(p.chunks);
		return bad_line(err, lineno, "invalid chunk list in a part record");
	}
	strcpy(p.label, f[1]);
	/* checked: 64 or 32 hex digits */
	snprintf(p.digest, sizeof(p.digest), "%s", f[4]);
	v = realloc(file->parts, sizeof(SbManifestPart) * (size_t) (file->nparts + 1));
	if (v == NULL)
	{
		free(p.chunks);
		return sb_error_oom(err);
	}
	file->parts = v;
	file->parts[file->nparts++] = p;
	return SB_OK;
}

/*
 * A block-incremental file needs its layers and the block sums its result
 * is checked against.
 */
static SbStatus
check_layers(SbManifest *m, SbError *err)
{
	for (int i = 0; i < m->nfiles; i++)
	{
		const SbManifestFile *f = &m->files[i];

		if (!sb_manifest_file_layered(f))
			continue;
		if (f->nparts == 0 || f->nblocks != sb_block_count(f->size, m->block_size))
			return sb_error_set(err, SB_ERR_CORRUPT,
								"invalid backup manifest: block-incremental file \"%s\" lacks its parts or its block sums",
								f->path);
	}
	return SB_OK;
}

static SbStatus
parse_record(SbManifest *m, const char *key, char *value, int lineno,
			 bool *seen, int *cursor, SbError *err)
{
	char	   *f[6];
	int			k;

	if (strcmp(key, "file") == 0)
	{
		SbManifestFile file;

		if (!split_fields(value, f, 6))
			return bad_line(err, lineno, "a file record needs 6 fields");
		memset(&file, 0, sizeof(file));
		file.path = f[0];
		if (!relpath_valid(f[0]))
			return bad_line(err, lineno, "invalid file path");
		if (!parse_u64(f[1], &file.size) ||
			!parse_i64(f[2], &file.mtime) ||
			!parse_mode(f[3], &file.mode) ||
			!sha256_hex_valid(f[4]) ||
			!parse_u64(f[5], &file.stored_size))
			return bad_line(err, lineno, "invalid file record");
		snprintf(file.digest, sizeof(file.digest), "%s", f[4]);
		if (!sb_manifest_add_file(m, &file))
			return sb_error_oom(err);
		return SB_OK;
	}
	if (strcmp(key, PAGE_FAILURES_KEY) == 0)
		return parse_page_failures(m, value, lineno, err);
	if (strcmp(key, BLOCKS_KEY) == 0)
		return parse_block_sums(m, value, lineno, cursor, err);
	if (strcmp(key, CHUNK_SIZE_KEY) == 0)
	{
		uint64_t	cs;

		/* a divisor of block_size: a chunk never straddles two blocks */
		if (!parse_u64(value, &cs) || cs < 512 || m->block_size == 0 ||
			cs > m->block_size || m->block_size % cs != 0)
			return bad_line(err, lineno, "invalid chunk_size");
		m->chunk_size = (uint32_t) cs;
		return SB_OK;
	}
	if (strcmp(key, BLOCK_SIZE_KEY) == 0)
	{
		uint64_t	bs;

		if (!parse_u64(value, &bs) || bs < 512 || bs > 64 * 1024 * 1024)
			return bad_line(err, lineno, "invalid block_size");
		m->block_size = (uint32_t) bs;
		return SB_OK;
	}
	if (strcmp(key, REF_KEY) == 0)
		return parse_ref(m, value, lineno, err);
	if (strcmp(key, CHUNKS_KEY) == 0)
		return parse_chunks(m, value, lineno, err);
	if (strcmp(key, PART_KEY) == 0)
		return parse_part(m, value, lineno, err);
	if (strcmp(key, READ_SIZE_KEY) == 0)
	{
		if (!parse_u64(value, &m->read_size))
			return bad_line(err, lineno, "invalid read_size");
		return SB_OK;
	}
	if (strcmp(key, BLOCK_FILES_KEY) == 0)
	{
		if (!parse_u64(value, &m->block_incremental_files))
			return bad_line(err, lineno, "invalid block_incremental_files");
		return SB_OK;
	}
	if (strcmp(key, BASE_KEY) == 0)
	{
		if (!label_valid(value))
			return bad_line(err, lineno, "invalid base label");
		strcpy(m->base, value);
		return SB_OK;
	}
	if (strcmp(key, RESUMED_KEY) == 0)
	{
		if (!parse_u64(value, &m->resumed_files))
			return bad_line(err, lineno, "invalid resumed_files");
		return SB_OK;
	}
	if (strcmp(key, CHECKSUM_FAILURES_KEY) == 0)
	{
		if (!parse_u64(value, &m->checksum_failures))
			return bad_line(err, lineno, "invalid checksum_failures");
		m->checksums_verified = true;
		return SB_OK;
	}
	if (strcmp(key, "stop_timeline") == 0)
	{
		uint64_t	tli;

		if (!parse_u64(value, &tli) || tli == 0 || tli > UINT32_MAX)
			return bad_line(err, lineno, "invalid stop_timeline");
		m->stop_timeline = (unsigned int) tli;
		return SB_OK;
	}
	if (strcmp(key, "backup_from") == 0)
	{
		if (strcmp(value, "primary") != 0 && strcmp(value, "standby") != 0)
			return bad_line(err, lineno, "invalid backup_from");
		strcpy(m->backup_from, value);
		return SB_OK;
	}
	if (strcmp(key, "dir") == 0)
	{
		unsigned int mode;

		if (!split_fields(value, f, 2))
			return bad_line(err, lineno, "a dir record needs 2 fields");
		if (!relpath_valid(f[0]))
			return bad_line(err, lineno, "invalid directory path");
		if (!parse_mode(f[1], &mode))
			return bad_line(err, lineno, "invalid directory mode");
		if (!sb_manifest_add_dir(m, f[0], mode))
			return sb_error_oom(err);
		return SB_OK;
	}
	if (strcmp(key, "tablespace") == 0)
	{
		uint64_t	oid;

		if (!split_fields(value, f, 2))
			return bad_line(err, lineno, "a tablespace record needs 2 fields");
		if (!parse_u64(f[0], &oid) || oid == 0 || oid > UINT32_MAX)
			return bad_line(err, lineno, "invalid tablespace OID");
		if (f[1][0] != '/')
			return bad_line(err, lineno, "invalid tablespace path");
		for (k = 0; k < m->ntablespaces; k++)
			if (m->tablespaces[k].oid == (unsigned int) oid)
				return bad_line(err, lineno, "duplicate tablespace OID");
		if (!sb_manifest_add_tablespace(m, (unsigned int) oid, f[1]))
			return bad_line(err, lineno, "invalid tablespace path");
		return SB_OK;
	}
	for (k = 0; k < H_COUNT; k++)
	{
		if (strcmp(key, header_keys[k]) == 0)
		{
			seen[k] = true;
			return parse_header(m, k, value, lineno, err);
		}
	}
	/* a key from a newer writer: ignore it */
	return SB_OK;
}

/*
 * The reader: a sink of the codec pipeline that parses the manifest as its
 * bytes arrive, so that no more than one line is held at a time (the block
 * sums go to the manifest's store).  The checksum covers every byte before
 * its line, which must be the last; a damaged manifest is reported as such
 * even when a line before the checksum fails to parse first, so the first
 * such error is kept until the end.
 */
typedef struct ManifestReader
{
	SbFilter	base;
	SbManifest *m;
	SbFilter   *sha;			/* SHA-256 of the lines before the checksum */
	char	   *line;			/* the line being received */
	size_t		line_len;
	size_t		line_cap;
	int			lineno;			/* lines completed */
	bool		seen[H_COUNT];
	int			cursor;			/* of the blocks records */
	bool		have_sum;		/* the checksum line was read */
	char		sum[SB_SHA256_HEX_LEN + 1];
	SbStatus	parse_rc;		/* the first line that did not parse */
	SbError		parse_err;
	uint8_t		head[64];		/* the first bytes: an encryption header? */
	size_t		head_len;
	bool		failed;			/* the text was refused */
} ManifestReader;

/* One complete line, without its newline. */
static SbStatus
reader_line(ManifestReader *r, SbError *err)
{
	size_t		magic_len = strlen(MANIFEST_MAGIC);
	size_t		key_len = strlen(MANIFEST_CHECKSUM_KEY);
	char	   *eq;

	r->lineno++;
	if (r->have_sum)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"invalid backup manifest: no checksum line at its end");
	if (r->lineno == 1)
	{
		if (r->line_len != magic_len || memcmp(r->line, MANIFEST_MAGIC, magic_len) != 0)
			return sb_error_set(err, SB_ERR_CORRUPT,
								"invalid backup manifest: it does not start with \"%s\"",
								MANIFEST_MAGIC);
	}
	else if (r->line_len == key_len + SB_SHA256_HEX_LEN &&
			 memcmp(r->line, MANIFEST_CHECKSUM_KEY, key_len) == 0)
	{
		r->have_sum = true;
		memcpy(r->sum, r->line + key_len, SB_SHA256_HEX_LEN);
		r->sum[SB_SHA256_HEX_LEN] = '\0';
		return SB_OK;
	}
	r->line[r->line_len] = '\n';
	if (sb_filter_write(r->sha, r->line, r->line_len + 1, err) != SB_OK)
		return err->status;
	r->line[r->line_len] = '\0';
	if (r->lineno == 1 || r->parse_rc != SB_OK)
		return SB_OK;

	eq = strchr(r->line, '=');
	if (eq == NULL || eq == r->line)
		r->parse_rc = bad_line(&r->parse_err, r->lineno, "expected key=value");
	else
	{
		*eq = '\0';
		r->parse_rc = parse_record(r->m, r->line, eq + 1, r->lineno, r->seen,
								   &r->cursor, &r->parse_err);
	}
	/* running out of room for the sums is not a damaged manifest */
	if (r->parse_rc != SB_OK && r->parse_rc != SB_ERR_CORRUPT)
	{
		*err = r->parse_err;
		return r->parse_rc;
	}
	return SB_OK;
}

static SbStatus
reader_write_text(ManifestReader *r, const uint8_t *buf, size_t len,
				  SbError *err);
static SbStatus reader_finish_text(ManifestReader *r, SbError *err);

static SbStatus
reader_write(SbFilter *f, const uint8_t *buf, size_t len, SbError *err)
{
	ManifestReader *r = (ManifestReader *) f;
	SbStatus	rc = reader_write_text(r, buf, len, err);

	r->failed |= rc != SB_OK;
	return rc;
}

static SbStatus
reader_finish(SbFilter *f, SbError *err)
{
	ManifestReader *r = (ManifestReader *) f;
	SbStatus	rc = reader_finish_text(r, err);

	r->failed |= rc != SB_OK;
	return rc;
}

static SbStatus
reader_write_text(ManifestReader *r, const uint8_t *buf, size_t len,
				  SbError *err)
{
	if (r->head_len < sizeof(r->head))
	{
		size_t		n = sizeof(r->head) - r->head_len;

		if (n > len)
			n = len;

		memcpy(r->head + r->head_len, buf, n);
		r->head_len += n;
	}
	if (memchr(buf, '\0', len) != NULL)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"invalid backup manifest: it contains a NUL byte");
	while (len > 0)
	{
		const uint8_t *nl = memchr(buf, '\n', len);
		size_t		n = nl != NULL ? (size_t) (nl - buf) : len;

		if (r->line_len + n + 2 > r->line_cap)
		{
			size_t		cap = r->line_cap > 0 ? r->line_cap : 4096;
			char	   *p;

			while (cap < r->line_len + n + 2)
				cap *= 2;
			if (cap > MANIFEST_LINE_MAX)
				return sb_error_set(err, SB_ERR_CORRUPT,
									"invalid backup manifest: line %d is longer than %zu bytes",
									r->lineno + 1, MANIFEST_LINE_MAX);
			p = realloc(r->line, cap);
			if (p == NULL)
				return sb_error_oom(err);
			r->line = p;
			r->line_cap = cap;
		}
		memcpy(r->line + r->line_len, buf, n);
		r->line_len += n;
		buf += n;
		len -= n;
		if (nl == NULL)
			break;
		buf++;
		len--;
		if (reader_line(r, err) != SB_OK)
			return err->status;
		r->line_len = 0;
	}
	return SB_OK;
}

static SbStatus
reader_finish_text(ManifestReader *r, SbError *err)
{
	SbManifest *m = r->m;
	char		hex[SB_SHA256_HEX_LEN + 1];

	if (r->lineno == 0 && r->line_len == 0)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"invalid backup manifest: it does not start with \"%s\"",
							MANIFEST_MAGIC);
	if (r->line_len > 0 || !r->have_sum)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"invalid backup manifest: no checksum line at its end");
	if (sb_filter_finish(r->sha, err) != SB_OK)
		return err->status;
	sb_filter_digest_hex(r->sha, hex);
	if (strncasecmp(hex, r->sum, SB_SHA256_HEX_LEN) != 0)
		return sb_error_set(err, SB_ERR_CORRUPT,
							"checksum mismatch in backup manifest");
	if (r->parse_rc != SB_OK)
	{
		*err = r->parse_err;
		return r->parse_rc;
	}
	for (int k = 0; k < H_COUNT; k++)
		if (!r->seen[k])
			return sb_error_set(err, SB_ERR_CORRUPT,
								"invalid backup manifest: key \"%s\" is missing",
								header_keys[k]);
	if (check_layers(m, err) != SB_OK)
		return err->status;
	if (m->format_version > MANIFEST_FORMAT_VERSION)
	{
		sb_error_set(err, SB_ERR_CONFIG,
					 "backup manifest uses format version %d, newer than this build supports",
					 m->format_version);
		sb_error_detail(err, "This build supports manifest format version %d.",
						MANIFEST_FORMAT_VERSION);
		sb_error_hint(err, "Upgrade pg_safebackup.");
		return SB_ERR_CONFIG;
	}
	return SB_OK;
}

static void
reader_free(SbFilter *f)
{
	ManifestReader *r = (ManifestReader *) f;

	if (r == NULL)
		return;
	sb_filter_free_chain(r->sha);
	free(r->line);
	free(r);
}

SbFilter *
sb_manifest_reader_new(SbManifest *m, int flags)
{
	ManifestReader *r = calloc(1, sizeof(ManifestReader));

	if (r == NULL)
		return NULL;
	r->sha = sb_filter_digest_new(NULL);
	if (r->sha == NULL)
	{
		free(r);
		return NULL;
	}
	sb_manifest_init(m);
	m->sums_skipped = (flags & SB_MANIFEST_SKIP_SUMS) != 0;
	r->m = m;
	r->base.write = reader_write;
	r->base.finish = reader_finish;
	r->base.free = reader_free;
	return &r->base;
}

SbStatus
sb_manifest_fetch(SbStorage *st, const char *path, SbManifest *m, int flags,
				  SbManifestFetchFailure *failure, SbError *err)
{
	SbFilter   *reader = sb_manifest_reader_new(m, flags);
	ManifestReader *r = (ManifestReader *) reader;
	SbStatus	rc;

	*failure = SB_MANIFEST_FETCH_STORAGE;
	if (reader == NULL)
	{
		sb_manifest_init(m);
		return sb_error_oom(err);
	}
	rc = sb_codec_fetch(st, path, SB_COMPRESS_NONE, reader, NULL, UINT64_MAX,
						NULL, err);
	if (rc != SB_OK && r->failed)
		*failure = st->cipher == NULL &&
			sb_cipher_header_present(r->head, r->head_len) ?
			SB_MANIFEST_FETCH_ENCRYPTED : SB_MANIFEST_FETCH_TEXT;
	sb_filter_free_chain(reader);
	if (rc != SB_OK)
		sb_manifest_free(m);
	return rc;
}

SbStatus
sb_manifest_parse(SbManifest *m, const char *text, size_t len, SbError *err)
{
	SbFilter   *reader = sb_manifest_reader_new(m, 0);
	SbStatus	rc;

	if (reader == NULL)
	{
		sb_manifest_init(m);
		return sb_error_oom(err);
	}
	rc = sb_filter_write(reader, text, len, err);
	if (rc == SB_OK)
		rc = sb_filter_finish(reader, err);
	sb_filter_free_chain(reader);
	if (rc != SB_OK)
		sb_manifest_free(m);
	return rc;
}

/* ----------------------------------------------------------------
 *		Saving and loading
 * ----------------------------------------------------------------
 */

SbStatus
sb_manifest_save(SbStorage *st, const SbRepoConfig *cfg, const SbManifest *m,
				 SbError *err)
{
	SbRepoConfig plain = *cfg;
	char		dir[SB_PATH_MAX];
	char		path[SB_PATH_MAX];
	SbStatus	rc;

	if (!label_valid(m->label))
		return sb_error_set(err, SB_ERR_INTERNAL,
							"invalid backup label \"%s\"", m->label);

	sb_backup_dir(cfg->stanza, m->label, dir);
	rc = sb_storage_mkdir(st, dir, err);
	if (rc == SB_OK)
	{
		/* stored as is, so that it can be read without any tool */
		plain.compress_type = SB_COMPRESS_NONE;
		sb_backup_manifest_path(cfg->stanza, m->label, path);
		rc = sb_manifest_store(st, &plain, m, path, 0, err);
		if (rc == SB_ERR_EXISTS)
			sb_error_hint(err, "Backup \"%s\" already has a manifest; it is never replaced.",
						  m->label);
	}
	return rc;
}

SbStatus
sb_manifest_load(SbStorage *st, const char *stanza, const char *label,
				 SbManifest *m, SbError *err)
{
	return sb_manifest_load_flags(st, stanza, label, m, 0, err);
}

SbStatus
sb_manifest_load_flags(SbStorage *st, const char *stanza, const char *label,
					   SbManifest *m, int flags, SbError *err)
{
	char		path[SB_PATH_MAX];
	char		dir[SB_PATH_MAX];
	SbManifestFetchFailure failure;
	SbStatus	rc;

	sb_manifest_init(m);
	if (!label_valid(label))
		return sb_error_set(err, SB_ERR_NOT_FOUND,
							"backup \"%s\" does not exist in stanza \"%s\"",
							label, stanza);

	sb_backup_manifest_path(stanza, label, path);
	rc = sb_manifest_fetch(st, path, m, flags, &failure, err);
	if (rc == SB_ERR_NOT_FOUND && failure == SB_MANIFEST_FETCH_STORAGE)
	{
		SbStat		sst;
		SbError		ignore;

		sb_backup_dir(stanza, label, dir);
		if (sb_storage_stat(st, dir, &sst, &ignore) == SB_OK && sst.is_dir)
		{
			sb_error_set(err, SB_ERR_NOT_FOUND,
						 "backup \"%s\" of stanza \"%s\" is incomplete", label, stanza);
			sb_error_detail(err, "It has no manifest: the backup did not finish, or is still running.");
		}
		else
			sb_error_set(err, SB_ERR_NOT_FOUND,
						 "backup \"%s\" does not exist in stanza \"%s\"",
						 label, stanza);
	}
	else if (rc != SB_OK && failure == SB_MANIFEST_FETCH_ENCRYPTED)
	{
		/* an encrypted manifest read without the key */
		sb_error_set(err, SB_ERR_CONFIG,
					 "manifest of backup \"%s\" is encrypted, but encryption is not configured",
					 label);
		sb_error_hint(err, "Set cipher_type = aes-256-gcm and cipher_pass_file to the file holding the stanza's passphrase.");
		rc = SB_ERR_CONFIG;
	}
	else if (rc != SB_OK && failure == SB_MANIFEST_FETCH_TEXT)
	{
		char		msg[SB_ERROR_MSG_LEN];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		snprintf(err->msg, sizeof(err->msg),
				 "could not read manifest of backup \"%s\": %s", label, msg);
	}
	else if (rc == SB_OK && strcmp(m->label, label) != 0)
	{
		rc = sb_error_set(err, SB_ERR_CORRUPT,
						  "manifest of backup \"%s\" is for backup \"%s\"",
						  label, m->label);
		sb_manifest_free(m);
	}
	return rc;
}

/* ----------------------------------------------------------------
 *		Listing backups
 * ----------------------------------------------------------------
 */

typedef struct ListState
{
	char	  **names;
	int			n;
	int			cap;
	bool		oom;
} ListState;

static bool
list_cb(const char *name, const SbStat *st, void *arg)
{
	ListState  *ls = arg;
	char	   *copy;

	if (!st->is_dir || !label_valid(name))
		return true;
	if (!grow((void **) &ls->names, &ls->cap, ls->n, sizeof(char *)) ||
		(copy = strdup(name)) == NULL)
	{
		ls->oom = true;
		return false;
	}
	ls->names[ls->n++] = copy;
	return true;
}

static int
cmp_labels(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

SbStatus
sb_backup_list(SbStorage *st, const char *stanza, char ***labels,
			   int *nlabels, SbError *err)
{
	ListState	ls;
	char		dir[SB_PATH_MAX];
	char		path[SB_PATH_MAX];
	SbStatus	rc;
	int			i;
	int			kept = 0;

	*labels = NULL;
	*nlabels = 0;
	memset(&ls, 0, sizeof(ls));

	snprintf(dir, sizeof(dir), "%s/backup", stanza);
	rc = sb_storage_list(st, dir, list_cb, &ls, err);
	if (rc == SB_ERR_NOT_FOUND)
	{
		/* no backup was ever started */
		sb_error_clear(err);
		return SB_OK;
	}
	if (rc == SB_OK && ls.oom)
		rc = sb_error_oom(err);

	/* keep the complete ones: a manifest is written last */
	for (i = 0; i < ls.n; i++)
	{
		SbStat		sst;
		SbStatus	src = SB_ERR_NOT_FOUND;

		if (rc == SB_OK)
		{
			sb_backup_manifest_path(stanza, ls.names[i], path);
			src = sb_storage_stat(st, path, &sst, err);
			if (src == SB_OK && sst.is_dir)
				src = SB_ERR_NOT_FOUND;
			if (src != SB_OK && src != SB_ERR_NOT_FOUND)
				rc = src;
		}
		if (src == SB_OK)
			ls.names[kept++] = ls.names[i];
		else
			free(ls.names[i]);
	}
	if (rc != SB_OK)
	{
		sb_backup_list_free(ls.names, kept);
		return rc;
	}
	sb_error_clear(err);

	if (kept > 1)
		qsort(ls.names, (size_t) kept, sizeof(char *), cmp_labels);
	if (kept == 0)
	{
		free(ls.names);
		ls.names = NULL;
	}
	*labels = ls.names;
	*nlabels = kept;
	return SB_OK;
}

void
sb_backup_list_free(char **labels, int nlabels)
{
	int			i;

	if (labels == NULL)
		return;
	for (i = 0; i < nlabels; i++)
		free(labels[i]);
	free(labels);
}

/* ----------------------------------------------------------------
 *		LSNs
 * ----------------------------------------------------------------
 */

/* 1 to 8 hex digits; advances *s. */
static bool
parse_hex32(const char **s, uint32_t *out)
{
	const char *p = *s;
	uint32_t	v = 0;
	int			n = 0;

	while (isxdigit((unsigned char) *p))
	{
		int			c = (unsigned char) *p;
		int			d = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;

		if (++n > 8)
			return false;
		v = (v << 4) | (uint32_t) d;
		p++;
	}
	if (n == 0)
		return false;
	*s = p;
	*out = v;
	return true;
}

bool
sb_lsn_parse(const char *s, uint64_t *lsn)
{
	uint32_t	hi;
	uint32_t	lo;

	if (s == NULL || !parse_hex32(&s, &hi) || *s++ != '/' ||
		!parse_hex32(&s, &lo) || *s != '\0')
		return false;
	*lsn = ((uint64_t) hi << 32) | lo;
	return true;
}
