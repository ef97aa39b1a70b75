/*-------------------------------------------------------------------------
 *
 * conf_file.h
 *		The one reader of "key = value" configuration files, used by the
 *		pg_safebackup --config files and by the repository server's file.
 *
 * The syntax:
 *
 *		# a comment (also "; a comment"), on a line of its own
 *		key = value					# a comment after a value
 *		key = "a value with  spaces kept, # too"	(or 'single quotes')
 *		[section]
 *
 * Keys and values are trimmed; a value in quotes is taken as it is between
 * them (no escapes).  In a value without quotes, '#' at its start or after
 * a space or tab starts a comment ("a#b" keeps its '#').  A line longer than
 * SB_CONF_LINE_MAX bytes, an unterminated quote, text after a closing
 * quote, a line that is none of the above: all are refused with the file
 * name and the line number, never split or skipped.
 *
 * Why not a library: Debian's inih (libinih) cuts lines at a compile-time
 * limit of 200 bytes (longer ones are split and read as more lines, which is
 * the bug this file replaces), treats ';' after a value as a comment and
 * keeps quotes; none of that can be changed without building it ourselves.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_CONF_FILE_H
#define SB_CONF_FILE_H

#include <stdio.h>

#include "sb_error.h"

/* Longest line, in bytes without its newline */
#define SB_CONF_LINE_MAX	4096

typedef struct SbConfLine
{
	const char *file;			/* as given to the parser */
	int			lineno;			/* from 1 */
	const char *section;		/* "" before the first [section] */
	const char *key;			/* NULL on a [section] line */
	const char *value;
} SbConfLine;

/*
 * Called for each "key = value" line, and (when given) for each [section]
 * line with key NULL.  Return SB_OK to go on; otherwise fill err (naming the
 * file and line, see sb_conf_error) and the parse stops with that status.
 */
typedef SbStatus (*SbConfFn) (const SbConfLine *line, void *arg, SbError *err);

/*
 * Read file path.  on_section NULL: a [section] line is refused.  Returns
 * SB_OK, SB_ERR_CONFIG (syntax, or what a callback returned), or the error
 * of opening or reading the file.
 */
extern SbStatus sb_conf_parse_file(const char *path, SbConfFn on_value,
								   SbConfFn on_section, void *arg,
								   SbError *err);
/* The same from an open stream; name is the file name for messages. */
extern SbStatus sb_conf_parse_stream(FILE *f, const char *name,
									 SbConfFn on_value, SbConfFn on_section,
									 void *arg, SbError *err);

/*
 * An unknown key: "unrecognized <what> "key" in file "F" line N", with a
 * hint naming the closest of the nnames known names, when one is close.
 */
extern SbStatus sb_conf_unknown_key(const SbConfLine *line, const char *what,
									const char *const *names, int nnames,
									SbError *err);

#endif							/* SB_CONF_FILE_H */
