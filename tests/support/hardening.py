"""Is a program built hardened?  Read from the binary with binutils
(readelf, objdump), the properties Debian's hardening-check looks for and
one it cannot see:

- PIE: ELF type DYN with DF_1_PIE;
- full RELRO: a GNU_RELRO segment and BIND_NOW;
- the stack protector: __stack_chk_fail imported;
- _FORTIFY_SOURCE: glibc's checked calls (__snprintf_chk, ...) imported;
- stack clash protection: functions with frames over a page probe each page
  (`or $0x0,(%rsp)`; x86-64 only), and with debug info, every one of our
  compilation units names -fstack-protector-strong and
  -fstack-clash-protection among its flags (DW_AT_producer)."""
import os
import re
import subprocess


def _out(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120).stdout


def problems(path, debug_info=False):
    """What is missing from the binary at path; [] when it is hardened.
    debug_info: it is not stripped, so its compile flags must be there."""
    path = str(path)
    missing = []
    if not re.search(r"^\s*Type:\s+DYN\b", _out("readelf", "-hW", path), re.M):
        missing.append("not PIE (ELF type is not DYN)")
    dyn = _out("readelf", "-dW", path)
    flags_1 = " ".join(re.findall(r"\(FLAGS_1\)\s+Flags:(.*)$", dyn, re.M)).split()
    flags = " ".join(re.findall(r"\(FLAGS\)\s+(.*)$", dyn, re.M)).split()
    if "PIE" not in flags_1:
        missing.append("not PIE (no DF_1_PIE)")
    if "BIND_NOW" not in flags and "NOW" not in flags_1:
        missing.append("no BIND_NOW (-z now)")
    if not re.search(r"^\s*GNU_RELRO\s", _out("readelf", "-lW", path), re.M):
        missing.append("no GNU_RELRO segment (-z relro)")
    # "  12: 0000000000000000  0 FUNC  GLOBAL DEFAULT  UND __stack_chk_fail@GLIBC_2.4 (3)"
    syms = {f[7].split("@")[0] for f in map(str.split, _out("readelf", "--dyn-syms", "-W",
                                                             path).splitlines())
            if len(f) >= 8 and f[0].rstrip(":").isdigit()}
    if "__stack_chk_fail" not in syms:
        missing.append("no stack protector (__stack_chk_fail)")
    if not any(s.endswith("_chk") and s != "__stack_chk_fail" for s in syms):
        missing.append("not fortified (no *_chk calls)")
    if os.uname().machine == "x86_64":
        code = _out("objdump", "-d", "--no-show-raw-insn", path)
        if not re.search(r"\bor[lq]?\s+\$0x0,\(%rsp\)", code):
            missing.append("no stack clash probes (or $0x0,(%rsp))")
    info = _out("readelf", "--debug-dump=info", path)
    ours = [p for p in re.findall(r"DW_AT_producer\s*:.*?(GNU C\S* .*)$", info, re.M)
            if "-std=c11" in p.split()]
    if debug_info and not ours:
        missing.append("no debug info naming our compilation units' flags")
    for flag in ("-fstack-protector-strong", "-fstack-clash-protection"):
        lacking = [p for p in ours if flag not in p.split()]
        if lacking:
            missing.append(f"{len(lacking)} of {len(ours)} compilation units without {flag}")
    return missing


def assert_hardened(*paths, debug_info=False):
    found = {str(p): problems(p, debug_info) for p in paths}
    assert not any(found.values()), {p: m for p, m in found.items() if m}
