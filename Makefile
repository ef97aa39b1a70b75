# Makefile for pg_safebackup (PGXS)
#
#   make && make install        build and install the extension and the CLI
#   make check-unit             build and run the shared core's unit tests
#   make check-asan             the same and the TLS server test, with ASan/UBSan
#   make installcheck           pg_regress and TAP tests (needs make install)
#
# PG_CONFIG may be overridden: make PG_CONFIG=/usr/lib/postgresql/18/bin/pg_config

MODULE_big = pg_safebackup
EXTENSION = pg_safebackup
DATA = pg_safebackup--1.0.sql pg_safebackup--1.1.sql pg_safebackup--1.0--1.1.sql \
	pg_safebackup--1.1--1.2.sql pg_safebackup--1.2--1.3.sql
PGFILEDESC = "pg_safebackup - in-process WAL archiving and base backups"

# shared core: linked into the server module, the CLI and the unit tests
CORE_OBJS = \
	core/cluster.o core/crc32c.o core/wal_changes.o core/wal_changes_set.o core/wal_decode.o core/wal_record.o core/wal_changes_query.o \
	core/sb_error.o core/sb_thread.o core/sb_large_alloc.o core/sb_config.o core/settings.o core/settings_general.o core/conf_file.o \
	core/codec.o core/info_file.o \
	core/filter_digest.o core/filter_sink.o core/filter_direct_sink.o core/block_sum.o core/filter_async.o core/read_direct.o core/aio_ring.o \
	core/copy_cost.o core/file_io.o \
	core/filter_compress.o core/filter_stream.o core/filter_zlib.o core/filter_lz4.o core/filter_zstd.o \
	core/seek_table.o core/codec_range.o \
	core/stanza.o core/wal.o core/manifest.o core/manifest_render.o core/manifest_layers.o core/sum_store.o core/backup_chain.o core/repo_info.o \
	core/cipher.o core/filter_cipher.o core/secret_file.o \
	core/restore.o core/restore_target.o core/restore_choose.o core/restore_fs.o \
	core/restore_write.o core/restore_recovery.o core/restore_parallel.o core/restore_parts.o core/restore_prefetch.o core/restore_delta.o \
	core/restore_blocks.o core/restore_layers.o core/restore_delta_wal.o core/restore_delta_blocks.o core/restore_wal_source.o \
	core/cron.o core/backup_schedule.o core/name_list.o core/temp_file.o core/temp_leftovers.o core/fs_sync.o \
	core/wal_timeline.o core/expire.o core/verify.o core/verify_wal.o \
	transport/storage.o transport/drivers.o transport/posix.o \
	transport/sftp.o transport/sftp_settings.o transport/tls_settings.o transport/sftp_hostkey.o transport/sftp_known_hosts.o \
	transport/sftp_wait.o transport/sftp_config.o transport/sftp_session.o \
	transport/sftp_handles.o transport/sftp_write.o transport/sftp_read.o \
	transport/sftp_dirs.o \
	transport/tls_proto.o transport/tls_policy.o transport/tls.o transport/net.o \
	transport/s3.o transport/s3_settings.o transport/s3_request.o transport/s3_write.o \
	transport/s3_read.o transport/s3_names.o transport/s3_http.o transport/s3_xml.o transport/s3_config.o \
	transport/s3_instance.o transport/s3_curl.o

# server-side glue
OBJS = \
	pg_safebackup.o backend/compat.o backend/compat_summary.o backend/guc.o backend/report.o \
	backend/shmem.o backend/archive.o backend/status.o backend/backup_sql.o \
	backend/storage_wait.o backend/wal_session.o backend/push_table.o \
	backend/push_status.o backend/guc_backup.o \
	backend/schedule.o backend/wal_gaps.o \
	backend/expire_sql.o backend/verify_sql.o \
	backend/archive_lag.o backend/repo_sql.o backend/repo_behind.o backend/repo_behind_sql.o \
	worker/worker_start.o worker/launcher.o worker/lag_warning.o worker/backup.o worker/backup_walk.o worker/wal_push.o worker/wal_catchup.o \
	worker/backup_copy.o worker/backup_order.o worker/backup_sums.o worker/backup_reuse.o worker/backup_wal.o worker/page_verify.o \
	worker/block_map.o \
	$(CORE_OBJS)

# on x86-64 the server's page checksum is built a second time, for AVX2
# (worker/page_checksum_avx2.c; worker/page_verify.c picks it at run time)
ifneq (,$(filter x86_64-%,$(shell $(CC) -dumpmachine)))
OBJS += worker/page_checksum_avx2.o
worker/page_checksum_avx2.o: override CFLAGS += -mavx2 $(CFLAGS_UNROLL_LOOPS) $(CFLAGS_VECTORIZE)
endif

CLI_OBJS = cli/main.o cli/options.o cli/cmd_archive.o cli/cmd_restore.o cli/cmd_info.o \
	cli/json.o cli/cmd_expire.o cli/cmd_verify.o \
	cli/cmd_rekey.o cli/cmd_server.o cli/help.o cli/help_settings.o cli/cmd_setup.o \
	cli/cmd_setup_sftp.o cli/cmd_setup_tls.o cli/cmd_wal_changes.o $(SERVER_OBJS)
