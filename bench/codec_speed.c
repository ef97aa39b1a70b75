/*-------------------------------------------------------------------------
 *
 * codec_speed.c
 *		Measure the compression filters of the codec pipeline on real files
 *		(WAL segments, table files): MB/s of compression and decompression
 *		on one core, and the stored size as a share of the plain size.  The
 *		default compress_type/compress_level were chosen with it (README,
 *		"Compression").
 *
 *   make bench/codec_speed
 *   bench/codec_speed [-f FRAME_BYTES] FILE...
 *
 * With -f, lz4 and zstd write seekable files of frames of FRAME_BYTES plain
 * bytes each and a seek table (SB_WRITE_SEEKABLE; backup files use
 * SB_SEEK_FRAME_SIZE), to measure what the frames cost; the data is then
 * handed over a frame at a time (as the copy thread of a backup hands over
 * a large file: filter_async.c's 1 MiB buffers), so that each frame is
 * compressed by one call.
 *
 * The files are read into memory first, so the figures are the codec's
 * alone, not the disk's.
 *
 *-------------------------------------------------------------------------
 */
#include "codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Sample
{
	const char *name;
	uint8_t    *data;
	size_t		len;
} Sample;

static const struct
{
	SbCompressType type;
	int			level;
}			cases[] = {
	{SB_COMPRESS_ZLIB, 1}, {SB_COMPRESS_ZLIB, 6},
	{SB_COMPRESS_LZ4, 1}, {SB_COMPRESS_LZ4, 3},
	{SB_COMPRESS_ZSTD, 1}, {SB_COMPRESS_ZSTD, 2}, {SB_COMPRESS_ZSTD, 3},
	{SB_COMPRESS_ZSTD, 6},
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Push data through head in chunks of chunk bytes and finish. */
static void
run(SbFilter *head, const uint8_t *data, size_t len, size_t chunk)
{
	SbError		err;

	memset(&err, 0, sizeof(err));
	for (size_t off = 0; off < len; off += chunk)
	{
		size_t		n = len - off < chunk ? len - off : chunk;

		if (sb_filter_write(head, data + off, n, &err) != SB_OK)
			goto fail;
	}
	if (sb_filter_finish(head, &err) == SB_OK)
		return;
fail:
	fprintf(stderr, "codec_speed: %s\n", err.msg);
	exit(1);
}

static void
load(Sample *s, const char *path)
{
	FILE	   *f = fopen(path, "rb");
	long		n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0)
	{
		perror(path);
		exit(1);
	}
	rewind(f);
	s->name = path;
	s->len = (size_t) n;
	s->data = malloc(s->len ? s->len : 1);
	if (s->data == NULL || fread(s->data, 1, s->len, f) != s->len)
	{
		perror(path);
		exit(1);
	}
	fclose(f);
}

int
main(int argc, char **argv)
{
	Sample	   *samples;
	size_t		total = 0;
	int			first = 1;
	int			nsamples;
	uint64_t	frame = 0;
	size_t		wchunk = SB_CODEC_BUFSIZE;

	if (argc > 2 && strcmp(argv[1], "-f") == 0)
	{
		frame = strtoull(argv[2], NULL, 10);
		first = 3;
		/* whole frames, as a backup's large files reach the compressor */
		if (frame > wchunk)
			wchunk = (size_t) frame;
	}
	nsamples = argc - first;
	if (nsamples < 1)
	{
		fprintf(stderr, "usage: %s [-f FRAME_BYTES] FILE...\n", argv[0]);
		return 2;
	}
	samples = calloc(nsamples, sizeof(Sample));
	for (int i = 0; i < nsamples; i++)
	{
		load(&samples[i], argv[first + i]);
		total += samples[i].len;
	}
	printf("%d files, %.1f MiB", nsamples, total / 1048576.0);
	if (frame > 0)
		printf(", seekable frames of %llu bytes", (unsigned long long) frame);
	printf("\n");
	printf("%-8s %5s %14s %14s %8s %14s\n", "type", "level", "compress MB/s",
		   "decomp. MB/s", "stored", "stored bytes");

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
	{
		double		tc = 0;
		double		td = 0;
		uint64_t	stored = 0;

		for (int i = 0; i < nsamples; i++)
		{
			SbFilter   *buf = sb_filter_buffer_sink_new(SIZE_MAX);
			SbFilter   *comp = frame > 0 ?
				sb_filter_compress_seekable_new(cases[c].type, cases[c].level,
												frame, buf) :
				sb_filter_compress_new(cases[c].type, cases[c].level, buf);
			SbFilter   *count = sb_filter_count_new(NULL);
			SbFilter   *dec = sb_filter_decompress_new(cases[c].type, count);
			const char *out;
			size_t		outlen;
			double		t0;

			t0 = now();
			run(comp, samples[i].data, samples[i].len, wchunk);
			tc += now() - t0;
			out = sb_filter_buffer_data(buf, &outlen);
			stored += outlen;
			t0 = now();
			run(dec, (const uint8_t *) out, outlen, SB_CODEC_BUFSIZE);
			td += now() - t0;
			if (sb_filter_count_bytes(count) != samples[i].len)
			{
				fprintf(stderr, "codec_speed: round trip of %s lost data\n",
						samples[i].name);
				return 1;
			}
			sb_filter_free_chain(comp);
			sb_filter_free_chain(dec);
		}
		printf("%-8s %5d %14.0f %14.0f %7.2f%% %14llu\n",
			   sb_compress_type_name(cases[c].type), cases[c].level,
			   total / 1e6 / tc, total / 1e6 / td, 100.0 * stored / total,
			   (unsigned long long) stored);
	}
	return 0;
}
