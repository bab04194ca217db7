"""The project file: an extract's column names and dialect, written once.

A ``segment.toml`` in the working directory (or the file given with
``--config``) maps the standard roles to the extract's column names, and may
say how to read it, so that a Makefile does not repeat ``--id CustomerID
--month BILL_MONTH ...`` on every line::

    [columns]
    id = "CustomerID"
    month = "BILL_MONTH"
    voice = "MOU"
    revenue = "MonthlyRevenue"
    target = "Churn=Yes"

    [read]
    separator = ";"
    decimal_comma = true
    null_values = ["?"]

A role is the name of the option it sets (``id`` sets ``--id``); options
given on the command line win.

Examples
--------
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "segment.toml")
>>> _ = open(path, "w").write('[columns]\\nid = "CustomerID"\\n[read]\\nseparator = ";"\\n')
>>> project = load_project(path)
>>> project.columns, project.read
({'id': 'CustomerID'}, {'separator': ';'})
>>> project.defaults()
{'id': 'CustomerID', 'separator': ';'}
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segment.errors import OptionError

#: The file looked for in the working directory.
PROJECT_FILE = "segment.toml"
#: Roles a project file can name, each the option it sets.
ROLES = ("id", "date", "amount", "quantity", "order", "month", "voice", "data", "revenue", "metric", "status",
         "identity", "activation", "target", "segment", "outcome", "item", "features")
#: Reading options a project file can set (``[read]``), with their types.
READ_OPTIONS = {"separator": str, "decimal_comma": bool, "null_values": list, "replace_null_values": bool,
                "sheet": str}


@dataclass
class Project:
    """A project file's content: ``columns`` (role -> column name) and ``read`` options."""

    path: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    read: dict[str, Any] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        """Option name -> value, as the command line would give them."""
        return {**self.columns, **self.read}

    def describe(self) -> dict[str, Any]:
        """The project's entry in provenance and in ``segment info --config``."""
        return {"path": self.path, "columns": dict(self.columns), "read": dict(self.read)}


def find_project(folder: str | Path = ".") -> Path | None:
    """``segment.toml`` in *folder*, if there is one."""
    path = Path(folder) / PROJECT_FILE
    return path if path.is_file() else None


def load_project(path: str | Path) -> Project:
    """Read and check a project file.

    Raises
    ------
    OptionError
        The file is missing or not TOML, or names an unknown role, an unknown
        reading option, or a value of the wrong type.
    """
    name = str(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise OptionError(f"project file {name!r} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise OptionError(f"cannot read project file {name!r}: {exc}") from None
    unknown = sorted(set(data) - {"columns", "read"})
    if unknown:
        raise OptionError(f"project file {name!r} has a section {unknown[0]!r}; it may have [columns] and [read]")
    columns = data.get("columns", {})
    for role, column in columns.items():
        if role not in ROLES:
            raise OptionError(f"project file {name!r} names an unknown role {role!r} under [columns]; "
                              f"roles are {', '.join(ROLES)}")
        if not isinstance(column, str) or not column:
            raise OptionError(f"project file {name!r}: [columns] {role} must be a column name in quotes, "
                              f"got {column!r}")
    read = data.get("read", {})
    for key, value in read.items():
        if key not in READ_OPTIONS:
            raise OptionError(f"project file {name!r} has an unknown [read] option {key!r}; "
                              f"options are {', '.join(READ_OPTIONS)}")
        if not isinstance(value, READ_OPTIONS[key]):
            raise OptionError(f"project file {name!r}: [read] {key} must be a {READ_OPTIONS[key].__name__}, "
                              f"got {value!r}")
    return Project(name, dict(columns), dict(read))
