"""The Lean server's source: its parts under `lean_project/ProverServer/`, joined into the one file
Lean runs.

The embedded Lean cannot import modules of ours: only the exported `.olean` level is loaded there,
and compiled code of an imported module reaches auxiliary definitions (`…_closed_N`) that only the
other levels carry (tried: `#eval` of an imported `Json` constant fails with "unknown declaration
'A.j._closed_6'"); nor can the sandboxed build write `.olean` files. So the server stays one file,
kept as parts with one job each (the list and order are in `SERVER_PARTS`, and the header of
`Header.lean` describes them) and joined when a server starts. The joined file is written next to
the channel as `ProverServer.lean`, so Lean's module name, and with it private and hygienic names
(`_private.ProverServer.0.…`), stay what they were.

`python -m prover.lean.server_source FILE` writes the joined file (e.g. for `lake build` with a
native toolchain).
"""

from __future__ import annotations

import sys
from pathlib import Path

from prover.lean.errors import LeanRuntimeNotFound
from prover.lean.runtime import server_source_dir

SERVER_FILE = "ProverServer.lean"
PARTS_DIR = "ProverServer"
# In this order: each part may use what the parts before it define; the header must come first
# (`module` and the imports open the file).
SERVER_PARTS: tuple[str, ...] = (
    "Header.lean",
    "Protocol.lean",
    "StateStore.lean",
    "Handlers/Support.lean",
    "Handlers/Text.lean",
    "Handlers/Audit.lean",
    "Handlers/Proof.lean",
    "Handlers/Terms.lean",
    "Loop.lean",
)


def part_marker(part: str) -> str:
    """The comment line that opens a part in the joined file (Lean's positions are the joined
    file's; the marker says which part a line belongs to)."""
    return f"-- ==== part: {PARTS_DIR}/{part} ===="


def server_parts(project: Path | None = None) -> tuple[Path, ...]:
    """The parts' paths, in order, under `project` (default: `server_source_dir()`)."""
    root = (project or server_source_dir()) / PARTS_DIR
    return tuple(root / part for part in SERVER_PARTS)


def server_source(project: Path | None = None) -> str:
    """The joined server file: each part verbatim after its marker line.

    Raises:
        LeanRuntimeNotFound: a part is missing (an incomplete `lean_project/`).
    """
    chunks = []
    for part, path in zip(SERVER_PARTS, server_parts(project), strict=True):
        if not path.is_file():
            raise LeanRuntimeNotFound(f"the Lean server's part {path} is missing: lean_project/ is "
                                      "incomplete (or set PROVER_LEAN_PROJECT to a complete one)")
        text = path.read_text(encoding="utf-8")
        chunks.append(part_marker(part) + "\n" + text + ("" if text.endswith("\n") else "\n"))
    return "\n".join(chunks)


def write_server_file(dest: Path, project: Path | None = None) -> Path:
    """Write the joined server file to `dest` (a file path) and return it."""
    dest.write_text(server_source(project), encoding="utf-8")
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m prover.lean.server_source FILE")
    print(write_server_file(Path(sys.argv[1])))