# the repository server, run by "pg_safebackup server"
SERVER_OBJS = server/config.o server/auth.o server/peer_cn.o server/log.o server/tls_ctx.o \
	server/listen.o server/pool.o server/conn.o server/server.o server/retention.o \
	server/notify.o
CLI_PROGRAM = cli/pg_safebackup

UNIT_TESTS = tests/unit/test_storage tests/unit/test_codec tests/unit/test_repo \
	tests/unit/test_manifest tests/unit/test_restore \
	tests/unit/test_expire tests/unit/test_verify tests/unit/test_cron \
	tests/unit/test_cipher tests/unit/test_net tests/unit/test_known_hosts \
	tests/unit/test_error tests/unit/test_log tests/unit/test_conf tests/unit/test_settings \
	tests/unit/test_s3_faults tests/unit/test_wal_changes tests/unit/test_wal_source

# no -lcurl: the S3 driver loads libcurl when first used (transport/s3_curl.h);
# no -lsystemd: the repository server loads it to notify systemd (server/notify.c)
LIBS_CORE = -lssh2 -ljson-c -lssl -lcrypto -lz -llz4 -lzstd -lxxhash -luring
LIBS_CLI = $(LIBS_CORE)
SHLIB_LINK = $(LIBS_CORE)
PG_CPPFLAGS = -I$(srcdir)/core -I$(srcdir)/transport -I$(srcdir)/tests/unit
PG_CFLAGS = $(PG_CFLAGS_EXTRA) -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wno-sign-compare -Wno-cast-function-type

REGRESS = guc guc_limits guc_tls guc_s3 status report backup expire_verify archive privileges schedule views
REGRESS_OPTS = --temp-instance=./tmp_check --temp-config=$(srcdir)/tests/regress.conf
TAP_TESTS = 1

