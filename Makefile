# jumpbox — build, test, demo.  `make help` lists the targets.
PKGS      := libcurl openssl libssh2 libcjson libsodium expat
CC        ?= cc
# Lazy (=) on purpose: `make test` installs the -dev packages first, and
# pkg-config must only run after that.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
# libcurl is dlopen'ed on first use (lib/net/curl_dl.c): nothing links it.
LAZY_PKGS := libcurl
PKG_LIBS   = $(shell pkg-config --libs $(filter-out $(LAZY_PKGS),$(PKGS)))
WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wstrict-prototypes
DEFS      := -D_GNU_SOURCE
OPT       ?= -O2 -g
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# Release builds (make, make install, make deb, the image) are hardened:
# tests/integration checks the binaries.  The sanitizer and fuzzing builds
# turn it off (HARDEN_CFLAGS= HARDEN_LDFLAGS=), as ASan intercepts the calls
# _FORTIFY_SOURCE replaces.  _FORTIFY_SOURCE needs OPT of -O1 or more; a
# caller's own (dpkg-buildflags' CPPFLAGS in make deb) wins over ours.
FORTIFY         = $(if $(findstring _FORTIFY_SOURCE,$(OPT) $(EXTRA_CFLAGS)),,\
                    -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2)
HARDEN_CFLAGS  ?= $(FORTIFY) -fstack-protector-strong -fstack-clash-protection -fPIE
HARDEN_LDFLAGS ?= -pie -Wl,-z,relro -Wl,-z,now
B         ?= build
CFLAGS_ALL = -std=c11 $(OPT) $(WARN) $(DEFS) $(HARDEN_CFLAGS) -Ilib -Icommon -I$(B)/gen $(PKG_CFLAGS) \
             $(EXTRA_CFLAGS)
LDFLAGS_ALL = $(HARDEN_LDFLAGS) $(EXTRA_LDFLAGS)

