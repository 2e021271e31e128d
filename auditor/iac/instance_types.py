"""EC2 instance facts (architecture, GPU vendor) for cluster configurations read offline.

The facts are EC2's own DescribeInstanceTypes data (ProcessorInfo.SupportedArchitectures,
GpuInfo.Gpus[].Manufacturer), taken from a named, versioned source and written to instance_types.json
beside this module by

    python -m auditor.iac.instance_types --write

The source is the instance-type data moto ships (moto/ec2/resources/instance_types.json.gz, a copy of
DescribeInstanceTypes answers); the file records the source and moto's version in its header.
A type the table does not hold is unknown (ERROR, naming the type and this command), never guessed from
its name. `--check` exits 1 when the checked-in table differs from what the installed moto gives.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata
import importlib.util
import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

TABLE = Path(__file__).resolve().parent / "instance_types.json"
REFRESH_COMMAND = "python -m auditor.iac.instance_types --write"
SOURCE_FILE = "moto/ec2/resources/instance_types.json.gz"


def moto_data_file() -> Path | None:
    """moto's DescribeInstanceTypes data in the installed moto package (None: moto or the file is absent)."""
    spec = importlib.util.find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "ec2" / "resources" / "instance_types.json.gz"
    return path if path.is_file() else None


def facts_of(entry: dict[str, Any]) -> dict[str, Any]:
    """One DescribeInstanceTypes item -> {architectures, gpu_manufacturers}."""
    architectures = sorted(str(a) for a in (entry.get("ProcessorInfo") or {}).get("SupportedArchitectures") or [])
    gpus = (entry.get("GpuInfo") or {}).get("Gpus") or []
    manufacturers = sorted({str(g.get("Manufacturer")) for g in gpus if g.get("Manufacturer")})
    return {"architectures": architectures, "gpu_manufacturers": manufacturers}


def generate(data_file: Path) -> dict[str, Any]:
    """The table as the refresh writes it, from moto's data file."""
    raw = json.loads(gzip.decompress(data_file.read_bytes()))
    if not isinstance(raw, dict):
        raise ValueError(f"{data_file}: not a mapping of instance types")
    types = {str(name): facts_of(entry) for name, entry in sorted(raw.items()) if isinstance(entry, dict)}
    return {
        "source": f"moto {importlib.metadata.version('moto')}, {SOURCE_FILE} (EC2 DescribeInstanceTypes answers)",
        "moto_version": importlib.metadata.version("moto"),
        "generated_by": REFRESH_COMMAND,
        "fields": "architectures: ProcessorInfo.SupportedArchitectures; "
                  "gpu_manufacturers: GpuInfo.Gpus[].Manufacturer",
        "types": types,
    }


def render(table: dict[str, Any]) -> str:
    """One line per instance type, so that a refresh reads as a short diff."""
    head = {k: v for k, v in table.items() if k != "types"}
    lines = ["{"]
    for key, value in head.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value)},")
    lines.append('  "types": {')
    items = list(table["types"].items())
    for index, (name, facts) in enumerate(items):
        comma = "," if index < len(items) - 1 else ""
        lines.append(f"    {json.dumps(name)}: {json.dumps(facts, sort_keys=True)}{comma}")
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


@cache
def table() -> dict[str, Any]:
    return dict(json.loads(TABLE.read_text(encoding="utf-8")))


def lookup(instance_type: str) -> dict[str, Any] | None:
    """The facts of one instance type, or None when the table does not hold it."""
    found = table()["types"].get(instance_type)
    return dict(found) if isinstance(found, dict) else None


def family_members(family: str) -> list[str]:
    """Every instance type of a family in the table (`c5` -> c5.large, c5.xlarge, ...)."""
    return [name for name in table()["types"] if name.split(".", 1)[0] == family]


def source() -> str:
    return f"moto {table().get('moto_version')}'s DescribeInstanceTypes data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m auditor.iac.instance_types", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help=f"write {TABLE.name} from the installed moto")
    group.add_argument("--check", action="store_true", help=f"exit 1 when {TABLE.name} differs from the installed moto")
    args = parser.parse_args(argv)
    data_file = moto_data_file()
    if data_file is None:
        print(f"error: moto's {SOURCE_FILE} is not installed (pip install 'moto>=5'); nothing written",
              file=sys.stderr)
        return 2
    generated = generate(data_file)
    text = render(generated)
    if args.check:
        same = TABLE.is_file() and TABLE.read_text(encoding="utf-8") == text
        print(f"{TABLE.name}: {'up to date' if same else 'differs from the installed moto; run ' + REFRESH_COMMAND}")
        return 0 if same else 1
    TABLE.write_text(text, encoding="utf-8")
    print(f"wrote {TABLE} ({len(generated['types'])} instance types, {generated['source']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
