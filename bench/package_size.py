#!/usr/bin/python3
"""Package size: dist/build.zip and dist/clean.zip (zipped, and unzipped:
the sum of their files' sizes) against what the Python way of writing the
functions must ship in layers: boto3 + botocore and paramiko (with
cryptography, PyNaCl, bcrypt) and their Python dependencies.

The Python side is built, not estimated: the installed Debian packages
python3-boto3 and python3-paramiko, and every python3-* package they depend
on (recursively, through dpkg's Depends of the installed versions), have
their files under /usr/lib/python3/dist-packages zipped (deflate, as a layer
would be) into a temporary file; its size and the files' total are the two
numbers.  Prints one Markdown section; --json writes the numbers.

    package_size.py --zip dist/build.zip --zip dist/clean.zip [--json FILE]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

ROOTS = ("python3-boto3", "python3-paramiko")
SITE = "/usr/lib/python3/dist-packages/"
# The interpreter comes with the Lambda runtime; only libraries go in layers.
NOT_LAYER = re.compile(r"^python3(\.\d+)?(-minimal|-distutils|-lib2to3|-pkg-resources)?$")
GLIBC = re.compile(r"^(libc|libm|libdl|librt|libpthread|libresolv|libutil|libanl|ld-linux.*|"
                   r"libpython3.*)\.so")


def dpkg(*args):
    return subprocess.run(["dpkg-query", *args], check=True, capture_output=True,
                          text=True).stdout


def installed(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.endswith("install ok installed")


def providers():
    """virtual package -> the installed package that provides it"""
    out = {}
    for line in dpkg("-W", "-f=${Package}\t${Provides}\n").splitlines():
        pkg, _, prov = line.partition("\t")
        for v in prov.split(","):
            if v.strip() and installed(pkg):
                out.setdefault(re.sub(r"[\s(].*", "", v.strip()), pkg)
    return out


def closure():
    seen, todo, virt = set(), list(ROOTS), providers()
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        if not installed(pkg):
            raise SystemExit(f"package_size: {pkg} is not installed: bash bench/deps.sh")
        seen.add(pkg)
        for alt in dpkg("-W", "-f=${Depends},${Pre-Depends}", pkg).split(","):
            # "a (>= 1) | b": the first alternative that is installed
            for name in (re.sub(r"[\s(:].*", "", x.strip()) for x in alt.split("|")):
                name = name if installed(name) else virt.get(name, "")
                if name.startswith("python3-") and not NOT_LAYER.match(name):
                    todo.append(name)
                    break
    return sorted(seen)


def python_layer(pkgs, tmp):
    files = []
    for pkg in pkgs:
        for path in dpkg("-L", pkg).splitlines():
            if path.startswith(SITE) and os.path.isfile(path) and not os.path.islink(path):
                files.append(path)
    files = sorted(set(files))
    zpath = os.path.join(tmp, "python-layer.zip")
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            z.write(f, "python/" + f[len(SITE):])  # a layer's python/ dir
    res = {"zipped": os.path.getsize(zpath), "unzipped": sum(os.path.getsize(f) for f in files),
           "files": len(files), "packages": pkgs}
    # Debian's extension modules link the system's libssl, libsodium, libffi
    # where PyPI's wheels carry their own copies: add them the way
    # packaging/lambda.sh adds ours (everything ldd finds but glibc and
    # libpython, which the runtime has), for a second, like-for-like row.
    libs = set()
    for f in files:
        if ".so" in os.path.basename(f):
            for m in re.finditer(r"=> (/\S+)", subprocess.run(["ldd", f], capture_output=True,
                                                              text=True).stdout):
                if not GLIBC.match(os.path.basename(m.group(1))):
                    libs.add(os.path.realpath(m.group(1)))
    with zipfile.ZipFile(zpath, "a", zipfile.ZIP_DEFLATED) as z:
        for lib in sorted(libs):
            z.write(lib, "lib/" + os.path.basename(lib))
    res.update(with_libs_zipped=os.path.getsize(zpath),
               with_libs_unzipped=res["unzipped"] + sum(os.path.getsize(x) for x in libs),
               libs=sorted(os.path.basename(x) for x in libs))
    return res


def ours(path):
    with zipfile.ZipFile(path) as z:
        infos = [i for i in z.infolist() if not i.is_dir()]
        parts = {}
        for i in infos:
            top = i.filename.split("/")[0] if "/" in i.filename else i.filename
            parts[top] = parts.get(top, 0) + i.file_size
    return {"zipped": os.path.getsize(path), "unzipped": sum(i.file_size for i in infos),
            "files": len(infos), "parts": parts}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zip", action="append", required=True)
    ap.add_argument("--json")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="jumpbox-size.") as tmp:
        py = python_layer(closure(), tmp)
    res = {"python": py}
    for z in a.zip:
        res[os.path.basename(z)] = ours(z)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)

    mb = lambda b: "%.1f" % (b / 1e6)  # noqa: E731
    w = sys.stdout.write
    w("| package | zipped MB | unzipped MB | files | Python layer with its libraries / this "
      "(zipped, unzipped) |\n")
    w("|---|---:|---:|---:|---:|\n")
    for z in a.zip:
        o = res[os.path.basename(z)]
        w(f"| {z} | {mb(o['zipped'])} | {mb(o['unzipped'])} | {o['files']} "
          f"| {py['with_libs_zipped'] / o['zipped']:.1f}x, "
          f"{py['with_libs_unzipped'] / o['unzipped']:.1f}x |\n")
    w(f"| Python layer: Debian's dist-packages files, zipped here | {mb(py['zipped'])} "
      f"| {mb(py['unzipped'])} | {py['files']} | |\n")
    w(f"| the same + the shared libraries its extensions load (as our lib/) "
      f"| {mb(py['with_libs_zipped'])} | {mb(py['with_libs_unzipped'])} "
      f"| {py['files'] + len(py['libs'])} | |\n\n")
    o = res[os.path.basename(a.zip[0])]
    w(f"Unzipped, {os.path.basename(a.zip[0])} is " + ", ".join(
        f"{k} {v / 1e3:.0f} kB" for k, v in sorted(o["parts"].items(), key=lambda kv: -kv[1])) + ".  ")
    w(f"The Python layer is {len(py['packages'])} Debian packages: "
      + ", ".join(p.replace("python3-", "") for p in py["packages"]) + "; the shared libraries "
      "its extension modules load: " + ", ".join(py["libs"]) + ".\n")


if __name__ == "__main__":
    main()
