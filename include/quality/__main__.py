"""Run a gate by hand: `python -m include.quality raw|staging|publication [--table schema.table ...]`.

Uses WAREHOUSE_URL / the embedded server, AS_OF and EXPORT_DIR like the DAGs; prints one line per
failed expectation and exits 1 when a blocking expectation failed.
"""

from __future__ import annotations

import argparse
import sys

from include import settings, warehouse
from include.quality.gate import CHECKPOINTS, run_gate


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.quality", description=__doc__)
    parser.add_argument("checkpoint", choices=CHECKPOINTS)
    parser.add_argument("--table", action="append", dest="tables", help="only this table (repeatable)")
    args = parser.parse_args(argv)
    as_of = settings.as_of()
    result = run_gate(
        warehouse.url(),
        args.checkpoint,
        as_of,
        settings.export_dir() / as_of.isoformat() / "quality",
        tables=args.tables,
    )
    for kind, failures in (("BLOCKING", result["blocking_failures"]), ("warning", result["warnings"])):
        for f in failures:
            column = f".{f['column']}" if f.get("column") else ""
            print(f"{kind:<8} {f['table']}{column}: {f['description'] or f['expectation']} (observed {f['observed']})")
    verdict = "passed" if result["success"] else "BLOCKED"
    print(
        f"gate {args.checkpoint} for AS_OF {as_of}: {verdict}, {len(result['results'])} expectations, "
        f"{len(result['blocking_failures'])} blocking failures, {len(result['warnings'])} warnings; "
        f"data docs: {result['docs_path']}"
    )
    return 0 if result["success"] else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