EXTRA_CLEAN = $(CLI_PROGRAM) $(CLI_OBJS) $(UNIT_TESTS) tests/unit/*.o tests/unit/test_tls \
	tests/unit/test_s3 tests/unit/test_sftp \
	tests/fuzz/fuzz_request tests/fuzz/work $(ASAN_DIR) bench/codec_speed bench/wal_changes_speed bench/*.o \
	*.d */*.d tests/unit/*.d \
	tmp_check results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# the TAP tests' shared helpers (tests/perl/SbTest.pm): on prove's include
# path (PGXS sets PG_PROVE_FLAGS; PROVE_FLAGS stays free for --verbose etc.)
PG_PROVE_FLAGS += -I $(abspath $(srcdir))/tests/perl

all: $(CLI_PROGRAM)

# rebuild objects when a header they include changes (in CFLAGS, not
# CPPFLAGS: the bitcode rule would write the same .d files for the .bc)
override CFLAGS += -MMD -MP
-include $(wildcard *.d */*.d tests/unit/*.d)

$(CLI_PROGRAM): $(CLI_OBJS) $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CLI) -o $@

install: install-cli
install-cli: $(CLI_PROGRAM)
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(CLI_PROGRAM) '$(DESTDIR)$(bindir)/pg_safebackup'

uninstall: uninstall-cli
uninstall-cli:
	rm -f '$(DESTDIR)$(bindir)/pg_safebackup'

# unit tests of the shared core: no server needed
UNIT_COMMON = tests/unit/storage_suite.o $(CORE_OBJS)
tests/unit/test_storage: tests/unit/test_storage.o $(UNIT_COMMON)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
tests/unit/test_codec: tests/unit/test_codec.o tests/unit/mem_storage.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
tests/unit/test_repo: tests/unit/test_repo.o tests/unit/test_files.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
tests/unit/test_manifest: tests/unit/test_manifest.o tests/unit/test_files.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
tests/unit/test_restore: tests/unit/test_restore.o tests/unit/test_files.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
tests/unit/test_cron: tests/unit/test_cron.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
tests/unit/test_expire: tests/unit/test_expire.o tests/unit/fake_repo.o tests/unit/test_files.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
tests/unit/test_verify: tests/unit/test_verify.o tests/unit/fake_repo.o tests/unit/test_files.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
tests/unit/test_cipher: tests/unit/test_cipher.o tests/unit/test_files.o tests/unit/mem_storage.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
tests/unit/test_known_hosts: tests/unit/test_known_hosts.o tests/unit/test_files.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
tests/unit/test_net: tests/unit/test_net.o tests/unit/test_files.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
tests/unit/test_error: tests/unit/test_error.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
tests/unit/test_conf: tests/unit/test_conf.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
tests/unit/test_settings: tests/unit/test_settings.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
tests/unit/test_log: tests/unit/test_log.o server/log.o
	$(CC) $(CFLAGS) $^ $(LDFLAGS) -o $@
# starts cli/pg_safebackup server with a throwaway CA (openssl command)
tests/unit/test_tls: tests/unit/test_tls.o $(UNIT_COMMON) | $(CLI_PROGRAM)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
# needs a running gateway: see scripts/rgw-start.sh
# (the test itself calls libcurl, to look at the gateway without the driver)
tests/unit/test_s3: tests/unit/test_s3.o tests/unit/fake_imds.o $(UNIT_COMMON)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -lcurl -o $@
# WAL built by a test-only writer, pg_control fixtures of 15, 17 and 18
tests/unit/test_wal_changes: tests/unit/test_wal_changes.o tests/unit/wal_writer.o tests/unit/wal_list_text.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
# the delta restore's WAL reader over a posix repository, WAL by the test writer
tests/unit/test_wal_source: tests/unit/test_wal_source.o tests/unit/wal_writer.o tests/unit/wal_list_text.o tests/unit/fake_repo.o tests/unit/test_files.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
# its own HTTPS server thread with faults (needs the openssl command)
tests/unit/test_s3_faults: tests/unit/test_s3_faults.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
# needs a running sshd: see tests/sftp/sshd-harness.sh
tests/unit/test_sftp: tests/unit/test_sftp.o $(UNIT_COMMON)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@


# speed and ratio of each compression type on real files (README, "Compression")
bench/codec_speed: bench/codec_speed.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@
# decode speed of the WAL a delta restore reads (core/wal_changes.c)
bench/wal_changes_speed: bench/wal_changes_speed.o $(CORE_OBJS)
	$(CC) $(CFLAGS) $^ $(LDFLAGS) $(LIBS_CORE) -o $@

# libFuzzer target for the server's request parser (clang, libclang-rt-14-dev):
#   make fuzz FUZZ_SECONDS=30
FUZZ_SECONDS ?= 30
FUZZ_CC ?= clang
# the whole shared core, built with the sanitizers
FUZZ_SRCS = tests/fuzz/fuzz_request.c $(CORE_OBJS:.o=.c)
tests/fuzz/fuzz_request: $(FUZZ_SRCS) transport/tls_proto.h
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-D_GNU_SOURCE -I$(srcdir)/core -I$(srcdir)/transport $(FUZZ_SRCS) $(LIBS_CORE) -o $@
fuzz: tests/fuzz/fuzz_request
	@mkdir -p tests/fuzz/work
	./tests/fuzz/fuzz_request -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-print_final_stats=1 tests/fuzz/work tests/fuzz/corpus

.PHONY: check-unit check-tls fuzz install-cli uninstall-cli
# the TLS driver against a real "pg_safebackup server" (needs the openssl command)
check-tls: tests/unit/test_tls $(CLI_PROGRAM)
	./tests/unit/test_tls

check-unit: $(UNIT_TESTS)
	@rc=0; for t in $(UNIT_TESTS); do ./$$t || rc=1; done; exit $$rc

# The unit tests, the CLI and the TLS server test built with AddressSanitizer
# (leak checks on) and UndefinedBehaviorSanitizer, into their own directory so
# that they never mix with the normal objects:   make check-asan
ASAN_DIR = asan-build
ASAN_CC ?= $(CC)
ASAN_CFLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all -D_GNU_SOURCE \
	-I$(srcdir)/core -I$(srcdir)/transport -I$(srcdir)/tests/unit
ASAN_SUPPORT = tests/unit/storage_suite.o tests/unit/mem_storage.o \
	tests/unit/test_files.o tests/unit/fake_repo.o tests/unit/wal_writer.o \
	tests/unit/wal_list_text.o
ASAN_TESTS = $(addprefix $(ASAN_DIR)/,$(UNIT_TESTS) tests/unit/test_tls)
ASAN_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	SB_TEST_CLI=$(ASAN_DIR)/cli/pg_safebackup

$(ASAN_DIR)/%.o: %.c
	@mkdir -p $(@D)
	$(ASAN_CC) $(ASAN_CFLAGS) -MMD -MP -c $< -o $@
-include $(wildcard $(ASAN_DIR)/*/*.d $(ASAN_DIR)/tests/unit/*.d)

$(ASAN_DIR)/cli/pg_safebackup: $(addprefix $(ASAN_DIR)/,$(CLI_OBJS) $(CORE_OBJS))
	$(ASAN_CC) $(ASAN_CFLAGS) $^ $(LIBS_CLI) -o $@
# every test links the same helpers; the linker keeps what it needs
$(ASAN_TESTS): $(ASAN_DIR)/%: $(ASAN_DIR)/%.o \
		$(addprefix $(ASAN_DIR)/,$(ASAN_SUPPORT) $(CORE_OBJS))
	$(ASAN_CC) $(ASAN_CFLAGS) $^ $(LIBS_CORE) -o $@

$(ASAN_DIR)/tests/unit/test_log: $(ASAN_DIR)/server/log.o

check-asan: $(ASAN_TESTS) $(ASAN_DIR)/cli/pg_safebackup
	@rc=0; for t in $(ASAN_TESTS); do $(ASAN_ENV) ./$$t || rc=1; done; exit $$rc
.PHONY: check-asan
