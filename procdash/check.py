"""``procdash check``: validate the Procfile, .env and options file, and show the formation."""

from __future__ import annotations

import argparse
import json
import sys

from procdash.cli import project_from
from procdash.core.depends import start_levels
from procdash.core.formation import port_for
from procdash.core.typeoptions import option_summary


def run_check(args: argparse.Namespace) -> int:
    """Validate everything and print each type with its count, ports and command."""
    project = project_from(args)
    width = max(len(name) for name in project.type_names)
    print(f"{project.procfile}: {len(project.types)} process types, root {project.root}")
    for index, t in enumerate(project.types):
        count = project.counts[t.name]
        if count == 0:
            ports = "-"
        elif count == 1:
            ports = str(port_for(project.base_port, index, 1))
        else:
            ports = f"{port_for(project.base_port, index, 1)}-{port_for(project.base_port, index, count)}"
        print(f"  {t.name:<{width}}  x{count}  port {ports:<11}  {t.command}")
    if project.env_files:
        print(f"env: {', '.join(str(p) for p in project.env_files)} ({len(project.dotenv)} variables)")
    side = project.sidefile
    if side.path is not None:
        print(f"options: {side.path}")
        for key, value in side.defaults.items():
            print(f"  {key} = {toml_value(value)}")
        for t in project.types:
            parts = option_summary(project.options_for(t.name))
            if parts:
                print(f"  {t.name:<{width}}  " + "; ".join(parts))
    graph = {name: opts.depends_on for name, opts in side.types.items()}
    if any(graph.values()):
        levels = start_levels(project.type_names, graph)
        print("start order: " + " -> ".join(", ".join(level) for level in levels) + " (stop in reverse)")
    sys.stdout.flush()  # the table first, then honcho's line that scripts grep for, on stderr as honcho has it
    print(f"Valid procfile detected ({', '.join(project.type_names)})", file=sys.stderr)
    return 0


def toml_value(value: object) -> str:
    """A setting as it would be written in Procfile.toml (for ``check``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return json.dumps(value) if isinstance(value, str) else str(value)
