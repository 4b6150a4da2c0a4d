"""Read instrument files (YAML) into ``Instrument`` objects, checking everything.

The loader never stops at the first problem: it collects every problem in a file (and,
for ``load_directory``, in every file) and raises one ``InstrumentError`` listing them as
``file:line: where: reason`` lines, so the app can refuse to start and say why.
The file format is documented in ``docs/instruments.md``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .builder import build_instrument
from .model import Instrument
from .problems import InstrumentError, Problem
from .register import Register, check_published, read_register, write_register
from .yamlio import YamlError, read_yaml

__all__ = [
    "Problem",
    "InstrumentError",
    "load_instrument",
    "loads_instrument",
    "load_directory",
    "publish_instrument",
]


def _parse_text(text: str, file: str) -> tuple[Instrument | None, list[Problem]]:
    try:
        data = read_yaml(text)
    except YamlError as exc:
        return None, [Problem(file, "instrument", f"not valid YAML: {exc.reason}", exc.line)]
    return build_instrument(data, file)


def loads_instrument(text: str, source: str = "<text>") -> Instrument:
    """Parse an instrument from YAML text (e.g. a version stored in the database).

    ``source`` names it in error messages. Raises ``InstrumentError``.
    """
    inst, problems = _parse_text(text, source)
    if problems or inst is None:
        raise InstrumentError(problems)
    return inst


def _load(path: Path, register: Register) -> tuple[Instrument | None, list[Problem]]:
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(file, "instrument", f"cannot read the file: {exc}")]
    inst, problems = _parse_text(text, file)
    if inst is None:
        return None, problems
    problems = check_published(inst, register, file)
    if problems:
        return None, problems
    published = (inst.key, inst.version) in register
    return replace(inst, published=published), []


def load_instrument(path: str | Path) -> Instrument:
    """Load and check one instrument file; raise ``InstrumentError`` listing every problem.

    If the file's directory has a ``_published.yaml`` register, a published version must
    still have its recorded content hash.
    """
    path = Path(path)
    register, problems = read_register(path.parent)
    inst, more = _load(path, register)
    problems += more
    if problems or inst is None:
        raise InstrumentError(problems)
    return inst


def load_directory(directory: str | Path) -> dict[str, Instrument]:
    """Load every ``*.yaml`` instrument in ``directory`` (files starting with ``_`` are not
    instruments), keyed by instrument key. Raises one ``InstrumentError`` listing every
    problem in every file, including two files declaring the same key."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InstrumentError([Problem(str(directory), "directory", "does not exist")])
    register, problems = read_register(directory)
    found: dict[str, Instrument] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        inst, more = _load(path, register)
        problems += more
        if inst is None:
            continue
        if inst.key in found:
            other = found[inst.key].source
            problems.append(
                Problem(str(path), "instrument", f"key '{inst.key}' is also used by {other}")
            )
            continue
        found[inst.key] = inst
    if problems:
        raise InstrumentError(problems)
    return found


def publish_instrument(path: str | Path) -> tuple[Instrument, bool]:
    """Record the file's version as published in its directory's ``_published.yaml``.

    Returns (instrument, True) when newly recorded, (instrument, False) when that version
    was already published with the same content. Raises ``InstrumentError`` when the file
    is broken or the register cannot be written.
    """
    path = Path(path)
    inst = load_instrument(path)  # refuses a changed published version
    if inst.published:
        return inst, False
    register, problems = read_register(path.parent)
    register[(inst.key, inst.version)] = inst.content_hash
    try:
        write_register(path.parent, register)
    except OSError as exc:
        raise InstrumentError(
            [Problem(str(path.parent), "register", f"cannot write: {exc}")]
        ) from None
    return replace(inst, published=True), True
