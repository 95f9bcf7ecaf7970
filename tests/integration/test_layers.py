"""tests/layers.py, the check `make test` runs on lib/'s layering and on
docs/architecture.md, fails on each thing it is there to catch."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ROOT / "tests" / "layers.py"


@pytest.fixture
def tree(tmp_path):
    for d in ("lib", "docs", "common", "provisioner", "cleaner", "localbox"):
        shutil.copytree(ROOT / d, tmp_path / d)
    return tmp_path


def check(root):
    return subprocess.run([sys.executable, str(LAYERS), "--root", str(root)],
                          capture_output=True, text=True, timeout=120)


def edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_repo_passes(tree):
    r = check(tree)
    assert r.returncode == 0, r.stderr
    assert "no cycle" in r.stdout


def test_an_include_from_a_higher_layer_fails(tree):
    edit(tree / "lib/net/http.c", '#include "net/http.h"\n',
         '#include "net/http.h"\n#include "aws/creds.h"\n')
    r = check(tree)
    assert r.returncode == 1
    assert 'lib/net/http.c: includes "aws/creds.h": layer net may include only base, net' in r.stderr


def test_an_include_without_its_layer_fails(tree):
    edit(tree / "lib/aws/s3.c", '#include "base/err.h"', '#include "err.h"')
    r = check(tree)
    assert r.returncode == 1
    assert 'lib/aws/s3.c: includes "err.h": not lib/LAYER/NAME.h' in r.stderr


def test_a_cycle_within_a_layer_fails(tree):
    # http.c once reached creds, whose sources reached http: the cycle #12 removed.
    edit(tree / "lib/aws/s3.h", "#define JB_S3_H\n", '#define JB_S3_H\n#include "aws/sfn.h"\n')
    edit(tree / "lib/aws/sfn.h", "#define JB_SFN_H\n", '#define JB_SFN_H\n#include "aws/s3.h"\n')
    r = check(tree)
    assert r.returncode == 1
    assert "include cycle: aws/s3 -> aws/sfn -> aws/s3" in r.stderr


def test_a_file_outside_the_layers_fails(tree):
    (tree / "lib/misc.c").write_text("int x;\n")
    (tree / "lib/util").mkdir()
    r = check(tree)
    assert r.returncode == 1
    assert "lib/misc.c: every lib file sits in a layer folder" in r.stderr
    assert "lib/util/: not a layer" in r.stderr


def test_a_stale_module_list_fails_and_write_mends_it(tree):
    edit(tree / "lib/base/proc.h", "/* Child processes without a shell", "/* Children without a shell")
    r = check(tree)
    assert r.returncode == 1
    assert "docs/architecture.md: the module table is not the headers'" in r.stderr
    subprocess.run([sys.executable, str(LAYERS), "--root", str(tree), "--write"], check=True,
                   capture_output=True, timeout=120)
    assert "`proc` — Children without a shell" in (tree / "docs/architecture.md").read_text()
    assert check(tree).returncode == 0


def test_a_header_without_its_opening_comment_fails(tree):
    h = tree / "lib/base/strbuf.h"
    h.write_text(h.read_text().split("*/", 1)[1])
    r = check(tree)
    assert r.returncode == 1
    assert "lib/base/strbuf.h: opens with no comment saying what it is" in r.stderr


def test_a_c_file_without_its_opening_comment_fails(tree):
    text = (tree / "lib/base/env.c").read_text()
    (tree / "lib/base/env.c").write_text(text.split("*/\n", 1)[1])
    r = check(tree)
    assert r.returncode == 1
    assert "lib/base/env.c: opens with no comment saying what the file holds" in r.stderr


def test_a_clock_or_a_wipe_of_its_own_fails(tree):
    edit(tree / "lib/stack/ssh.c", "#include <unistd.h>\n",
         "#include <unistd.h>\nstatic int mono = CLOCK_MONOTONIC;\n")
    edit(tree / "lib/net/http.c", "jb_secret_wipe(", "OPENSSL_cleanse(")
    edit(tree / "localbox/box.c", "#include <unistd.h>\n",
         "#include <unistd.h>\nstatic int mono = CLOCK_MONOTONIC;\n")
    r = check(tree)
    assert r.returncode == 1
    assert "lib/stack/ssh.c: CLOCK_MONOTONIC: use jb_clock_mono_ms (base/clock.h)" in r.stderr
    assert "lib/net/http.c: OPENSSL_cleanse: use jb_secret_wipe (base/secret.h)" in r.stderr
    assert "localbox/box.c: CLOCK_MONOTONIC: use jb_clock_mono_ms (base/clock.h)" in r.stderr


def test_asking_a_state_its_kind_outside_the_store_fails(tree):
    edit(tree / "lib/stack/deadline.c", "!jb_store_is_remote(st)", "st->kind != JB_STATE_S3")
    edit(tree / "localbox/box.c", "jb_store_is_remote(&st)", "st.kind == JB_STATE_S3")
    r = check(tree)
    assert r.returncode == 1
    assert ("lib/stack/deadline.c: kind != JB_STATE_: use the store (stack/store.h)"
            in r.stderr)
    assert "localbox/box.c: kind == JB_STATE_: use the store (stack/store.h)" in r.stderr


def test_includes_out_of_layer_order_fail_and_are_fixed(tree):
    edit(tree / "lib/stack/stack.c", '#include "base/err.h"\n', "")
    edit(tree / "lib/stack/stack.c", '#include "stack/audit.h"\n',
         '#include "stack/audit.h"\n#include "base/err.h"\n')
    r = check(tree)
    assert r.returncode == 1
    assert ("lib/stack/stack.c: lib/ includes not grouped by layer, bottom first "
            "(tests/layers.py --fix-includes)") in r.stderr
    subprocess.run([sys.executable, str(LAYERS), "--root", str(tree), "--fix-includes"],
                   capture_output=True, timeout=120)
    assert check(tree).returncode == 0
    text = (tree / "lib/stack/stack.c").read_text()
    assert text.index('#include "base/err.h"') < text.index('#include "stack/audit.h"')


def test_the_environment_read_outside_the_settings_fails(tree):
    # The settings are read once (lib/stack/settings.h): a getenv of its own
    # in lib/ or in a program's command is what the check is there to catch;
    # AWS's endpoint variables stay readable where the S3 backend needs them.
    edit(tree / "lib/stack/ssh.c", "#include <unistd.h>\n",
         '#include <unistd.h>\nstatic const char *tmo(void) { return getenv("JUMPBOX_SSH_TIMEOUT"); }\n')
    edit(tree / "lib/base/log.c", "#include <unistd.h>\n",
         '#include <unistd.h>\nstatic const char *lg(void) { return jb_env("JUMPBOX_AUDIT_LOG"); }\n')
    edit(tree / "lib/stack/permit.c", "#include <string.h>\n",
         '#include <string.h>\nstatic const char *ep(void) { return getenv("AWS_ENDPOINT_URL_S3") '
         '? getenv("AWS_ENDPOINT_URL_S3") : getenv("JUMPBOX_ENDPOINT"); }\n')
    edit(tree / "provisioner/cmd_list.c", "#include <stdlib.h>\n",
         '#include <stdlib.h>\nstatic const char *st(void) { return getenv("JUMPBOX_STATE"); }\n')
    r = check(tree)
    assert r.returncode == 1
    tail = ": take it from the settings (lib/stack/settings.h)"
    assert f'lib/stack/ssh.c: getenv("JUMPBOX_SSH_TIMEOUT"){tail}' in r.stderr
    assert f'lib/base/log.c: jb_env("JUMPBOX_AUDIT_LOG"){tail}' in r.stderr
    assert f'lib/stack/permit.c: getenv("JUMPBOX_ENDPOINT"){tail}' in r.stderr
    assert f'provisioner/cmd_list.c: getenv("JUMPBOX_STATE"){tail}' in r.stderr
    # What the rules allow stays allowed: the settings, the AWS client, a
    # program's main().
    assert "lib/stack/settings.c" not in r.stderr
    assert "lib/aws/" not in r.stderr
    assert "provisioner/main.c" not in r.stderr
    assert 'getenv("AWS_ENDPOINT_URL_S3")' not in r.stderr  # AWS's own, as lib/aws reads it
