# wastore: PGXS build.
#
# The version comes from wastore.control (its one source).  The 1.0 install
# script is assembled from the fragments in sql/1.0/, one per concern, in
# file-name order; it is released and never edited again.  Later versions
# are wastore--A--B.sql upgrade scripts beside it: CREATE EXTENSION installs
# 1.0 and runs them in turn, so a fresh install and an upgraded one are the
# same by construction.

EXTENSION = wastore

MODULE_big = wastore
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

DATA_built = sql/$(EXTENSION)--1.0.sql
DATA = $(wildcard sql/$(EXTENSION)--*--*.sql)

# libcrypto: SHA-256/HMAC for the LTHash core (PostgreSQL itself links it).
SHLIB_LINK += -lcrypto

# -Wextra on top of PostgreSQL's own warning set.  Unused parameters and
# partially initialised structs are idioms of the server's headers and macros
# (PG_FUNCTION_ARGS, designated initialisers), so those two stay quiet.
PG_CFLAGS += -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	$(WASTORE_CFLAGS)

EXTRA_CLEAN = $(DATA_built)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--1.0.sql: $(sort $(wildcard sql/1.0/*.sql))
	cat $^ > $@

.PHONY: test demo bench

test:
	scripts/test.sh

demo:
	scripts/demo.sh

bench:
	bench/run.sh
