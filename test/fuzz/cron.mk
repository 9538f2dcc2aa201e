# test/fuzz/cron.mk: libFuzzer harness for src/cron.c, run for a bounded time.
#
#   make -C test/fuzz -f cron.mk        build bin/fuzz_cron and bin/check_cron
#   make -C test/fuzz -f cron.mk check  build, then fuzz for $(FUZZ_SECONDS) s
#                                       (default 60) and print one TAP line
#
# test/fuzz/Makefile may `include cron.mk` and add cron-fuzz to its all
# target; test/run then runs bin/check_cron with the harness.  cron.c is
# built outside the server against its headers and libpgport; fuzz_cron.c
# provides the few server functions it calls.  Needs clang with the
# libFuzzer runtime (Debian: clang-14 and libclang-rt-14-dev).

REPO ?= $(abspath ../..)
SRC ?= $(REPO)/src
CLANG ?= $(or $(firstword $(shell command -v clang clang-14 2>/dev/null)),clang)
PG_CONFIG ?= pg_config
BIN ?= bin

CRON_PG_INC := $(shell $(PG_CONFIG) --includedir-server)
CRON_PG_LIB := $(shell $(PG_CONFIG) --pkglibdir)

.PHONY: cron-fuzz cron-check

cron-fuzz: $(BIN)/fuzz_cron $(BIN)/check_cron

$(BIN)/fuzz_cron: fuzz_cron.c $(SRC)/cron.c $(SRC)/cron.h
	@mkdir -p $(BIN)
	$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		-Wall -Wextra -Werror -Wno-ignored-attributes -Wno-unused-parameter \
		-Wno-missing-field-initializers -I$(SRC) -I$(CRON_PG_INC) \
		-o $@ fuzz_cron.c $(SRC)/cron.c \
		$(CRON_PG_LIB)/libpgport.a $(CRON_PG_LIB)/libpgcommon.a -lm

$(BIN)/check_cron: check_cron.sh
	@mkdir -p $(BIN)
	cp $< $@
	chmod +x $@

cron-check: cron-fuzz
	@$(BIN)/check_cron
