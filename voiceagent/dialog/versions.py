"""Every accepted version of every dialogs file, kept in the database: who, when, the diff.

The files in ``dialogs/`` are what serves calls; the database remembers each version
that was accepted, so an admin can see what changed and roll back. A change is accepted
only if the whole directory still validates with it.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, update

from voiceagent.dialog.actions import ACTIONS
from voiceagent.dialog.loader import OUT_OF_SCOPE_FILE, FlowErrors, flow_files, load_flows
from voiceagent.handoff.loader import validate_policy_file
from voiceagent.store import Database
from voiceagent.store.models import FlowVersion
from voiceagent.yamlsource import Problem

POLICY_FILE = "policy.yaml"


@dataclass(frozen=True)
class VersionInfo:
    name: str  # the file, relative to the dialogs directory ("flows/book_appointment.yaml")
    version: int
    author: str
    created_at: datetime
    active: bool
    diff: str | None


def managed_files(dialogs_dir: Path) -> list[Path]:
    """Every file admins edit: flows, patterns, the policy and the out-of-scope list."""
    extra = [dialogs_dir / POLICY_FILE, dialogs_dir / OUT_OF_SCOPE_FILE]
    return [*flow_files(dialogs_dir), *(p for p in extra if p.exists())]


def files_stamp(dialogs_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, modification time and size of every managed file: cheap to take, and it
    changes with any edit, so a missed file event is caught by comparing stamps."""
    stamp = []
    for path in managed_files(dialogs_dir):
        try:
            stat = path.stat()
        except FileNotFoundError:  # removed between listing and stat: the next stamp says so
            continue
        stamp.append((path.relative_to(dialogs_dir).as_posix(), stat.st_mtime_ns, stat.st_size))
    return tuple(stamp)


def validate_dialogs(dialogs_dir: Path) -> list[Problem]:
    """All problems in the directory: flows, patterns, out-of-scope list and policy."""
    problems: list[Problem] = []
    try:
        load_flows(dialogs_dir, ACTIONS.names)
    except FlowErrors as exc:
        problems += exc.problems
    policy = dialogs_dir / POLICY_FILE
    if policy.exists():
        problems += validate_policy_file(policy)
    return sorted(problems)


def record_versions(db: Database, dialogs_dir: Path, author: str) -> list[VersionInfo]:
    """Store the current text of every file whose active version differs; returns the new
    versions. Call it after the directory validated."""
    created: list[VersionInfo] = []
    with db.session() as session:
        for path in managed_files(dialogs_dir):
            name = path.relative_to(dialogs_dir).as_posix()
            text = path.read_text(encoding="utf-8")
            active = session.scalars(
                select(FlowVersion).where(FlowVersion.flow_name == name, FlowVersion.active)
            ).first()
            if active is not None and active.yaml_text == text:
                continue
            last = session.scalar(
                select(func.max(FlowVersion.version)).where(FlowVersion.flow_name == name)
            )
            diff = _diff(active.yaml_text if active else "", text, name)
            session.execute(
                update(FlowVersion).where(FlowVersion.flow_name == name).values(active=False)
            )
            row = FlowVersion(
                flow_name=name,
                version=(last or 0) + 1,
                yaml_text=text,
                author=author,
                active=True,
                diff=diff,
            )
            session.add(row)
            session.flush()
            created.append(_info(row))
    return created


def history(db: Database, name: str | None = None) -> list[VersionInfo]:
    with db.session() as session:
        stmt = select(FlowVersion).order_by(FlowVersion.flow_name, FlowVersion.version)
        if name is not None:
            stmt = stmt.where(FlowVersion.flow_name == name)
        return [_info(row) for row in session.scalars(stmt)]


def version_text(db: Database, name: str, version: int) -> str | None:
    with db.session() as session:
        return session.scalar(
            select(FlowVersion.yaml_text).where(
                FlowVersion.flow_name == name, FlowVersion.version == version
            )
        )


def propose(dialogs_dir: Path, name: str, text: str) -> list[Problem]:
    """Problems the directory would have with ``name`` replaced by ``text`` (nothing is
    written). Problems are reported against the real file name."""
    target = _safe_target(dialogs_dir, name)
    with tempfile.TemporaryDirectory(prefix="dialogs-") as scratch:
        copy = Path(scratch) / "dialogs"
        shutil.copytree(dialogs_dir, copy, ignore=shutil.ignore_patterns("scenarios"))
        candidate = copy / target.relative_to(dialogs_dir)
        candidate.parent.mkdir(parents=True, exist_ok=True)
        candidate.write_text(text, encoding="utf-8")
        problems = validate_dialogs(copy)
    return [
        Problem(p.file.replace(str(copy), str(dialogs_dir)), p.line, p.column, p.message)
        for p in problems
    ]


def write_version(
    db: Database, dialogs_dir: Path, name: str, text: str, author: str
) -> list[Problem]:
    """Validate, then write the file atomically and record the version; on any problem
    nothing changes and the problems are returned."""
    problems = propose(dialogs_dir, name, text)
    if problems:
        return problems
    target = _safe_target(dialogs_dir, name)
    _atomic_write(target, text)
    record_versions(db, dialogs_dir, author)
    return []


def rollback(
    db: Database, dialogs_dir: Path, name: str, version: int, author: str
) -> list[Problem]:
    text = version_text(db, name, version)
    if text is None:
        return [Problem(name, 1, 1, f"there is no version {version} of {name}")]
    return write_version(db, dialogs_dir, name, text, f"{author} (rollback to v{version})")


def _safe_target(dialogs_dir: Path, name: str) -> Path:
    """Only files inside the dialogs directory, and only YAML, may be written."""
    target = (dialogs_dir / name).resolve()
    if dialogs_dir.resolve() not in target.parents or target.suffix != ".yaml":
        raise ValueError(f"{name!r} is not a dialogs file")
    return target


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _diff(old: str, new: str, name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"{name} (before)",
        tofile=f"{name} (after)",
    )
    return "".join(lines)


def _info(row: FlowVersion) -> VersionInfo:
    return VersionInfo(row.flow_name, row.version, row.author, row.created_at, row.active, row.diff)


def describe(versions: Iterable[VersionInfo]) -> list[str]:
    return [
        f"{v.name} v{v.version} {'(active) ' if v.active else ''}"
        f"{v.created_at:%Y-%m-%d %H:%M} by {v.author}"
        for v in versions
    ]
