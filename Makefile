# duopipe -- POSIX make.  See README.md and ../shared/DESIGN.md.
.SUFFIXES:
.SUFFIXES: .c .o

PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man

CC ?= cc
CFLAGS ?= -O2 -g
LDFLAGS ?=
DUO_CFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED \
	-Wall -Wextra -pedantic -Werror
ALL_CFLAGS = $(DUO_CFLAGS) $(CFLAGS)
LDLIBS = -lcurl -lcrypto
CHECK_LIBS = -lcheck_pic -pthread -lrt -lm -lsubunit
SANFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all

TOOLS = duo-sign duo-get duo-fmt duo-ckpt
SCRIPTS = duo-collect
MODULES = util compat urlenc conf sign http json cursor fmt ckpt
# One line per module, so that work on one module edits one line.
SRC_UTIL = lib/util.c
SRC_COMPAT = lib/compat.c
SRC_URLENC = lib/urlenc.c
SRC_CONF = lib/conf.c
SRC_SIGN = lib/sign.c
SRC_HTTP = lib/http.c
SRC_JSON = lib/json.c
SRC_CURSOR = lib/cursor.c
SRC_TZ = lib/tz.c
SRC_FMT = lib/fmt.c lib/fmt_fields.c lib/fmt_out.c lib/fmt_in.c
SRC_CKPT = lib/ckpt_stream.c lib/ckpt_file.c lib/ckpt_apply.c lib/ckpt_commit.c \
	lib/ckpt_status.c
LIBSRC = $(SRC_UTIL) $(SRC_COMPAT) $(SRC_URLENC) $(SRC_CONF) $(SRC_SIGN) \
	$(SRC_HTTP) $(SRC_JSON) $(SRC_CURSOR) $(SRC_TZ) $(SRC_FMT) $(SRC_CKPT)
LIBOBJ = $(LIBSRC:.c=.o)
HDR = lib/duo.h lib/json.h
UNITS = tests/unit/check_util tests/unit/check_urlenc \
	tests/unit/check_conf tests/unit/check_sign tests/unit/check_json \
	tests/unit/check_cursor tests/unit/check_fmt tests/unit/check_ckpt \
	tests/unit/check_tz tests/unit/check_compat
SAN_TOOLS = san/duo-sign san/duo-get san/duo-fmt san/duo-ckpt
SAN_UNITS = san/check_util san/check_urlenc san/check_conf san/check_sign \
	san/check_json san/check_cursor san/check_fmt san/check_ckpt \
	san/check_tz san/check_compat
MAN1 = man/duo-sign.1 man/duo-get.1 man/duo-fmt.1 man/duo-ckpt.1 \
	man/duo-collect.1
MAN5 = man/duo.conf.5
MAN7 = man/duo.7
DEBPKGS = gcc make libc6-dev pkg-config libcurl4-openssl-dev libssl-dev \
	libjsmn-dev check libsubunit-dev python3 openssl curl tzdata \
	mandoc shellcheck pcre2-utils jq mono-mcs mono-runtime syslog-ng-core \
	strace tmux systemd
# make windows and make check-windows need these as well.
DEBPKGS_WIN = gcc-mingw-w64-x86-64 wine wine64 dpkg-dev zip unzip perl
# make fuzz needs these.
DEBPKGS_FUZZ = clang libclang-rt-14-dev

all: $(TOOLS)

.c.o:
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBOBJ): $(HDR)
duo-sign.o duo-get.o duo-fmt.o duo-ckpt.o: $(HDR)

lib/libduo.a: $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

duo-sign: duo-sign.o lib/libduo.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ duo-sign.o lib/libduo.a $(LDLIBS)
duo-get: duo-get.o lib/libduo.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ duo-get.o lib/libduo.a $(LDLIBS)
duo-fmt: duo-fmt.o lib/libduo.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ duo-fmt.o lib/libduo.a $(LDLIBS)
duo-ckpt: duo-ckpt.o lib/libduo.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ duo-ckpt.o lib/libduo.a $(LDLIBS)

# Unit tests: one Check suite per lib module.
$(UNITS): lib/libduo.a $(HDR)
tests/unit/check_sign tests/unit/check_urlenc san/check_sign \
    san/check_urlenc: tests/fixtures/sign/vectors.h tests/fixtures/sign/edge.h
