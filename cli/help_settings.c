/*-------------------------------------------------------------------------
 *
 * help_settings.c
 *		"pg_safebackup help settings [--markdown]": every setting of the
 *		tables in core/settings.h, as text or as the Markdown table that
 *		README.md holds (scripts/readme-settings.sh puts it there, and
 *		t/019_settings.pl checks that the README is in step).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "settings.h"

/* The default as the README shows it: `value`, or (empty) */
static void
doc_default(const SbSetting *s, char *buf, size_t len)
{
	char		text[256];

	if (s->doc_default != NULL)
	{
		snprintf(buf, len, "%s", s->doc_default);
		return;
	}
	sb_setting_default_text(s, text, sizeof(text));
	if (text[0] == '\0')
		snprintf(buf, len, "(empty)");
	else
		snprintf(buf, len, "`%s`", text);
}

static void
print_markdown(void)
{
	int			n = sb_settings_count();

	printf("| setting | default | meaning |\n");
	printf("|---|---|---|\n");
	for (int i = 0; i < n; i++)
	{
		const SbSetting *s = sb_setting_at(i, NULL);
		char		def[256];

		doc_default(s, def, sizeof(def));
		printf("| `safebackup.%s` | %s | %s |\n", s->name, def,
			   s->doc ? s->doc : s->short_desc);
	}
}

/*
 * One line per setting: its GUC name, its option (or "server only"), its
 * default and its description.
 */
static void
print_text(void)
{
	int			n = sb_settings_count();

	printf("Settings: safebackup.NAME in postgresql.conf; --NAME (with \"-\") on the\n"
		   "command line or NAME in a --config file, except the server's own.\n\n");
	for (int i = 0; i < n; i++)
	{
		const SbSetting *s = sb_setting_at(i, NULL);
		char		option[96];
		char		def[256];

		if (s->flags & SB_SETTING_SERVER)
			snprintf(option, sizeof(option), "(server only)");
		else
		{
			snprintf(option, sizeof(option), "--%s", s->name);
			for (char *c = option; *c; c++)
				if (*c == '_')
					*c = '-';
		}
		sb_setting_default_text(s, def, sizeof(def));
		printf("safebackup.%s\n    %s, default \"%s\"%s\n    %s\n", s->name,
			   option, def, (s->flags & SB_SETTING_SECRET) ? ", superusers only" : "",
			   s->short_desc);
	}
}

int
sb_cli_help_settings(int argc, char **argv)
{
	if (argc == 1 && strcmp(argv[0], "--markdown") == 0)
		print_markdown();
	else if (argc == 0)
		print_text();
	else
	{
		sb_cli_error("usage: %s help settings [--markdown]", progname);
		return SB_EXIT_USAGE;
	}
	return SB_EXIT_OK;
}
