/*-------------------------------------------------------------------------
 *
 * auth.c
 *		The repository server's authorization map: which stanzas a client
 *		certificate's common name may use, and with which right.
 *
 * Common names are compared exactly (case-sensitive); a CN that is not in
 * the map may use nothing.  "*" in a rule stands for every stanza the rule
 * does not name; a stanza named in the rule takes its own right, whatever
 * "*" says.  The right is "append" unless ":admin" follows the stanza
 * (config.c): an append-only client can never replace or remove what is
 * committed, so a compromised database host cannot destroy its backups.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "server.h"
#include "../transport/tls_proto.h"

const SrvAuthRule *
srv_auth_find(const SrvConfig *cfg, const char *cn)
{
	for (int i = 0; i < cfg->nauth; i++)
		if (strcmp(cfg->auth[i].cn, cn) == 0)
			return &cfg->auth[i];
	return NULL;
}

SrvRight
srv_auth_right(const SrvAuthRule *rule, const char *stanza)
{
	SrvRight	weakest;

	if (rule == NULL)
		return SRV_RIGHT_NONE;
	if (stanza[0] == '\0')
	{
		/* no stanza named yet: the weakest right the rule grants */
		weakest = rule->all;
		for (int i = 0; i < rule->nstanzas; i++)
			if (weakest == SRV_RIGHT_NONE || rule->rights[i] < weakest)
				weakest = rule->rights[i];
		return weakest;
	}
	for (int i = 0; i < rule->nstanzas; i++)
		if (strcmp(rule->stanzas[i], stanza) == 0)
			return rule->rights[i];
	return rule->all;
}

bool
srv_auth_allows(const SrvAuthRule *rule, const char *stanza)
{
	return srv_auth_right(rule, stanza) != SRV_RIGHT_NONE;
}

const char *
srv_right_name(SrvRight right)
{
	switch (right)
	{
		case SRV_RIGHT_APPEND:
			return "append";
		case SRV_RIGHT_ADMIN:
			return "admin";
		case SRV_RIGHT_NONE:
			break;
	}
	return "none";
}

bool
srv_right_parse(const char *word, SrvRight *right)
{
	if (strcmp(word, "append") == 0)
		*right = SRV_RIGHT_APPEND;
	else if (strcmp(word, "admin") == 0)
		*right = SRV_RIGHT_ADMIN;
	else
		return false;
	return true;
}

bool
srv_auth_request_allowed(SrvRight right, uint8_t type, uint8_t flags,
						 const char *path, SbError *err)
{
	const char *what;

	if (right == SRV_RIGHT_ADMIN)
		return true;
	if (type == SB_TLS_REMOVE)
		what = "remove";
	else if (type == SB_TLS_WRITE_OPEN && (flags & SB_TLS_WFLAG_REPLACE))
		what = "replace";
	else
		return true;

	sb_error_set(err, SB_ERR_PERMISSION,
				 "permission denied to %s \"%s\": this client has the append right",
				 what, path);
	sb_error_detail(err, "A client with the append right may create, read and list files, but never replace or remove a committed one.");
	sb_error_hint(err, "Expire and rekey need the admin right (\"stanza:admin\" in the server's [auth] map), or run on the repository host; see \"Append-only repositories\" in the README.");
	return false;
}
