"""The project file on the command line: its roles become option defaults.

``segment.toml`` (or ``segment --config FILE``) is read once by the root
command and turned into click's ``default_map``: an option the user leaves
out takes the project's value, an option on the command line wins. The
options as resolved go into provenance like any other; the project file's
path and content go in too (:func:`project_record`).
"""

from __future__ import annotations

from typing import Any

from typer._click.core import Context  # Typer vendors click

from segment.project import Project, find_project, load_project

_KEY = "segment.project"


def apply_project(ctx: Context, path: str | None) -> Project | None:
    """Load the project file (given, or ``segment.toml`` here) and set the defaults it gives."""
    found = path or find_project()
    if found is None:
        return None
    project = load_project(found)
    ctx.meta[_KEY] = project
    ctx.default_map = {**(ctx.default_map or {}), **defaults_for(ctx.command, project.defaults())}
    return project


def defaults_for(command: Any, values: dict[str, Any]) -> dict[str, Any]:
    """``default_map`` of *command*: the values its options take, subcommands nested."""
    if hasattr(command, "commands"):  # a group: lifecycle stages / transitions / panel
        nested = {name: defaults_for(sub, values) for name, sub in command.commands.items()}
        return {name: d for name, d in nested.items() if d}
    out: dict[str, Any] = {}
    for param in command.params:
        if param.name in values and param.name != "config" and getattr(param, "param_type_name", "") == "option":
            value = values[param.name]
            out[param.name] = [value] if getattr(param, "multiple", False) and isinstance(value, str) else value
    return out


def current_project(ctx: Context | None) -> Project | None:
    """The project file in force for the running command, if any."""
    while ctx is not None:
        if _KEY in ctx.meta:
            return ctx.meta[_KEY]
        ctx = ctx.parent
    return None


def project_record(ctx: Context | None) -> dict[str, Any] | None:
    """The project file's entry in provenance."""
    project = current_project(ctx)
    return project.describe() if project else None
