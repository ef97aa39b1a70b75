/*-------------------------------------------------------------------------
 *
 * log.c
 *		Logging of the repository server: one line per event, with time,
 *		process id and level, to standard error (the journal under systemd)
 *		or appended to log_file.
 *
 * When standard error is the journal's stream (systemd sets JOURNAL_STREAM
 * to its "device:inode"), each line starts with the syslog priority in
 * angle brackets ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug),
 * which journald takes as the line's priority and strips, and without the
 * time, which the journal records itself.  The process id stays: forked
 * connection processes write to the same stream as the listener.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

static FILE *log_out = NULL;
static SrvLogLevel log_level = SRV_LOG_INFO;

static const char *const level_names[] = {"ERROR", "WARNING", "INFO", "DEBUG"};
/* syslog priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static const int level_priorities[] = {3, 4, 6, 7};

/* Is standard error the journal stream that JOURNAL_STREAM names? */
static bool
stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev,
				ino;
	char		rest;
	struct stat st;

	if (env == NULL ||
		sscanf(env, "%llu:%llu%c", &dev, &ino, &rest) != 2 ||
		fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long) st.st_dev == dev &&
		(unsigned long long) st.st_ino == ino;
}

/* Switch to the configuration's destination; on failure keep the old one. */
bool
srv_log_open(const SrvConfig *cfg, char *errbuf, size_t errlen)
{
	FILE	   *f = stderr;

	if (cfg->log_file[0] != '\0' && strcmp(cfg->log_file, "stderr") != 0)
	{
		f = fopen(cfg->log_file, "a");
		if (f == NULL)
		{
			snprintf(errbuf, errlen, "could not open log file \"%s\": %s",
					 cfg->log_file, strerror(errno));
			return false;
		}
		setvbuf(f, NULL, _IOLBF, 0);
	}
	if (log_out != NULL && log_out != stderr && log_out != f)
		fclose(log_out);
	log_out = f;
	log_level = cfg->log_level;
	return true;
}

void
srv_log(SrvLogLevel level, const char *fmt,...)
{
	va_list		ap;
	struct timeval tv;
	struct tm	tm;
	char		ts[64];
	FILE	   *out = log_out ? log_out : stderr;

	if (level > log_level)
		return;
	if (out == stderr && stderr_is_journal())
		fprintf(out, "<%d>[%ld] %s: ", level_priorities[level],
				(long) getpid(), level_names[level]);
	else
	{
		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(out, "%s.%03d UTC [%ld] %s: ", ts, (int) (tv.tv_usec / 1000),
				(long) getpid(), level_names[level]);
	}
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
}

/* The descriptor log lines go to (kept open by detached processes). */
int
srv_log_fd(void)
{
	return fileno(log_out ? log_out : stderr);
}

/* Close log_file (at exit); later messages go to standard error. */
void
srv_log_close(void)
{
	if (log_out != NULL && log_out != stderr)
		fclose(log_out);
	log_out = NULL;
}