tests/unit/check_util: tests/unit/check_util.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $@.c lib/libduo.a $(CHECK_LIBS) $(LDLIBS)
tests/unit/check_urlenc: tests/unit/check_urlenc.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $@.c lib/libduo.a $(CHECK_LIBS) $(LDLIBS)
tests/unit/check_conf: tests/unit/check_conf.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $@.c lib/libduo.a $(CHECK_LIBS) $(LDLIBS)
tests/unit/check_sign: tests/unit/check_sign.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $@.c lib/libduo.a $(CHECK_LIBS) $(LDLIBS)
tests/unit/check_json: tests/unit/check_json.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $@.c lib/libduo.a $(CHECK_LIBS) $(LDLIBS)
tests/unit/check_cursor: tests/unit/check_cursor.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $@.c lib/libduo.a $(CHECK_LIBS) $(LDLIBS)
tests/unit/check_fmt: tests/unit/check_fmt.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $@.c lib/libduo.a $(CHECK_LIBS) $(LDLIBS)
tests/unit/check_ckpt: tests/unit/check_ckpt.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $@.c lib/libduo.a $(CHECK_LIBS) $(LDLIBS)

# The same programs built with ASan and UBSan, straight from the sources.
$(SAN_TOOLS) $(SAN_UNITS): san/libduo.a $(HDR)
# The library once, not once per program.
san/libduo.a: $(LIBSRC) $(HDR)
	@rm -rf san/lib; mkdir -p san/lib
	@for f in $(LIBSRC); do \
		o=san/lib/$${f#lib/}; o=$${o%.c}.o; \
		echo "$(CC) ... -c -o $$o $$f"; \
		$(CC) $(DUO_CFLAGS) $(SANFLAGS) -c -o $$o $$f || exit 1; \
	done
	@rm -f $@
	ar rcs $@ san/lib/*.o
san/duo-sign: duo-sign.c
	@mkdir -p san
	$(CC) $(DUO_CFLAGS) $(SANFLAGS) -o $@ duo-sign.c san/libduo.a $(LDLIBS)
san/duo-get: duo-get.c
	@mkdir -p san
	$(CC) $(DUO_CFLAGS) $(SANFLAGS) -o $@ duo-get.c san/libduo.a $(LDLIBS)
san/duo-fmt: duo-fmt.c
	@mkdir -p san
	$(CC) $(DUO_CFLAGS) $(SANFLAGS) -o $@ duo-fmt.c san/libduo.a $(LDLIBS)
san/duo-ckpt: duo-ckpt.c
	@mkdir -p san
	$(CC) $(DUO_CFLAGS) $(SANFLAGS) -o $@ duo-ckpt.c san/libduo.a $(LDLIBS)
san/check_util: tests/unit/check_util.c
	@mkdir -p san
	$(CC) $(DUO_CFLAGS) $(SANFLAGS) -o $@ tests/unit/check_util.c san/libduo.a $(CHECK_LIBS) $(LDLIBS)
san/check_urlenc: tests/unit/check_urlenc.c
	@mkdir -p san
	$(CC) $(DUO_CFLAGS) $(SANFLAGS) -o $@ tests/unit/check_urlenc.c san/libduo.a $(CHECK_LIBS) $(LDLIBS)
san/check_conf: tests/unit/check_conf.c
	@mkdir -p san
	$(CC) $(DUO_CFLAGS) $(SANFLAGS) -o $@ tests/unit/check_conf.c san/libduo.a $(CHECK_LIBS) $(LDLIBS)
san/check_sign: tests/unit/check_sign.c
	@mkdir -p san
	$(CC) $(DUO_CFLAGS) $(SANFLAGS) -o $@ tests/unit/check_sign.c san/libduo.a $(CHECK_LIBS) $(LDLIBS)
san/check_json: tests/unit/check_json.c
	@mkdir -p san
	$(CC) $(DUO_CFLAGS) $(SANFLAGS) -o $@ tests/unit/check_json.c san/libduo.a $(CHECK_LIBS) $(LDLIBS)
san/check_cursor: tests/unit/check_cursor.c
	@mkdir -p san
	$(CC) $(DUO_CFLAGS) $(SANFLAGS) -o $@ tests/unit/check_cursor.c san/libduo.a $(CHECK_LIBS) $(LDLIBS)
san/check_fmt: tests/unit/check_fmt.c
	@mkdir -p san
	$(CC) $(DUO_CFLAGS) $(SANFLAGS) -o $@ tests/unit/check_fmt.c san/libduo.a $(CHECK_LIBS) $(LDLIBS)
san/check_ckpt: tests/unit/check_ckpt.c
	@mkdir -p san
	$(CC) $(DUO_CFLAGS) $(SANFLAGS) -o $@ tests/unit/check_ckpt.c san/libduo.a $(CHECK_LIBS) $(LDLIBS)

# make check: install what is missing (as root), then unit and e2e tests,
# then the same again under ASan and UBSan.
check: deps
	@$(MAKE) check-plain
	@$(MAKE) check-san

check-plain: all $(UNITS)
	@sh tests/run-units $(UNITS)
	@sh tests/e2e/run .

check-san: $(SAN_TOOLS) $(SAN_UNITS)
	@cp duo-collect san/duo-collect
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    sh tests/run-units $(SAN_UNITS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    sh tests/e2e/run san

lint:
	@mandoc -Tlint -Wwarning $(MAN1) $(MAN5) $(MAN7)
	@shellcheck -s sh -e SC1091 duo-collect tests/run-units tests/e2e/run \
	    tests/e2e/lib.sh tests/e2e/*.t bench/get bench/fmt bench/fuzz \
	    bench/page tests/demo win/build-deps win/build-exe win/mkzip \
	    win/check

demo: deps
	@$(MAKE) all
	@sh tests/demo

deps:
	@if ! command -v dpkg-query >/dev/null 2>&1; then exit 0; fi; \
	missing=; for p in $(DEBPKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		    grep -q ' installed$$' || missing="$$missing $$p"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" -eq 0 ]; then \
		echo "make deps: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		    apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "make deps: missing packages; run:" >&2; \
		echo "    sudo apt-get install$$missing" >&2; exit 2; \
	fi

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	    $(DESTDIR)$(PREFIX)/share/duopipe/mpe/legacy \
	    $(DESTDIR)$(PREFIX)/share/duopipe/windows \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system
	cp $(TOOLS) $(SCRIPTS) $(DESTDIR)$(BINDIR)/
	cp $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	cp $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	cp $(MAN7) $(DESTDIR)$(MANDIR)/man7/
	cp duo.conf.example $(DESTDIR)$(PREFIX)/share/duopipe/
	cp mpe/README.md mpe/*.re $(DESTDIR)$(PREFIX)/share/duopipe/mpe/
	cp mpe/legacy/*.re $(DESTDIR)$(PREFIX)/share/duopipe/mpe/legacy/
	cp duo-collect.cmd $(DESTDIR)$(PREFIX)/share/duopipe/windows/
	for u in duo-collect.service duo-collect.timer; do \
		sed 's|/usr/local/bin/|$(BINDIR)/|g' systemd/$$u \
		    >$(DESTDIR)$(PREFIX)/lib/systemd/system/$$u || exit 1; \
	done
	cd $(DESTDIR)$(PREFIX) && chmod 0644 share/duopipe/duo.conf.example \
	    share/duopipe/mpe/*.* share/duopipe/mpe/legacy/*.re \
	    share/duopipe/windows/duo-collect.cmd \
	    lib/systemd/system/duo-collect.service \
	    lib/systemd/system/duo-collect.timer

uninstall:
	cd $(DESTDIR)$(BINDIR) && rm -f $(TOOLS) $(SCRIPTS)
	cd $(DESTDIR)$(MANDIR)/man1 && rm -f duo-sign.1 duo-get.1 duo-fmt.1 \
	    duo-ckpt.1 duo-collect.1
	rm -f $(DESTDIR)$(MANDIR)/man5/duo.conf.5 $(DESTDIR)$(MANDIR)/man7/duo.7
	rm -rf $(DESTDIR)$(PREFIX)/share/duopipe
	rm -f $(DESTDIR)$(PREFIX)/lib/systemd/system/duo-collect.service \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system/duo-collect.timer

clean:
	rm -f $(TOOLS) *.o lib/*.o lib/libduo.a $(UNITS)
	rm -rf san scratch

.PHONY: all check check-plain check-san lint demo deps install uninstall clean

# Fuzzing.  make fuzz builds the libFuzzer targets (clang) into fuzz/;
# bench/fuzz runs them.  check-fuzz replays every seed corpus under ASan
# and UBSan with the ordinary compiler; make check runs it.
FUZZERS = json conf cursor page fmt ckpt_ctl ckpt_state tz
FUZZFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all
fuzz: $(LIBSRC) $(HDR) tests/fuzz/fuzz.h
	@if ! command -v clang >/dev/null 2>&1; then \
		echo "make fuzz: clang missing; run: apt-get install" \
		    "$(DEBPKGS_FUZZ)" >&2; exit 2; fi
	@mkdir -p fuzz
	@for t in $(FUZZERS); do \
		echo "clang ... -o fuzz/fuzz_$$t"; \
		clang $(DUO_CFLAGS) $(FUZZFLAGS) -o fuzz/fuzz_$$t \
		    tests/fuzz/fuzz_$$t.c $(LIBSRC) $(LDLIBS) || exit 1; \
	done
check-fuzz: san/libduo.a tests/fuzz/fuzz.h tests/fuzz/replay.c
	@mkdir -p san
	@for t in $(FUZZERS); do \
		$(CC) $(DUO_CFLAGS) $(SANFLAGS) -o san/replay_$$t \
		    tests/fuzz/fuzz_$$t.c tests/fuzz/replay.c san/libduo.a \
		    $(LDLIBS) || exit 1; \
		ASAN_OPTIONS=detect_leaks=1 \
		    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		    san/replay_$$t tests/fuzz/corpus/$$t || exit 1; \
	done
.PHONY: fuzz check-fuzz

# fmt: the header its files share.
$(SRC_FMT:.c=.o) san/check_fmt san/duo-fmt: lib/fmt_int.h

# Windows (issue 8).  make windows cross-compiles the four tools as static
# .exe files (objects in build/win/obj) against OpenSSL and curl that
# win/build-deps builds from Debian's sources into build/mingw, and packs
# $(WIN_ZIP).  make check-windows runs the e2e suite on the .exe files
# under wine (win/check; WINEPREFIX under build/wine).
WIN_CC = x86_64-w64-mingw32-gcc
WIN_AR = x86_64-w64-mingw32-ar
WIN_WINDRES = x86_64-w64-mingw32-windres
WIN_DEPS = build/mingw/prefix
WIN_DIR = build/win
WIN_CFLAGS = $(DUO_CFLAGS) -D_FILE_OFFSET_BITS=64 -D__USE_MINGW_ANSI_STDIO=1 \
	-DCURL_STATICLIB -I$(WIN_DEPS)/include -I$(WIN_DIR)/include -O2 -g
WIN_LDFLAGS = -static
WIN_LIBS = $(WIN_DEPS)/lib/libcurl.a $(WIN_DEPS)/lib/libssl.a \
	$(WIN_DEPS)/lib/libcrypto.a -lws2_32 -lcrypt32 -lbcrypt -ladvapi32 \
	-lshell32 -luser32 -lgdi32 -lpthread
WIN_LIBSRC = $(LIBSRC:compat.c=compat_win.c)
WIN_ZIP = dist/duopipe-windows-x86_64.zip

deps-windows:
	@$(MAKE) deps DEBPKGS="$(DEBPKGS) $(DEBPKGS_WIN)"

windows: deps-windows
	@nice -n 10 sh win/build-deps build/mingw
	@WIN_CC='$(WIN_CC)' WIN_AR='$(WIN_AR)' WIN_WINDRES='$(WIN_WINDRES)' \
	    WIN_CFLAGS='$(WIN_CFLAGS)' WIN_LDFLAGS='$(WIN_LDFLAGS)' \
	    WIN_LIBS='$(WIN_LIBS)' KEEP_GOING='$(KEEP_GOING)' \
	    sh win/build-exe $(WIN_DIR) '$(WIN_LIBSRC)' '$(TOOLS)'
	@sh win/mkzip $(WIN_DIR) $(WIN_ZIP)

check-windows: windows
	@sh win/check $(WIN_DIR)

clean-windows:
	rm -rf $(WIN_DIR) build/wine dist

.PHONY: deps-windows windows check-windows clean-windows

# tz: the unit test (its known answers are headers made by mk.py).
tests/unit/check_tz san/check_tz: tests/fixtures/tz/expect.h \
    tests/fixtures/tz/posix.h
tests/unit/check_tz: tests/unit/check_tz.c
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $@.c lib/libduo.a $(CHECK_LIBS) $(LDLIBS)
san/check_tz: tests/unit/check_tz.c
	@mkdir -p san
	$(CC) $(DUO_CFLAGS) $(SANFLAGS) -o $@ tests/unit/check_tz.c san/libduo.a $(CHECK_LIBS) $(LDLIBS)
tests/unit/check_compat: tests/unit/check_compat.c lib/libduo.a $(HDR)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $@.c lib/libduo.a $(CHECK_LIBS) $(LDLIBS)
san/check_compat: tests/unit/check_compat.c
	@mkdir -p san
	$(CC) $(DUO_CFLAGS) $(SANFLAGS) -o $@ tests/unit/check_compat.c san/libduo.a $(CHECK_LIBS) $(LDLIBS)

# ckpt: the header its files share.
$(SRC_CKPT:.c=.o) san/libduo.a: lib/ckpt_int.h
