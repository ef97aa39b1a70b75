/*-------------------------------------------------------------------------
 *
 * test_conf.c
 *		Unit tests of the configuration file reader (core/conf_file.h) that
 *		the CLI's --config files and the repository server share: comments,
 *		quoting, sections, syntax errors and over-long lines refused with the
 *		line number, unknown keys with the closest known one as a hint.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_file.h"
#include "sb_test.h"
#include "settings.h"

SB_TEST_DEFINE_COUNTERS;

/* What the callbacks saw, one "section|key=value" line each */
typedef struct Seen
{
	char		text[8192];
	int			fail_at;		/* the callback fails on this line (0: never) */
} Seen;

static SbStatus
on_value(const SbConfLine *l, void *arg, SbError *err)
{
	Seen	   *seen = arg;
	size_t		used = strlen(seen->text);

	if (l->lineno == seen->fail_at)
		return sb_error_set(err, SB_ERR_CONFIG, "refused at line %d", l->lineno);
	snprintf(seen->text + used, sizeof(seen->text) - used, "%s|%s=%s;",
			 l->section, l->key, l->value);
	return SB_OK;
}

static SbStatus
on_section(const SbConfLine *l, void *arg, SbError *err)
{
	Seen	   *seen = arg;
	size_t		used = strlen(seen->text);

	SB_CHECK(l->key == NULL);
	snprintf(seen->text + used, sizeof(seen->text) - used, "[%s];", l->section);
	return SB_OK;
}

/* Parse text as file "t.conf"; sections allowed when with_sections. */
static SbStatus
parse(const char *text, size_t len, bool with_sections, Seen *seen, SbError *err)
{
	FILE	   *f = fmemopen((void *) text, len, "r");
	SbStatus	rc;

	SB_CHECK(f != NULL);
	if (f == NULL)
		return SB_ERR_INTERNAL;
	sb_error_clear(err);
	rc = sb_conf_parse_stream(f, "t.conf", on_value,
							  with_sections ? on_section : NULL, seen, err);
	fclose(f);
	return rc;
}

#define PARSE(text, sections, seen, err) \
	parse((text), strlen(text), (sections), (seen), (err))

static void
test_comments_and_spaces(void)
{
	Seen		seen = {{0}, 0};
	SbError		err;

	SB_CHECK(PARSE("# a comment\n"
				   "; another\n"
				   "\n"
				   "   \t\n"
				   "  repo_path   =   /srv/repo  \n"
				   "stanza=main\r\n"
				   "empty =\n"
				   "last = no newline", false, &seen, &err) == SB_OK);
	SB_CHECK_MSG(strcmp(seen.text, "|repo_path=/srv/repo;|stanza=main;|empty=;|last=no newline;") == 0,
				 "%s", seen.text);
}

