/*-------------------------------------------------------------------------
 *
 * test_log.c
 *		Unit tests of the repository server's log lines: the journal's
 *		"<N>" priority prefix when standard error is the stream that
 *		JOURNAL_STREAM names (as under systemd), and the time-stamped
 *		form otherwise and in log_file.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../server/server.h"
#include "sb_test.h"

SB_TEST_DEFINE_COUNTERS;

static char dir[] = "/tmp/sb_test_log.XXXXXX";
static SrvConfig cfg;
static int	saved_stderr = -1;	/* the real standard error, for the results */

/* Point standard error at a new file PATH; set JOURNAL_STREAM to ITS dev:ino. */
static void
stderr_to(const char *path, const char *journal_of)
{
	struct stat st;
	char		env[64];

	fflush(stderr);
	if (saved_stderr < 0)
		saved_stderr = dup(STDERR_FILENO);
	if (freopen(path, "w", stderr) == NULL)
	{
		perror(path);
		exit(2);
	}
	setvbuf(stderr, NULL, _IONBF, 0);
	unsetenv("JOURNAL_STREAM");
	if (journal_of != NULL && stat(journal_of, &st) == 0)
	{
		snprintf(env, sizeof(env), "%llu:%llu",
				 (unsigned long long) st.st_dev, (unsigned long long) st.st_ino);
		setenv("JOURNAL_STREAM", env, 1);
	}
}

/* Standard error back to the real one (before checks print failures). */
static void
stderr_back(void)
{
	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	unsetenv("JOURNAL_STREAM");
}

/* Line LINENO (1-based) of PATH, without its newline, or "". */
static const char *
line_of(const char *path, int lineno)
{
	static char buf[512];
	FILE	   *f = fopen(path, "r");
	int			n = 0;

	buf[0] = '\0';
	if (f == NULL)
		return buf;
	while (fgets(buf, sizeof(buf), f) != NULL)
		if (++n == lineno)
			break;
	if (n != lineno)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static void
log_all_levels(void)
{
	srv_log(SRV_LOG_ERROR, "an error %d", 1);
	srv_log(SRV_LOG_WARNING, "a warning");
	srv_log(SRV_LOG_INFO, "some news");
	srv_log(SRV_LOG_DEBUG, "details");
}

/* Does LINE hold the journal prefix PRIO, our pid, LEVEL and TEXT? */
static int
journal_line(const char *line, int prio, const char *level, const char *text)
{
	char		want[256];

	snprintf(want, sizeof(want), "<%d>[%ld] %s: %s", prio, (long) getpid(),
			 level, text);
	return strcmp(line, want) == 0;
}

/* Does LINE look like "YYYY-MM-DD HH:MM:SS.mmm UTC [pid] LEVEL: TEXT"? */
static int
stamped_line(const char *line, const char *level, const char *text)
{
	char		tail[256];

	snprintf(tail, sizeof(tail), " UTC [%ld] %s: %s", (long) getpid(), level, text);
	return strlen(line) == 23 + strlen(tail) && line[4] == '-' &&
		line[10] == ' ' && line[19] == '.' && strcmp(line + 23, tail) == 0;
}

static void
test_journal_stream(void)
{
	char		path[300];
	char		errbuf[256];

	snprintf(path, sizeof(path), "%s/journal", dir);
	stderr_to(path, path);
	cfg.log_level = SRV_LOG_DEBUG;
	cfg.log_file[0] = '\0';
	SB_CHECK(srv_log_open(&cfg, errbuf, sizeof(errbuf)));
	log_all_levels();
	stderr_back();
	SB_CHECK_MSG(journal_line(line_of(path, 1), 3, "ERROR", "an error 1"), "%s\n", line_of(path, 1));
	SB_CHECK_MSG(journal_line(line_of(path, 2), 4, "WARNING", "a warning"), "%s\n", line_of(path, 2));
	SB_CHECK_MSG(journal_line(line_of(path, 3), 6, "INFO", "some news"), "%s\n", line_of(path, 3));
	SB_CHECK_MSG(journal_line(line_of(path, 4), 7, "DEBUG", "details"), "%s\n", line_of(path, 4));
}

/* JOURNAL_STREAM naming another file (stderr was redirected): no prefix */
static void
test_other_stream(void)
{
	char		path[300];
	char		other[300];

	snprintf(path, sizeof(path), "%s/plain", dir);
	snprintf(other, sizeof(other), "%s/journal", dir);
	stderr_to(path, other);
	log_all_levels();
	stderr_back();
	SB_CHECK_MSG(stamped_line(line_of(path, 1), "ERROR", "an error 1"), "%s\n", line_of(path, 1));
	SB_CHECK_MSG(stamped_line(line_of(path, 4), "DEBUG", "details"), "%s\n", line_of(path, 4));

	/* no JOURNAL_STREAM, or a malformed one */
	stderr_to(path, NULL);
	srv_log(SRV_LOG_WARNING, "a warning");
	setenv("JOURNAL_STREAM", "12:34:56", 1);
	srv_log(SRV_LOG_INFO, "some news");
	stderr_back();
	SB_CHECK_MSG(stamped_line(line_of(path, 1), "WARNING", "a warning"), "%s\n", line_of(path, 1));
	SB_CHECK_MSG(stamped_line(line_of(path, 2), "INFO", "some news"), "%s\n", line_of(path, 2));
}

/* log_file: time-stamped lines even when stderr is the journal */
static void
test_log_file(void)
{
	char		path[300];
	char		errbuf[256];

	snprintf(path, sizeof(path), "%s/journal2", dir);
	stderr_to(path, path);
	snprintf(cfg.log_file, sizeof(cfg.log_file), "%s/server.log", dir);
	cfg.log_level = SRV_LOG_INFO;
	SB_CHECK(srv_log_open(&cfg, errbuf, sizeof(errbuf)));
	log_all_levels();
	srv_log_close();
	stderr_back();
	SB_CHECK_MSG(stamped_line(line_of(cfg.log_file, 1), "ERROR", "an error 1"), "%s\n", line_of(cfg.log_file, 1));
	SB_CHECK_MSG(stamped_line(line_of(cfg.log_file, 3), "INFO", "some news"), "%s\n", line_of(cfg.log_file, 3));
	SB_CHECK(line_of(cfg.log_file, 4)[0] == '\0');	/* DEBUG filtered */
	SB_CHECK(line_of(path, 1)[0] == '\0');
}

int
main(void)
{
	char		cmd[128];
	int			rc;

	if (mkdtemp(dir) == NULL)
	{
		perror("mkdtemp");
		return 2;
	}
	test_journal_stream();
	test_other_stream();
	test_log_file();

	rc = sb_test_summary("test_log");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return rc;
}
