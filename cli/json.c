/*-------------------------------------------------------------------------
 *
 * json.c
 *		The little JSON writing the pg_safebackup commands share (info,
 *		verify): escaped string literals and object keys, to stdout.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>

#include "cli.h"

/* A JSON string literal, escaped. */
void
json_string(const char *s)
{
	putchar('"');
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == '\r')
			fputs("\\r", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

void
json_key(const char *indent, const char *key, bool first)
{
	printf("%s%s", first ? "" : ",\n", indent);
	json_string(key);
	fputs(": ", stdout);
}
