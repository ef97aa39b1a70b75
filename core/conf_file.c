/*-------------------------------------------------------------------------
 *
 * conf_file.c
 *		Reading "key = value" configuration files with [sections]; see
 *		core/conf_file.h.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "conf_file.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

static char *
trim(char *s)
{
	char	   *e;

	while (isspace((unsigned char) *s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char) e[-1]))
		*--e = '\0';
	return s;
}

static SbStatus
syntax_error(const SbConfLine *l, const char *expected, SbError *err)
{
	return sb_error_set(err, SB_ERR_CONFIG,
						"syntax error in file \"%s\" line %d: expected %s",
						l->file, l->lineno, expected);
}

/* "[name]": the section name, or NULL when the line is not one. */
static char *
section_name(char *p)
{
	size_t		len = strlen(p);
	char	   *name;

	if (len < 3 || p[len - 1] != ']')
		return NULL;
	p[len - 1] = '\0';
	name = trim(p + 1);
	if (*name == '\0')
		return NULL;
	for (char *c = name; *c; c++)
		if (!isalnum((unsigned char) *c) && *c != '_' && *c != '-' && *c != '.')
			return NULL;
	return name;
}

/* One line (trimmed, not a comment): a section or a key = value. */
static SbStatus
parse_line(char *p, SbConfLine *l, char *section, size_t section_size,
		   SbConfFn on_value, SbConfFn on_section, void *arg, SbError *err)
{
	char	   *eq;
	char	   *value;

	if (*p == '[')
	{
		char	   *name = section_name(p);

		if (name == NULL)
			return syntax_error(l, "\"[section]\"", err);
		if (on_section == NULL)
			return sb_error_set(err, SB_ERR_CONFIG,
								"unexpected section [%s] in file \"%s\" line %d",
								name, l->file, l->lineno);
		snprintf(section, section_size, "%s", name);	/* fits: a line */
		l->key = NULL;
		l->value = NULL;
		return on_section(l, arg, err);
	}

	eq = strchr(p, '=');
	if (eq == NULL)
		return syntax_error(l, "\"name = value\"", err);
	*eq = '\0';
	l->key = trim(p);
	if (*l->key == '\0')
		return syntax_error(l, "a name before \"=\"", err);
	value = trim(eq + 1);
	if (value[0] == '\'' || value[0] == '"')
	{
		char	   *close = strchr(value + 1, value[0]);
		char	   *rest;

		if (close == NULL)
			return sb_error_set(err, SB_ERR_CONFIG,
								"unterminated quoted value in file \"%s\" line %d",
								l->file, l->lineno);
		*close = '\0';
		rest = trim(close + 1);
		if (*rest != '\0' && *rest != '#')
			return syntax_error(l, "a comment or nothing after the quoted value", err);
		value++;
	}
	else
	{
		/* '#' at the start of the value or after a space starts a comment */
		for (char *c = value; *c; c++)
			if (*c == '#' && (c == value || isspace((unsigned char) c[-1])))
			{
				*c = '\0';
				value = trim(value);
				break;
			}
	}
	l->value = value;
	return on_value(l, arg, err);
}

SbStatus
sb_conf_parse_stream(FILE *f, const char *name, SbConfFn on_value,
					 SbConfFn on_section, void *arg, SbError *err)
{
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;
	char	   *section;
	SbConfLine	l;
	SbStatus	rc = SB_OK;

	section = calloc(1, SB_CONF_LINE_MAX + 1);
	if (section == NULL)
		return sb_error_oom(err);
	memset(&l, 0, sizeof(l));
	l.file = name;
	l.section = section;

	while (rc == SB_OK && (len = getline(&line, &cap, f)) >= 0)
	{
		char	   *p;
		size_t		content = (size_t) len;

		l.lineno++;
		if (content > 0 && line[content - 1] == '\n')
			content--;
		if (content > SB_CONF_LINE_MAX)
		{
			sb_error_set(err, SB_ERR_CONFIG, "line %d of file \"%s\" is too long",
						 l.lineno, name);
			sb_error_detail(err, "The line is %zu bytes long; the limit is %d bytes.",
							content, SB_CONF_LINE_MAX);
			rc = SB_ERR_CONFIG;
			break;
		}
		if (strlen(line) != (size_t) len)
		{
			rc = sb_error_set(err, SB_ERR_CONFIG,
							  "invalid NUL byte in file \"%s\" line %d",
							  name, l.lineno);
			break;
		}
		p = trim(line);
		if (*p == '\0' || *p == '#' || *p == ';')
			continue;
		rc = parse_line(p, &l, section, SB_CONF_LINE_MAX + 1, on_value,
						on_section, arg, err);
	}
	if (rc == SB_OK && ferror(f))
		rc = sb_error_errno(err, errno, "could not read file \"%s\"", name);
	free(line);
	free(section);
	return rc;
}

SbStatus
sb_conf_parse_file(const char *path, SbConfFn on_value, SbConfFn on_section,
				   void *arg, SbError *err)
{
	FILE	   *f = fopen(path, "r");
	SbStatus	rc;

	if (f == NULL)
	{
		sb_error_errno(err, errno, "could not open configuration file \"%s\"",
					   path);
		err->status = SB_ERR_CONFIG;
		return SB_ERR_CONFIG;
	}
	rc = sb_conf_parse_stream(f, path, on_value, on_section, arg, err);
	fclose(f);
	return rc;
}

SbStatus
sb_conf_unknown_key(const SbConfLine *line, const char *what,
					const char *const *names, int nnames, SbError *err)
{
	const char *close = sb_closest_name(line->key, names, nnames);

	sb_error_set(err, SB_ERR_CONFIG, "unrecognized %s \"%s\" in file \"%s\" line %d",
				 what, line->key, line->file, line->lineno);
	if (close != NULL)
		sb_error_hint(err, "Perhaps you meant \"%s\".", close);
	return SB_ERR_CONFIG;
}
