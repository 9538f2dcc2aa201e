# racing_sched: PGXS build. `make test` and `make demo` are the two commands
# the README starts with; both install what they need.

EXTENSION = racing_sched
MODULE_big = racing_sched
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c src/jobs/*.c)))
DATA = $(sort $(wildcard sql/racing_sched--*.sql))

PG_CONFIG ?= pg_config
PKG_CONFIG ?= pkg-config

PG_CPPFLAGS = -I$(srcdir)/src $(shell $(PKG_CONFIG) --cflags libcurl jansson)
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
SHLIB_LINK = $(shell $(PKG_CONFIG) --libs libcurl jansson)

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

.PHONY: test demo bench

test:
	test/run

demo:
	demo/run

bench:
	bench/run
