"""The register of published versions: ``_published.yaml`` beside the instruments.

A published version never changes. The register maps key -> version -> content hash;
loading refuses a file whose published version no longer has its recorded hash, or whose
version is older than one already published. ``survey-instrument publish`` adds one.
"""

from __future__ import annotations

import re
from pathlib import Path

from .model import Instrument
from .problems import Problem
from .yamlio import Mapping, YamlError, read_yaml

__all__ = ["REGISTER_NAME", "Register", "read_register", "check_published", "write_register"]

REGISTER_NAME = "_published.yaml"
Register = dict[tuple[str, int], str]


def read_register(directory: Path) -> tuple[Register, list[Problem]]:
    """The published versions recorded in ``directory/_published.yaml``."""
    path = directory / REGISTER_NAME
    if not path.is_file():
        return {}, []
    file = str(path)
    try:
        data = read_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [Problem(file, "register", f"cannot read: {exc}")]
    except YamlError as exc:
        return {}, [Problem(file, "register", f"not valid YAML: {exc.reason}", exc.line)]
    register: Register = {}
    problems: list[Problem] = []
    if data in (None, ""):
        return {}, []
    if not isinstance(data, Mapping):
        return {}, [Problem(file, "register", "must map instrument key -> version -> hash")]
    for key, versions in data.items():
        if not isinstance(versions, Mapping):
            problems.append(Problem(file, key, "must map version -> sha256:... hash", data.line))
            continue
        for version, digest in versions.items():
            if not re.fullmatch(r"[1-9][0-9]*", version) or not isinstance(digest, str):
                problems.append(
                    Problem(file, key, f"bad entry {version!r}: {digest!r}", versions.line)
                )
                continue
            register[(key, int(version))] = digest
    return register, problems


def check_published(inst: Instrument, register: Register, file: str) -> list[Problem]:
    problems: list[Problem] = []
    recorded = register.get((inst.key, inst.version))
    if recorded is not None and recorded != inst.content_hash:
        problems.append(
            Problem(
                file,
                "instrument",
                f"version {inst.version} was published as {recorded} but its content now "
                f"hashes to {inst.content_hash}; a published version never changes — "
                "give the edited questionnaire a new version number",
            )
        )
    newer = [v for (k, v) in register if k == inst.key and v > inst.version]
    if newer:
        problems.append(
            Problem(
                file,
                "instrument",
                f"version {inst.version} is older than published version {max(newer)}",
            )
        )
    return problems


def write_register(directory: Path, register: Register) -> Path:
    """Write the register (sorted) to ``directory/_published.yaml``; return its path."""
    lines = [
        "# Published instrument versions: key -> version -> content hash.",
        "# Written by `survey-instrument publish`. A published version never changes:",
        "# never edit or delete a line; publish a new version instead.",
    ]
    for key in sorted({k for k, _ in register}):
        lines.append(f"{key}:")
        for version in sorted(v for k, v in register if k == key):
            lines.append(f"  {version}: {register[(key, version)]}")
    path = directory / REGISTER_NAME
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