# lib/ is layered (docs/architecture.md): one folder per layer, its sources
# found by folder; tests/layers.py keeps includes pointing down.
LIB_LAYERS := base net aws lambda crypto stack
LIB_SRC   := $(sort $(foreach l,$(LIB_LAYERS),$(wildcard lib/$(l)/*.c)))
LIB_HDR   := $(sort $(foreach l,$(LIB_LAYERS),$(wildcard lib/$(l)/*.h)))
LIB_OBJ    = $(LIB_SRC:%.c=$(B)/obj/%.o)
PROV_SRC  := $(sort $(wildcard provisioner/*.c))
CLEAN_SRC := $(sort $(wildcard cleaner/*.c))
BOX_SRC   := $(sort $(wildcard localbox/*.c))
# Program code both provisioner and cleaner link (their command line), kept
# out of lib/ because it prints.
COMMON_SRC := $(sort $(wildcard common/*.c))
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN   = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
# Small test drivers the pytest suites run (tests/tools/NAME.c -> $(B)/tools/NAME).
TOOL_SRC  := $(sort $(wildcard tests/tools/*.c))
# libFuzzer targets (tests/fuzz/fuzz_NAME.c -> build-fuzz/fuzz_NAME), lib/ built in.
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_TIME ?= 60
PROGS      = $(B)/provisioner $(B)/cleaner $(B)/jumpbox-localbox
PYTEST    ?= /usr/bin/pytest-3
# The tests run in more workers than there are cores (pytest-xdist), so that
# one's waiting (sshd, timers, moto) is another's CPU; a test file stays on
# one worker, its module fixtures made once.  tests/aws's workers each have a
# network namespace and an emulated cloud of their own, and boot containers:
# fewer, but three, since its boots wait out their timers (README,
# "Development", measured both ways).  Each of the two runs writes a JUnit
# report, and the 25 slowest tests of both end `make test`.
TEST_JOBS     ?= 4
AWS_TEST_JOBS ?= 3
# The two pytest runs side by side (README, "Development"); SUITE_JOBS=1
# runs them one after the other, for a machine that is busy with something else.
SUITE_JOBS    ?= 2
REPORTS        = build-asan/reports
# Most of the suites' CPU is Terraform's and the AWS provider's, and most of
# a short Terraform command's is the Go collector's: GOGC=400 (lib's
# Terraform runner passes it on) cuts it by a quarter, for some 40 MB more
# per process (README, "Development").
TEST_GOGC     ?= 400
TEST_ENV       = JUMPBOX_BIN_DIR=$(CURDIR)/build-asan GOGC=$(TEST_GOGC)
PYTEST_ARGS    = -p no:cacheprovider --dist loadfile
# The quick loop's tests: no Terraform apply, no image, no boot.
QUICK_TESTS := tests/integration/test_bad_input.py tests/integration/test_keygen.py \
               tests/integration/test_creds.py tests/integration/test_http_retry.py \
               tests/integration/test_lambda_invoke.py tests/integration/test_lambda_runtime.py \
               tests/integration/test_layers.py tests/integration/test_manpages.py \
               tests/integration/test_runtime_wire.py tests/integration/test_sigv4_botocore.py \
               tests/integration/test_sigv4_verify_server.py tests/integration/test_permit_open.py \
               tests/integration/test_userdata.py

# Where `make install` puts things (GNU names).  DATADIR and LIBEXECDIR are
# compiled in (lib/stack/stackcfg.c): a PREFIX other than the last build's
# rebuilds what names them, so `make && sudo make install PREFIX=/opt/jb`
# installs programs that find /opt/jb/share/jumpbox.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/jumpbox
DATADIR    ?= $(PREFIX)/share/jumpbox
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(PREFIX)/lib/systemd/system
VERSION    := $(shell sh packaging/version.sh)
# What the programs read at run time: the jump-box modules and the user
# data terraform/aws reaches as ../../userdata.  Not control-plane/, which
# an operator applies once from a clone (with `make image`, `make push`).
# Named by kind, so a file dropped into the tree (an .env, a plan, a
# Terraform *_override.tf, which changes a module where it lies) is not
# installed with them.
DATA_FILES := $(sort $(filter-out %_override.tf,$(wildcard terraform/local/*.tf terraform/aws/*.tf)) \
                     $(wildcard userdata/*.tf userdata/*.tftpl userdata/*.sh userdata/*.service))
MAN_PAGES  := man/provisioner.1 man/cleaner.1
UNIT_IN    := packaging/systemd/jumpbox-sweep.service.in packaging/systemd/jumpbox-sweep.timer.in
SRC_ALL   := $(LIB_SRC) $(COMMON_SRC) $(PROV_SRC) $(CLEAN_SRC) $(BOX_SRC) $(UNIT_SRC) $(TOOL_SRC) $(FUZZ_SRC) $(LIB_HDR) $(wildcard common/*.h provisioner/*.h cleaner/*.h localbox/*.h tests/unit/*.h tests/fuzz/*.h)

.PHONY: all asan deps test check check-quick check-layers unit integration integration-local integration-aws boot-root demo format check-format clean help bench \
        image push fuzz fuzz-lib fuzz-build fuzz-smoke install uninstall deb dist version FORCE
all: $(PROGS)

help:
	@echo "make            build hardened release binaries into build/"
	@echo "make test       install what is missing, then build with ASan/UBSan and run every test"
	@echo "make check-quick  format, layers, ASan build, unit and the quick integration tests"
	@echo "make demo       install what is missing, then create, use, list and destroy a local jump box"
	@echo "make bench      benchmarks (bench/README.md)"
	@echo "make image      the Lambda container image: dist/image/oci, digest in dist/image/digest"
	@echo "make push       push it to ECR: REPO=<account>.dkr.ecr.<region>.amazonaws.com/jumpbox"
	@echo "make fuzz       fuzz every parser FUZZ_TIME seconds each (fuzz-smoke: briefly, in check)"
	@echo "make format     clang-format the C sources"
	@echo "make install    install under PREFIX (default /usr/local), DESTDIR honoured; make uninstall"
	@echo "make deb        dist/jumpbox_VERSION_ARCH.deb with dpkg-deb (packaging/deb.sh)"
	@echo "make dist       dist/jumpbox-VERSION.tar.gz: HEAD plus a VERSION file"

# Each object depends on the headers it includes, as the compiler found
# them (-MMD); -MP keeps a removed header from breaking the next build.
# And on the flags and libraries: a build dir made with other ones (an
# older, unhardened build-image/, or one linked dynamically, say) is rebuilt,
# not linked from stale objects.
$(B)/obj/%.o: %.c $(B)/gen/flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<
-include $(shell find $(B) -name '*.d' 2>/dev/null)

# Generated headers change only when their text does (cmp), so a new
# commit rebuilds the two main.o and a new PREFIX only stackcfg.o.
$(B)/gen/jb_version.h: FORCE
	@mkdir -p $(dir $@)
	@printf '#define JB_VERSION "%s"\n' '$(VERSION)' >$@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi
$(B)/gen/flags: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' '$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) $(PKG_LIBS)' >$@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi
$(B)/gen/jb_paths.h: FORCE
	@mkdir -p $(dir $@)
	@printf '#define JB_DATADIR "%s"\n#define JB_LIBEXECDIR "%s"\n' '$(DATADIR)' '$(LIBEXECDIR)' >$@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv -f $@.new $@; fi
$(B)/obj/provisioner/main.o $(B)/obj/cleaner/main.o: $(B)/gen/jb_version.h
$(B)/obj/lib/stack/stackcfg.o: $(B)/gen/jb_paths.h

# Made afresh: ar would keep the object of a source that is gone.
$(B)/libjb.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/provisioner: $(PROV_SRC:%.c=$(B)/obj/%.o) $(COMMON_SRC:%.c=$(B)/obj/%.o) $(B)/libjb.a $(B)/gen/flags
	$(CC) $(CFLAGS_ALL) -o $@ $(filter-out %/flags,$^) $(LDFLAGS_ALL) $(PKG_LIBS)
$(B)/cleaner: $(CLEAN_SRC:%.c=$(B)/obj/%.o) $(COMMON_SRC:%.c=$(B)/obj/%.o) $(B)/libjb.a $(B)/gen/flags
	$(CC) $(CFLAGS_ALL) -o $@ $(filter-out %/flags,$^) $(LDFLAGS_ALL) $(PKG_LIBS)
$(B)/jumpbox-localbox: $(BOX_SRC:%.c=$(B)/obj/%.o) $(B)/libjb.a $(B)/gen/flags
	$(CC) $(CFLAGS_ALL) -o $@ $(filter-out %/flags,$^) $(LDFLAGS_ALL) $(PKG_LIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libjb.a $(B)/gen/flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -Itests/unit -o $@ $< $(B)/libjb.a $(LDFLAGS_ALL) $(PKG_LIBS) -lcmocka

$(B)/tools/%: tests/tools/%.c $(B)/libjb.a $(B)/gen/flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -o $@ $< $(B)/libjb.a $(LDFLAGS_ALL) $(PKG_LIBS)

# Test builds carry ASan and UBSan, in their own tree.
asan:
	$(MAKE) B=build-asan OPT="-O1 -g" EXTRA_CFLAGS="$(SAN_FLAGS)" EXTRA_LDFLAGS="$(SAN_FLAGS)" \
	    HARDEN_CFLAGS= HARDEN_LDFLAGS= \
	    build-asan/provisioner build-asan/cleaner build-asan/jumpbox-localbox \
	    $(UNIT_SRC:tests/unit/%.c=build-asan/tests/%) $(TOOL_SRC:tests/tools/%.c=build-asan/tools/%)

# lib/ once with fuzzer coverage (no libFuzzer main), then one link per target.
FUZZ_SAN  := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
fuzz-lib:
	$(MAKE) B=build-fuzz CC=clang OPT="-O1 -g" EXTRA_CFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" \
	    HARDEN_CFLAGS= HARDEN_LDFLAGS= \
	    build-fuzz/libjb.a

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h fuzz-lib
	@mkdir -p $(dir $@)
	clang -std=c11 -O1 -g $(WARN) $(DEFS) -Ilib $(PKG_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) \
	    -o $@ $< build-fuzz/libjb.a $(PKG_LIBS)

fuzz-build: $(FUZZ_BIN)
fuzz: fuzz-build
	bash tests/fuzz/run.sh $(FUZZ_TIME) $(FUZZ_BIN)
fuzz-smoke: fuzz-build
	bash tests/fuzz/run.sh smoke $(FUZZ_BIN)

deps:
	bash tests/deps.sh

# The one command a user (and CI) types.
test: deps
	$(MAKE) check

# lib/ layers point down, no include cycle, docs/architecture.md matches
# the headers (tests/layers.py --write rewrites its module list).
check-layers:
	python3 tests/layers.py

check: check-format check-layers asan
	$(MAKE) unit
	$(MAKE) integration
	$(MAKE) fuzz-smoke
	@python3 tests/slowest.py $(REPORTS)/*.xml

# The quick loop (README, "Development"): format, layers, the build, the
# unit tests and the integration tests that need no Terraform apply, image
# or boot.
check-quick: check-format check-layers asan
	$(MAKE) unit
	$(TEST_ENV) $(PYTEST) $(PYTEST_ARGS) --durations=25 -n $(TEST_JOBS) $(QUICK_TESTS)

unit:
	@set -e; for t in $(UNIT_SRC:tests/unit/%.c=build-asan/tests/%); do echo "== $$t"; $$t; done

# The two pytest runs: tests/integration + tests/faults, and tests/aws (its
# own run: its conftest moves the whole run into a private network
# namespace), side by side with SUITE_JOBS=2.  Each prints when it ends
# (make -O), and each writes
# $(REPORTS)/NAME.xml for tests/slowest.py.  The Lambda image is built once
# for both (tests/support/image_util.py): whichever needs it first builds it
# into build-image/test under a lock, the other finds it there.  Before
# them, the Debian root the booted stand-in boots: built once per machine
# from the apt repositories (out here, with the network), cached outside the
# repo (tests/support/boot_root.py says where).
TEST_IMAGE = JUMPBOX_TEST_IMAGE_DIR=$(CURDIR)/build-image/test
integration: boot-root
	rm -rf build-image/test $(REPORTS)
	$(MAKE) -j$(SUITE_JOBS) -O integration-local integration-aws

integration-local:
	$(TEST_ENV) $(TEST_IMAGE) $(PYTEST) $(PYTEST_ARGS) \
	    --junitxml=$(REPORTS)/integration.xml -n $(TEST_JOBS) tests/integration tests/faults

# The aws module on the emulated cloud (moto + the EC2 instance stand-ins).
integration-aws: boot-root
	$(TEST_ENV) $(TEST_IMAGE) $(PYTEST) $(PYTEST_ARGS) \
	    --junitxml=$(REPORTS)/aws.xml -n $(AWS_TEST_JOBS) tests/aws

boot-root:
	nice -n 10 /usr/bin/python3 tests/support/boot_root.py

demo: deps
	$(MAKE) all
	bash tests/demo.sh

bench:
	bash bench/deps.sh
	$(MAKE) all
	bash bench/run.sh

# Needs JUMPBOX_TF_PLUGIN_DIR (an unpacked provider mirror); docs/lambda.md.
image:
	nice -n 10 bash packaging/image.sh

push:
	bash packaging/push.sh

format:
	clang-format -i $(SRC_ALL)

check-format:
	@clang-format --dry-run --Werror $(SRC_ALL)

version:
	@echo '$(VERSION)'

# Installs what `make` built in $(B); units and the sweep's environment file
# get the installed paths.  An existing environment file is configuration
# and is never overwritten.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/jumpbox
	install -m 0755 $(B)/provisioner $(B)/cleaner $(DESTDIR)$(BINDIR)/
	install -m 0755 $(B)/jumpbox-localbox $(DESTDIR)$(LIBEXECDIR)/
	@set -e; for f in $(DATA_FILES); do \
	    echo "install -D -m 0644 $$f $(DESTDIR)$(DATADIR)/$$f"; \
	    install -D -m 0644 $$f $(DESTDIR)$(DATADIR)/$$f; done
	install -m 0644 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/man1/
	@set -e; for f in $(UNIT_IN); do \
	    t=$(DESTDIR)$(UNITDIR)/$$(basename $$f .in); echo "sed $$f > $$t"; \
	    sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $$f >$$t; \
	    chmod 0644 $$t; done
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/jumpbox/sweep.env ]; then \
	    echo "keeping $(DESTDIR)$(SYSCONFDIR)/jumpbox/sweep.env"; \
	else \
	    echo "install -m 0600 packaging/systemd/sweep.env $(DESTDIR)$(SYSCONFDIR)/jumpbox/"; \
	    install -m 0600 packaging/systemd/sweep.env $(DESTDIR)$(SYSCONFDIR)/jumpbox/; fi

# Removes what install put there, file by file, and then our own
# directories once empty; a sweep.env someone edited stays.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/provisioner $(DESTDIR)$(BINDIR)/cleaner \
	    $(DESTDIR)$(LIBEXECDIR)/jumpbox-localbox \
	    $(addprefix $(DESTDIR)$(DATADIR)/,$(DATA_FILES)) \
	    $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN_PAGES))) \
	    $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNIT_IN:.in=)))
	@if cmp -s packaging/systemd/sweep.env $(DESTDIR)$(SYSCONFDIR)/jumpbox/sweep.env; then \
	    rm -f $(DESTDIR)$(SYSCONFDIR)/jumpbox/sweep.env; \
	elif [ -e $(DESTDIR)$(SYSCONFDIR)/jumpbox/sweep.env ]; then \
	    echo "keeping $(DESTDIR)$(SYSCONFDIR)/jumpbox/sweep.env: it was edited"; fi
	@for d in $(sort $(dir $(addprefix $(DESTDIR)$(DATADIR)/,$(DATA_FILES)))) \
	    $(DESTDIR)$(DATADIR)/terraform $(DESTDIR)$(DATADIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/jumpbox; do \
	    if [ -d $$d ]; then rmdir --ignore-fail-on-non-empty $$d; fi; done

# Packaging builds in trees of their own (tests point them at scratch dirs).
DEB_B ?= build-deb
DIST  ?= dist
deb:
	bash packaging/deb.sh $(DEB_B) $(DIST)

dist:
	bash packaging/dist.sh $(DIST)

clean:
	rm -rf build build-asan build-image build-fuzz build-deb dist
