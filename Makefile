# ghp: a GitHub credential proxy.  GNU make.
#
#   make          build build/ghp and build/ghpctl
#   make run      install missing packages, build, run ghp in the
#                 foreground on etc/ghp.conf.sample with state in ./run
#   make check    install missing packages, build, run every test
#   make fuzz     run each fuzz target for FUZZ_SECONDS (default 300)
#   make install  PREFIX=/usr/local DESTDIR=

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
EXAMPLEDIR ?= $(PREFIX)/share/examples/ghp

CC	?= cc
CLANG	?= clang
PKGS	= libevent libevent_openssl libsodium jansson libcurl libseccomp openssl sqlite3
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS	?= -O2 -g
WARN	= -Wall -Wextra -Wno-unused-parameter -Wshadow -Wpointer-arith \
	  -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 -Werror
INC	= -Icommon -Imaster -Iworker -Ikeyholder
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(INC) $(WARN) $(PKG_CFLAGS) $(CFLAGS)
# libseccomp's SCMP_A* macros leave a field to its default.
CLANG_WARN = -Wno-missing-field-initializers
SAN_FLAGS = $(CLANG_WARN) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	  -fno-omit-frame-pointer

COMMON_SRC  = $(sort $(wildcard common/*.c))
# GitHub's endpoint -> permission table, generated from the vendored data.
PERMTAB_C   = build/gen/permtab.c
# GitHub's GraphQL schema with ghp's policy on it, generated likewise.
GQLTAB_C    = build/gen/gqltab.c
GEN_C       = $(PERMTAB_C) $(GQLTAB_C)
MASTER_SRC  = $(sort $(wildcard master/*.c))
WORKER_SRC  = $(sort $(wildcard worker/*.c))
KEYHOLDER_SRC = $(sort $(wildcard keyholder/*.c))
GHP_SRC     = $(MASTER_SRC) $(WORKER_SRC) $(KEYHOLDER_SRC) $(COMMON_SRC) \
	      $(GEN_C)
GHPCTL_SRC  = $(sort $(wildcard ghpctl/*.c)) $(COMMON_SRC) $(GEN_C)
UNIT_SRC    = $(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRC    = $(sort $(wildcard tests/fuzz/fuzz_*.c))

OBJ	 = build/obj
SAN	 = build/asan
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=build/unit/%)
SAN_BIN	 = $(UNIT_SRC:tests/unit/%.c=build/unit-asan/%)
FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZ_SECONDS ?= 300
FUZZ_SMOKE   ?= 20

# Unit tests and fuzz targets link the common code, compiled once per
# flavour (the daemon's objects, the ASan daemon's, and the fuzzers'
# own); process code is tested by running it.
COMMON_OBJ	= $(COMMON_SRC:%.c=$(OBJ)/%.o) $(GEN_C:%.c=$(OBJ)/%.o)
COMMON_SAN_OBJ	= $(COMMON_SRC:%.c=$(SAN)/obj/%.o) $(GEN_C:%.c=$(SAN)/obj/%.o)
FUZZ_OBJ	= build/fuzz-obj
COMMON_FUZZ_OBJ	= $(COMMON_SRC:%.c=$(FUZZ_OBJ)/%.o) \
		  $(GEN_C:%.c=$(FUZZ_OBJ)/%.o)
# Sources a test adds (target-specific UNIT_LINK += below).
UNIT_LINK =

.PHONY: all deps run check unit unit-asan integration lint fuzz fuzz-smoke \
	bench install clean
.DEFAULT_GOAL := all

all: build/ghp build/ghpctl

deps:
	@sh scripts/deps.sh

$(PERMTAB_C): scripts/gen_permtab.py data/github-endpoint-permissions.tsv \
    data/no-permission.tsv
	@mkdir -p $(dir $@)
	python3 scripts/gen_permtab.py data/github-endpoint-permissions.tsv \
	    data/no-permission.tsv $@

$(GQLTAB_C): scripts/gen_gqltab.py data/github-graphql-schema.tsv \
    data/graphql-policy.tsv
	@mkdir -p $(dir $@)
	python3 scripts/gen_gqltab.py data/github-graphql-schema.tsv \
	    data/graphql-policy.tsv $@

$(OBJ)/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/ghp: $(GHP_SRC:%.c=$(OBJ)/%.o)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

build/ghpctl: $(GHPCTL_SRC:%.c=$(OBJ)/%.o)
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

# The daemon and ghpctl again under ASan and UBSan, for the integration
# tests (make check runs them against both builds).
$(SAN)/obj/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(filter-out -O2,$(ALL_CFLAGS)) $(SAN_FLAGS) -c -o $@ $<

$(SAN)/ghp: $(GHP_SRC:%.c=$(SAN)/obj/%.o)
	$(CLANG) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS)

$(SAN)/ghpctl: $(GHPCTL_SRC:%.c=$(SAN)/obj/%.o)
	$(CLANG) $(SAN_FLAGS) -o $@ $^ $(PKG_LIBS)

# A unit test is one file; it links the common objects and the sources
# under test that UNIT_LINK adds.
build/unit/%: tests/unit/%.c $(COMMON_OBJ) $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(UNIT_LINK) \
	    $(COMMON_OBJ) $(PKG_LIBS)

build/unit-asan/%: tests/unit/%.c $(COMMON_SAN_OBJ) $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(filter-out -O2,$(ALL_CFLAGS)) $(SAN_FLAGS) -Itests/unit \
	    -o $@ $< $(UNIT_LINK) $(COMMON_SAN_OBJ) $(PKG_LIBS)

# A fuzz target links the common code, built with the fuzzer's coverage;
# a target-specific FUZZ_LINK += adds the worker or keyholder files it
# exercises (as UNIT_LINK below).
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE $(INC) $(PKG_CFLAGS) -g -O1 \
	    $(CLANG_WARN) -fno-sanitize-recover=all
FUZZ_LINK =
.SECONDARY: $(COMMON_FUZZ_OBJ)

$(FUZZ_OBJ)/%.o: %.c $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	    -c -o $@ $<

build/fuzz/%: tests/fuzz/%.c $(COMMON_FUZZ_OBJ) $(wildcard */*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined \
	    -o $@ $< $(FUZZ_LINK) $(COMMON_FUZZ_OBJ) $(PKG_LIBS)

# Tests of worker or keyholder code link the files they exercise.
STORE_SRC = keyholder/store_sqlite.c
build/unit/test_store build/unit-asan/test_store: UNIT_LINK += $(STORE_SRC)
build/unit/test_store build/unit-asan/test_store: $(STORE_SRC)

JWT_SRC = keyholder/jwt.c
build/unit/test_jwt build/unit-asan/test_jwt: UNIT_LINK += $(JWT_SRC)
build/unit/test_jwt build/unit-asan/test_jwt: $(JWT_SRC)

CA_SRC = keyholder/ca.c
build/unit/test_ca build/unit-asan/test_ca: UNIT_LINK += $(CA_SRC)
build/unit/test_ca build/unit-asan/test_ca: $(CA_SRC)
build/fuzz/fuzz_ca: FUZZ_LINK += $(CA_SRC)
build/fuzz/fuzz_ca: $(CA_SRC)

ANSWER_SRC = keyholder/app.c keyholder/copilot.c keyholder/identity.c \
	      keyholder/jwt.c keyholder/khttp.c keyholder/mint.c
build/unit/test_answers build/unit-asan/test_answers: UNIT_LINK += $(ANSWER_SRC)
build/unit/test_answers build/unit-asan/test_answers: $(ANSWER_SRC)
build/fuzz/fuzz_answers: FUZZ_LINK += $(ANSWER_SRC)
build/fuzz/fuzz_answers: $(ANSWER_SRC)

HTTP_SRC = worker/http.c worker/http_chunked.c worker/http_resp.c
build/unit/test_http build/unit-asan/test_http: UNIT_LINK += $(HTTP_SRC)
build/unit/test_http build/unit-asan/test_http: $(HTTP_SRC)
build/unit/test_http_resp build/unit-asan/test_http_resp: UNIT_LINK += $(HTTP_SRC)
build/unit/test_http_resp build/unit-asan/test_http_resp: $(HTTP_SRC)

build/fuzz/fuzz_http: tests/fuzz/fuzz_http.c $(HTTP_SRC) worker/http.h
	@mkdir -p $(dir $@)
	$(CLANG) -std=c11 -D_GNU_SOURCE $(INC) -g -O1 \
	    $(CLANG_WARN) -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all \
	    -o $@ tests/fuzz/fuzz_http.c $(HTTP_SRC)

build/fuzz/fuzz_resp: tests/fuzz/fuzz_resp.c $(HTTP_SRC) worker/http.h
	@mkdir -p $(dir $@)
	$(CLANG) -std=c11 -D_GNU_SOURCE $(INC) -g -O1 \
	    $(CLANG_WARN) -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=all \
	    -o $@ tests/fuzz/fuzz_resp.c $(HTTP_SRC)

run: deps all
	@mkdir -p run
	build/ghp -d -f etc/ghp.conf.sample -D statedir=$(CURDIR)/run/state \
	    -D ctlsock=$(CURDIR)/run/ghp.sock -D chrootdir=$(CURDIR)/run/empty \
	    -D ghpuser=nobody

check: deps all $(SAN)/ghp $(SAN)/ghpctl $(UNIT_BIN) $(SAN_BIN) $(FUZZ_BIN)
	@sh tests/run.sh

unit: $(UNIT_BIN)
	@sh tests/run.sh unit

unit-asan: $(SAN_BIN)
	@sh tests/run.sh unit-asan

integration: all
	@sh tests/run.sh integration

lint:
	@sh tests/run.sh lint

fuzz-smoke: $(FUZZ_BIN)
	@FUZZ_SECONDS=$(FUZZ_SMOKE) sh tests/run.sh fuzz

fuzz: $(FUZZ_BIN)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/run.sh fuzz

# ghp against an nginx proxy and a direct connection (wrk), worker scaling,
# 1 GiB streams, 10,000 idle connections and token churn; see bench/.
bench: deps all
	python3 bench/run.py

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(EXAMPLEDIR)
	install -m 0755 build/ghp build/ghpctl $(DESTDIR)$(SBINDIR)
	install -m 0644 man/ghp.conf.5 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 man/ghp.8 man/ghpctl.8 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 etc/ghp.conf.sample $(DESTDIR)$(EXAMPLEDIR)
	install -m 0644 etc/systemd/ghp.service $(DESTDIR)$(EXAMPLEDIR)
	install -m 0755 etc/rc.d/ghp $(DESTDIR)$(EXAMPLEDIR)/ghp.rc

clean:
	rm -rf build run
