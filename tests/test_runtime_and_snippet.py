"""Runtime install pieces (patching, integrity, safe unpacking) and snippet splitting: no Lean."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from prover.lean import InvalidRequest, LeanRuntimeNotFound, decls
from prover.lean.runtime import GLUE_PATCHES, _safe_extract, _sri_sha512, patch_glue, verify_patched
from prover.lean.snippet import split_snippet


def _glue() -> str:
    return "/*head*/" + "|".join(p.old for p in GLUE_PATCHES) + "/*tail*/"


def test_patch_glue_applies_each_patch_once_and_verifies(tmp_path: Path) -> None:
    patched = patch_glue(_glue())
    glue = tmp_path / "lean.js"
    glue.write_text(patched, encoding="latin-1")
    assert verify_patched(glue) == [p.name for p in GLUE_PATCHES]
    # Unpatched text is reported as such, and an unknown glue is refused rather than half-patched.
    glue.write_text(_glue(), encoding="latin-1")
    assert verify_patched(glue) == []
    with pytest.raises(LeanRuntimeNotFound, match="dlsym-memo"):
        patch_glue(_glue().replace(GLUE_PATCHES[0].old, ""))
    with pytest.raises(LeanRuntimeNotFound, match="found 2 times"):
        patch_glue(_glue() + GLUE_PATCHES[0].old)


def test_sri_sha512_matches_npm_format(tmp_path: Path) -> None:
    f = tmp_path / "x.tgz"
    f.write_bytes(b"lean")
    assert _sri_sha512(f) == "sha512-" + base64.b64encode(hashlib.sha512(b"lean").digest()).decode()


def test_safe_extract_drops_resource_forks_and_escapes(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in [("package/lib/Init.olean", b"olean"), ("package/lib/._Init.olean", b"fork"),
                           ("package/../../evil.txt", b"evil")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    dest = tmp_path / "out"
    dest.mkdir()
    with tarfile.open(fileobj=buf) as tar:
        _safe_extract(tar, dest, strip="package/")
    assert (dest / "lib" / "Init.olean").read_bytes() == b"olean"
    assert not (dest / "lib" / "._Init.olean").exists()
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_split_snippet_header_statement_and_proof_forms() -> None:
    s = split_snippet("def f := 1\n-- theorem fake : False\n"
                      "/-- doc -/\ntheorem t (x : Nat := 3) : x = x := by")
    assert s.header == "def f := 1\n-- theorem fake : False\n"
    assert s.statement == "/-- doc -/\ntheorem t (x : Nat := 3) : x = x"
    assert s.name == "t"
    for tail in ["", " :=", " := by", " := by sorry", " := sorry"]:
        assert split_snippet("theorem u : True" + tail).statement == "theorem u : True"
    assert split_snippet("example : True").name is None
    with pytest.raises(InvalidRequest, match="already has a proof"):
        split_snippet("theorem u : True := trivial")
    with pytest.raises(InvalidRequest, match="does not end"):
        split_snippet('def s := "theorem inside a string"')


def test_masking_and_the_body_start() -> None:
    text = 'theorem a /- := -/ (h : "x := y") : (b := 1) = 1 := rfl'
    masked = decls.mask(text)
    assert len(masked) == len(text) and ":= -/" not in masked and "x := y" not in masked
    (d,) = decls.declarations(text)
    assert d.body_at is not None and text[d.body_at:] == ":= rfl"
    eqns = "theorem a : p\n  | x => y"
    (d,) = decls.declarations(eqns)
    assert d.body_at is not None and eqns[d.body_at:] == "| x => y"