static void
test_quoting(void)
{
	Seen		seen = {{0}, 0};
	SbError		err;

	SB_CHECK(PARSE("a = 'single quoted'\n"
				   "b = \"  spaces kept  \"\n"
				   "c = ''\n"
				   "d = value   # a comment\n"
				   "e = \"it's # no comment\"  # a comment\n"
				   "f = x=y\n"
				   "g = a#b\n"
				   "h = #\n", false, &seen, &err) == SB_OK);
	SB_CHECK_MSG(strcmp(seen.text, "|a=single quoted;|b=  spaces kept  ;|c=;"
						"|d=value;|e=it's # no comment;|f=x=y;|g=a#b;|h=;") == 0,
				 "%s", seen.text);

	/* an unterminated quote is refused, not kept as part of the value */
	memset(&seen, 0, sizeof(seen));
	SB_CHECK(PARSE("a = 1\nb = 'open\n", false, &seen, &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strcmp(err.msg, "unterminated quoted value in file \"t.conf\" line 2") == 0,
				 "%s", err.msg);
	SB_CHECK(PARSE("b = \"\n", false, &seen, &err) == SB_ERR_CONFIG);
	SB_CHECK(PARSE("b = 'mixed\"\n", false, &seen, &err) == SB_ERR_CONFIG);
	SB_CHECK(PARSE("b = 'one' two\n", false, &seen, &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strcmp(err.msg, "syntax error in file \"t.conf\" line 1: expected a comment or nothing after the quoted value") == 0,
				 "%s", err.msg);
}

static void
test_sections(void)
{
	Seen		seen = {{0}, 0};
	SbError		err;

	SB_CHECK(PARSE("port = 1\n[auth]\npg1 = main\n  [ retention ]  \n* = 2\n",
				   true, &seen, &err) == SB_OK);
	SB_CHECK_MSG(strcmp(seen.text, "|port=1;[auth];auth|pg1=main;[retention];retention|*=2;") == 0,
				 "%s", seen.text);

	/* the CLI's files have no sections */
	SB_CHECK(PARSE("a = 1\n[auth]\n", false, &seen, &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strcmp(err.msg, "unexpected section [auth] in file \"t.conf\" line 2") == 0,
				 "%s", err.msg);

	/* malformed headers */
	SB_CHECK(PARSE("[auth\n", true, &seen, &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strcmp(err.msg, "syntax error in file \"t.conf\" line 1: expected \"[section]\"") == 0,
				 "%s", err.msg);
	SB_CHECK(PARSE("[]\n", true, &seen, &err) == SB_ERR_CONFIG);
	SB_CHECK(PARSE("[a b]\n", true, &seen, &err) == SB_ERR_CONFIG);
}

static void
test_syntax_errors(void)
{
	Seen		seen = {{0}, 0};
	SbError		err;
	static const char nul[] = "a = 1\nb = x\0y\n";

	SB_CHECK(PARSE("a = 1\n\n# c\njust words\n", false, &seen, &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strcmp(err.msg, "syntax error in file \"t.conf\" line 4: expected \"name = value\"") == 0,
				 "%s", err.msg);
	SB_CHECK(PARSE(" = value\n", false, &seen, &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strstr(err.msg, "line 1: expected a name before \"=\"") != NULL, "%s", err.msg);

	/* a NUL byte would end the value silently: refused */
	SB_CHECK(parse(nul, sizeof(nul) - 1, false, &seen, &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strcmp(err.msg, "invalid NUL byte in file \"t.conf\" line 2") == 0,
				 "%s", err.msg);

	/* a callback's refusal stops the parse with its message */
	memset(&seen, 0, sizeof(seen));
	seen.fail_at = 2;
	SB_CHECK(PARSE("a = 1\nb = 2\nc = 3\n", false, &seen, &err) == SB_ERR_CONFIG);
	SB_CHECK(strcmp(err.msg, "refused at line 2") == 0);
	SB_CHECK_MSG(strcmp(seen.text, "|a=1;") == 0, "%s", seen.text);
}

/*
 * A line over SB_CONF_LINE_MAX bytes is refused with its number; it is
 * never split into two lines (the old readers read the rest as a new line).
 */
static void
test_long_lines(void)
{
	size_t		len = SB_CONF_LINE_MAX + 64;
	char	   *text = malloc(3 * len);
	Seen		seen = {{0}, 0};
	SbError		err;
	char	   *p;

	SB_REQUIRE(text != NULL);

	/* exactly the limit: accepted, the value whole */
	p = text + sprintf(text, "a = 1\nk = ");
	memset(p, 'v', SB_CONF_LINE_MAX - 4);
	p += SB_CONF_LINE_MAX - 4;
	strcpy(p, "\n");
	SB_CHECK(PARSE(text, false, &seen, &err) == SB_OK);
	SB_CHECK(strlen(seen.text) == strlen("|a=1;|k=;") + SB_CONF_LINE_MAX - 4);

	/* one byte more: refused with the line number and the lengths */
	memset(&seen, 0, sizeof(seen));
	p = text + sprintf(text, "a = 1\n# two\nk = ");
	memset(p, 'v', SB_CONF_LINE_MAX - 3);
	p += SB_CONF_LINE_MAX - 3;
	strcpy(p, "\nrepo_path = /tail\n");
	SB_CHECK(PARSE(text, false, &seen, &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strcmp(err.msg, "line 3 of file \"t.conf\" is too long") == 0, "%s", err.msg);
	SB_CHECK_MSG(strstr(err.detail, "The line is 4097 bytes long; the limit is 4096 bytes.") != NULL,
				 "%s", err.detail);
	/* nothing of it, nor after it, reached the callback */
	SB_CHECK_MSG(strcmp(seen.text, "|a=1;") == 0, "%s", seen.text);

	/* a long comment is no exception */
	text[0] = '#';
	memset(text + 1, 'c', len);
	strcpy(text + 1 + len, "\n");
	SB_CHECK(PARSE(text, false, &seen, &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strcmp(err.msg, "line 1 of file \"t.conf\" is too long") == 0, "%s", err.msg);
	free(text);
}

static void
test_unknown_key(void)
{
	static const char *const names[] = {"repo_path", "sftp_host", "sftp_port", "stanza"};
	SbConfLine	l = {"t.conf", 7, "", "sftp_hots", "x"};
	SbError		err;

	sb_error_clear(&err);
	SB_CHECK(sb_conf_unknown_key(&l, "option", names, 4, &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strcmp(err.msg, "unrecognized option \"sftp_hots\" in file \"t.conf\" line 7") == 0,
				 "%s", err.msg);
	SB_CHECK_MSG(strcmp(err.hint, "Perhaps you meant \"sftp_host\".") == 0, "%s", err.hint);

	/* nothing close: no hint */
	l.key = "compression";
	sb_error_clear(&err);
	SB_CHECK(sb_conf_unknown_key(&l, "option", names, 4, &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(err.hint[0] == '\0', "%s", err.hint);
	SB_CHECK(sb_closest_name("stanz", names, 4) != NULL &&
			 strcmp(sb_closest_name("stanz", names, 4), "stanza") == 0);
	SB_CHECK(sb_closest_name("repopath", names, 4) != NULL);
	SB_CHECK(sb_closest_name("x", names, 4) == NULL);
}

/* A file that cannot be opened: its name and the reason. */
static void
test_missing_file(void)
{
	Seen		seen = {{0}, 0};
	SbError		err;

	sb_error_clear(&err);
	SB_CHECK(sb_conf_parse_file("/nonexistent/x.conf", on_value, NULL, &seen, &err) == SB_ERR_CONFIG);
	SB_CHECK_MSG(strstr(err.msg, "could not open configuration file \"/nonexistent/x.conf\"") != NULL,
				 "%s", err.msg);
}

int
main(void)
{
	test_comments_and_spaces();
	test_quoting();
	test_sections();
	test_syntax_errors();
	test_long_lines();
	test_unknown_key();
	test_missing_file();
	return sb_test_summary("test_conf");
}
