"""The Lean server's parts and the one file they are joined into (no Lean needed: that the joined
file runs is what every test against the real Lean checks)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from prover.lean.errors import LeanRuntimeNotFound
from prover.lean.runtime import server_source_dir
from prover.lean.server_source import (
    PARTS_DIR,
    SERVER_FILE,
    SERVER_PARTS,
    part_marker,
    server_source,
    write_server_file,
)


def test_every_part_on_disk_is_joined_exactly_once() -> None:
    root = server_source_dir() / PARTS_DIR
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.lean"))
    assert len(set(SERVER_PARTS)) == len(SERVER_PARTS)
    assert sorted(SERVER_PARTS) == on_disk


def test_joined_file_keeps_the_parts_in_order_behind_their_markers() -> None:
    text = server_source()
    starts = [text.index(part_marker(p) + "\n") for p in SERVER_PARTS]
    assert starts == sorted(starts) and starts[0] == 0
    root = server_source_dir() / PARTS_DIR
    for p, start in zip(SERVER_PARTS, starts, strict=True):
        body = (root / p).read_text(encoding="utf-8")
        assert text[start + len(part_marker(p)) + 1:].startswith(body), p


def test_header_opens_the_file_and_every_other_part_is_its_own_namespace_block() -> None:
    root = server_source_dir() / PARTS_DIR
    header = (root / SERVER_PARTS[0]).read_text(encoding="utf-8")
    # `module` must be the first command: only a comment may come before it.
    before = header[:header.index("\nmodule\n")]
    assert before.startswith("/-") and before.rstrip().endswith("-/") and before.count("-/") == 1
    for p in SERVER_PARTS[1:]:
        body = (root / p).read_text(encoding="utf-8")
        assert len(re.findall(r"^namespace ProverServer$", body, re.M)) == 1, p
        assert len(re.findall(r"^end ProverServer$", body, re.M)) == 1, p
        assert re.search(r"^namespace ProverServer\nopen Lean Elab$", body, re.M), p
    assert server_source().rstrip().endswith("end ProverServer\n\n#eval ProverServer.serve")


def test_write_server_file_writes_the_joined_source(tmp_path: Path) -> None:
    dest = write_server_file(tmp_path / SERVER_FILE)
    assert dest.read_text(encoding="utf-8") == server_source()


def test_a_missing_part_is_named(tmp_path: Path) -> None:
    shutil.copytree(server_source_dir() / PARTS_DIR, tmp_path / PARTS_DIR)
    (tmp_path / PARTS_DIR / "StateStore.lean").unlink()
    with pytest.raises(LeanRuntimeNotFound, match=r"StateStore\.lean is missing"):
        server_source(tmp_path)
