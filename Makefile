# wastore and its companion wastore_proxy: PGXS build.
#
# The version comes from wastore.control (its one source).  The 1.0 install
# script is assembled from the fragments in sql/1.0/, one per concern, in
# file-name order; it is released and never edited again.  Later versions
# are wastore--A--B.sql upgrade scripts beside it: CREATE EXTENSION installs
# 1.0 and runs them in turn, so a fresh install and an upgraded one are the
# same by construction.

EXTENSION = wastore wastore_proxy

MODULE_big = wastore
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

DATA_built = sql/wastore--1.0.sql sql/wastore_proxy--1.2.sql
DATA = $(wildcard sql/wastore--*--*.sql)

# libcrypto: SHA-256/HMAC for the LTHash core (PostgreSQL itself links it).
SHLIB_LINK += -lcrypto

# -Wextra on top of PostgreSQL's own warning set.  Unused parameters and
# partially initialised structs are idioms of the server's headers and macros
# (PG_FUNCTION_ARGS, designated initialisers), so those two stay quiet.
PG_CFLAGS += -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	$(WASTORE_CFLAGS)

EXTRA_CLEAN = $(DATA_built)

# The isolation specs, for `make installcheck` (defined below instead of
# PGXS's, which knows pg_regress suites but not pgTAP).
ISOLATION = $(basename $(notdir $(wildcard test/isolation/specs/*.spec)))
NO_INSTALLCHECK = 1

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/wastore--1.0.sql: $(sort $(wildcard sql/1.0/*.sql))
	cat $^ > $@

# wastore_proxy (the proxy database's companion, README "Scale-out"): the
# hand-written parts of sql/proxy/ and the routed functions generated from
# the one list of them, sql/proxy/routed.list.
sql/wastore_proxy--1.2.sql: $(sort $(wildcard sql/proxy/*.sql)) sql/proxy/routed.list sql/proxy/generate.awk
	{ cat $(sort $(wildcard sql/proxy/*.sql)) && awk -f sql/proxy/generate.awk sql/proxy/routed.list; } > $@.tmp
	mv $@.tmp $@

# make installcheck: the pgTAP files and the isolation specs against the
# running server the usual PG* variables choose (PGHOST, PGPORT, PGUSER: a
# superuser), in which wastore (make install) and pgTAP are installed.  It
# installs nothing and starts no server: scripts/test.sh is the
# one-command path that does both.  Each suite runs in a database of its
# own, created here and dropped afterwards, whatever the outcome.
INSTALLCHECK_DB = wastore_installcheck
installcheck_psql = '$(bindir)/psql' -X -q -v ON_ERROR_STOP=1 -c 'SET client_min_messages = warning'

.PHONY: installcheck
installcheck:
	@$(installcheck_psql) -d postgres -c 'DROP DATABASE IF EXISTS $(INSTALLCHECK_DB)' \
		-c 'DROP DATABASE IF EXISTS $(INSTALLCHECK_DB)_isolation' \
		-c 'CREATE DATABASE $(INSTALLCHECK_DB)' -c 'CREATE DATABASE $(INSTALLCHECK_DB)_isolation'
	@rc=0; \
	if $(installcheck_psql) -d $(INSTALLCHECK_DB) -c 'CREATE EXTENSION wastore' -c 'CREATE EXTENSION pgtap' && \
	   $(installcheck_psql) -d $(INSTALLCHECK_DB)_isolation -c 'CREATE EXTENSION wastore'; then \
		pg_prove -b '$(bindir)/psql' -d $(INSTALLCHECK_DB) --set readme='$(CURDIR)/README.md' test/pgtap/*.sql || rc=1; \
		$(top_builddir)/src/test/isolation/pg_isolation_regress --use-existing \
			--inputdir=test/isolation --outputdir=output_iso --bindir='$(bindir)' \
			--dbname=$(INSTALLCHECK_DB)_isolation $(ISOLATION) || rc=1; \
	else \
		echo 'installcheck: the server needs wastore (make install) and pgTAP (Debian: postgresql-15-pgtap)' >&2; rc=1; \
	fi; \
	$(installcheck_psql) -d postgres -c 'DROP DATABASE $(INSTALLCHECK_DB)' \
		-c 'DROP DATABASE $(INSTALLCHECK_DB)_isolation' || rc=1; \
	exit $$rc

.PHONY: test demo bench

test:
	scripts/test.sh

demo:
	scripts/demo.sh

bench:
	bench/run.sh
