#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Validate kvmlocktrace JSON reports against docs/json-schema.json.
# Usage: tests/unit/validate-json.sh REPORT.json [...]   (from the top of the tree, or set
# KLT_SRCDIR). Exit 0 = valid, 1 = invalid, 77 = python3-jsonschema missing (skip).
top=${KLT_SRCDIR:-.}
schema="$top/docs/json-schema.json"
python3 -c 'import jsonschema' 2>/dev/null || { echo "python3-jsonschema not installed" >&2; exit 77; }
exec python3 - "$schema" "$@" <<'PY'
import json, sys
import jsonschema

with open(sys.argv[1]) as f:
    schema = json.load(f)
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
validator = cls(schema)
bad = 0
for path in sys.argv[2:]:
    with open(path) as f:
        doc = json.load(f)
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.path)):
        bad = 1
        loc = "/".join(str(p) for p in err.absolute_path)
        print(f"{path}: /{loc}: {err.message}", file=sys.stderr)
sys.exit(bad)
PY
