/*-------------------------------------------------------------------------
 *
 * s3_xml.c
 *		The few elements of S3's XML answers the driver reads (keys, sizes
 *		and times of a listing, the continuation token, an upload ID, an
 *		error code).  S3 answers are flat and machine-written, so finding
 *		"<Tag>text</Tag>" and decoding the five predefined entities and
 *		numeric character references is all it takes.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "s3_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Decode XML text of length len into out; false when it does not fit. */
static bool
xml_decode(const char *in, size_t len, char *out, size_t outsz)
{
	static const struct
	{
		const char *name;
		char		c;
	}			ents[] = {
		{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}
	};
	size_t		o = 0;

	for (size_t i = 0; i < len;)
	{
		char		c = in[i];
		size_t		adv = 1;

		if (c == '&')
		{
			bool		found = false;

			for (size_t e = 0; e < sizeof(ents) / sizeof(ents[0]); e++)
			{
				size_t		el = strlen(ents[e].name);

				if (i + el <= len && memcmp(in + i, ents[e].name, el) == 0)
				{
					c = ents[e].c;
					adv = el;
					found = true;
					break;
				}
			}
			if (!found && i + 3 < len && in[i + 1] == '#')
			{
				char	   *end;
				long		v;

				if (in[i + 2] == 'x')
					v = strtol(in + i + 3, &end, 16);
				else
					v = strtol(in + i + 2, &end, 10);
				if (end < in + len && *end == ';' && v > 0 && v < 128)
				{
					c = (char) v;
					adv = (size_t) (end - (in + i)) + 1;
				}
			}
		}
		if (o + 1 >= outsz)
			return false;
		out[o++] = c;
		i += adv;
	}
	out[o] = '\0';
	return true;
}

bool
s3_xml_span(const char *xml, size_t len, size_t from, const char *tag,
			size_t *start, size_t *stop, size_t *after)
{
	char		open[64];
	char		close[64];
	size_t		ol;
	size_t		cl;
	const char *p;
	const char *q;
	const char *limit = xml + len;

	ol = (size_t) snprintf(open, sizeof(open), "<%s>", tag);
	cl = (size_t) snprintf(close, sizeof(close), "</%s>", tag);
	for (p = xml + from; p + ol <= limit; p++)
		if (memcmp(p, open, ol) == 0)
			break;
	if (p + ol > limit)
		return false;
	p += ol;
	for (q = p; q + cl <= limit; q++)
		if (memcmp(q, close, cl) == 0)
			break;
	if (q + cl > limit)
		return false;
	*start = (size_t) (p - xml);
	*stop = (size_t) (q - xml);
	*after = (size_t) (q + cl - xml);
	return true;
}

bool
s3_xml_text(const char *xml, size_t len, const char *tag, char *out,
			size_t outsz)
{
	size_t		start;
	size_t		stop;
	size_t		after;

	if (!s3_xml_span(xml, len, 0, tag, &start, &stop, &after))
		return false;
	return xml_decode(xml + start, stop - start, out, outsz);
}

int64_t
s3_xml_time(const char *s)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
			   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t) timegm(&tm);
}
