#!/usr/bin/env python3
"""Reads a Parquet file with pyarrow AND with duckdb and prints what each sees as one JSON object:

{"pyarrow": {"columns": [{"name", "type", "nullable"}], "rows": [[...]], "created_by", "metadata": {...},
             "row_groups": [{"num_rows", "columns": [{"compression", "encodings", "null_count",
                                                      "has_min_max", "min", "max"}]}]},
 "duckdb":  {"columns": [{"name", "type"}], "rows": [[...]]}}

Values are rendered the same way for both readers so they can be compared one by one: decimals as
fixed-point text with every scale digit, dates as yyyy-mm-dd, timestamps as integer milliseconds since
the epoch (UTC), doubles as JSON numbers (NaN and infinities as strings), everything else as JSON.

Exits non-zero with a message on stderr when python3 lacks pyarrow or duckdb (the tests must fail then).
"""
import datetime
import decimal
import json
import math
import sys

try:
    import pyarrow
    import pyarrow.parquet as pq
except ImportError as error:
    sys.exit(f"pyarrow is required: pip install -r scripts/requirements.txt ({error})")
try:
    import duckdb
except ImportError as error:
    sys.exit(f"duckdb is required: pip install -r scripts/requirements.txt ({error})")

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def render(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return format(value, 'f')
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return (value - EPOCH) // datetime.timedelta(milliseconds=1)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot render {type(value).__name__}")


def read_pyarrow(path):
    file = pq.ParquetFile(path)
    table = file.read()
    columns = [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in table.schema]
    data = [table.column(i).to_pylist() for i in range(table.num_columns)]
    rows = [[render(column[r]) for column in data] for r in range(table.num_rows)]
    meta = file.metadata
    groups = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        chunks = []
        for c in range(group.num_columns):
            chunk = group.column(c)
            stats = chunk.statistics
            entry = {"compression": chunk.compression, "encodings": list(chunk.encodings)}
            if stats is not None:
                entry["null_count"] = stats.null_count
                entry["has_min_max"] = stats.has_min_max
                if stats.has_min_max:
                    entry["min"] = render(stats.min)
                    entry["max"] = render(stats.max)
            chunks.append(entry)
        groups.append({"num_rows": group.num_rows, "columns": chunks})
    kv = {k.decode(): v.decode() for k, v in (meta.metadata or {}).items()}
    return {"columns": columns, "rows": rows, "created_by": meta.created_by, "metadata": kv, "row_groups": groups}


def read_duckdb(path):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
    columns = [{"name": row[0], "type": row[1]} for row in described]
    # duckdb hands TIMESTAMPTZ to Python through pytz; ask for the epoch milliseconds instead.
    select = ", ".join(
        f'epoch_ms("{c["name"]}")' if c["type"] == "TIMESTAMP WITH TIME ZONE" else f'"{c["name"]}"' for c in columns
    )
    fetched = con.execute(f"SELECT {select} FROM read_parquet(?)", [path]).fetchall()
    rows = [[render(v) for v in row] for row in fetched]
    return {"columns": columns, "rows": rows}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: read_parquet.py FILE.parquet")
    path = sys.argv[1]
    print(json.dumps({"pyarrow": read_pyarrow(path), "duckdb": read_duckdb(path)}))


if __name__ == '__main__':
    main()
