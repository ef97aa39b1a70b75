/*-------------------------------------------------------------------------
 *
 * wal_timeline.c
 *		Segment names as numbers and timeline history files; see
 *		wal_timeline.h.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "wal_timeline.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "manifest.h"
#include "wal.h"

#define HISTORY_MAX_LEN		(1024 * 1024)

static bool
hex_field(const char *s, size_t n, uint32_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		char		c = s[i];

		if (c >= '0' && c <= '9')
			v = v * 16 + (uint64_t) (c - '0');
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (uint64_t) (c - 'A' + 10);
		else
			return false;
	}
	*out = (uint32_t) v;
	return true;
}

static bool
split_name(const char *name, uint32_t *tli, uint32_t *log, uint32_t *seg)
{
	if (strlen(name) < SB_WAL_SEG_NAME_LEN)
		return false;
	return hex_field(name, 8, tli) && hex_field(name + 8, 8, log) &&
		hex_field(name + 16, 8, seg);
}

bool
sb_wal_parse_segment(const char *name, uint64_t segsize, unsigned int *tli,
					 uint64_t *segno)
{
	uint32_t	t;
	uint32_t	log;
	uint32_t	seg;
	uint64_t	per_log;

	if (segsize == 0 || !split_name(name, &t, &log, &seg))
		return false;
	per_log = UINT64_C(0x100000000) / segsize;
	if (seg >= per_log)
		return false;
	*tli = t;
	*segno = (uint64_t) log * per_log + seg;
	return true;
}

void
sb_wal_segment_name(unsigned int tli, uint64_t segno, uint64_t segsize,
					char *out)
{
	uint64_t	per_log = UINT64_C(0x100000000) / segsize;

	snprintf(out, SB_WAL_SEG_NAME_LEN + 1, "%08X%08X%08X", tli,
			 (unsigned int) (segno / per_log), (unsigned int) (segno % per_log));
}

bool
sb_wal_segsize_infer(const char *lsn_text, const char *walname,
					 uint64_t *segsize)
{
	uint64_t	lsn;
	uint64_t	size;

	if (!sb_lsn_parse(lsn_text, &lsn))
		return false;
	for (size = UINT64_C(1) << 20; size <= (UINT64_C(1) << 30); size <<= 1)
	{
		unsigned int tli;
		uint64_t	segno;

		if (sb_wal_parse_segment(walname, size, &tli, &segno) &&
			segno == lsn / size)
		{
			*segsize = size;
			return true;
		}
	}
	return false;
}

SbStatus
sb_timeline_history_parse(const char *text, size_t len,
						  SbTimelineEntry **entries, int *nentries,
						  SbError *err)
{
	SbTimelineEntry *out = NULL;
	int			n = 0;
	size_t		pos = 0;
	int			lineno = 0;

	*entries = NULL;
	*nentries = 0;
	while (pos < len)
	{
		char		line[256];
		size_t		end = pos;
		size_t		l;
		char	   *p;
		char	   *q;
		unsigned long tli;
		uint64_t	lsn;
		SbTimelineEntry *grown;

		while (end < len && text[end] != '\n')
			end++;
		l = end - pos;
		if (l >= sizeof(line))
			l = sizeof(line) - 1;
		memcpy(line, text + pos, l);
		line[l] = '\0';
		pos = end + 1;
		lineno++;

		p = line;
		while (isspace((unsigned char) *p))
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		tli = strtoul(p, &q, 10);
		if (q == p || !isspace((unsigned char) *q) || tli == 0 || tli > 0xFFFFFFFFUL)
			goto bad;
		p = q;
		while (isspace((unsigned char) *p))
			p++;
		q = p;
		while (*q != '\0' && !isspace((unsigned char) *q))
			q++;
		*q = '\0';
		if (!sb_lsn_parse(p, &lsn))
			goto bad;
		grown = realloc(out, sizeof(SbTimelineEntry) * (size_t) (n + 1));
		if (grown == NULL)
		{
			free(out);
			return sb_error_oom(err);
		}
		out = grown;
		out[n].tli = (unsigned int) tli;
		out[n].end_lsn = lsn;
		n++;
		continue;
bad:
		free(out);
		return sb_error_set(err, SB_ERR_CORRUPT,
							"invalid timeline history file: syntax error in line %d",
							lineno);
	}
	*entries = out;
	*nentries = n;
	return SB_OK;
}

SbStatus
sb_timeline_history_load(SbStorage *st, const char *stanza, unsigned int tli,
						 SbTimelineEntry **entries, int *nentries,
						 SbError *err)
{
	char		walname[32];
	SbWalEntry	entry;
	SbFilter   *sink;
	const char *data;
	size_t		len;
	SbStatus	rc;

	*entries = NULL;
	*nentries = 0;
	snprintf(walname, sizeof(walname), "%08X.history", tli);
	rc = sb_wal_find(st, stanza, walname, &entry, err);
	if (rc != SB_OK)
		return rc;
	sink = sb_filter_buffer_sink_new(HISTORY_MAX_LEN);
	if (sink == NULL)
		return sb_error_oom(err);
	rc = sb_codec_fetch(st, entry.name, entry.compress_type, sink,
						entry.digest, UINT64_MAX, NULL, err);
	if (rc == SB_OK)
	{
		data = sb_filter_buffer_data(sink, &len);
		rc = sb_timeline_history_parse(data, len, entries, nentries, err);
		if (rc != SB_OK)
			sb_error_detail(err, "File \"%s\".", entry.name);
	}
	sb_filter_free_chain(sink);
	return rc;
}
