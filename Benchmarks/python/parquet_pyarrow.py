#!/usr/bin/env python3
"""The pyarrow side of `bench parquet`: converts the generated JSON-lines extract to Parquet with
pyarrow.json.read_json + pyarrow.parquet.write_table (Snappy, one CPU, the same explicit schema as
Sources/Bench/ParquetBench.swift) and prints its figures as JSON on stdout:
{"seconds", "rows", "peak_rss_mb", "file_bytes"}; with --verify OURS also reads the Swift writer's
file back and compares it with pyarrow's table ("verified_rows", "verified_equal").

Usage: parquet_pyarrow.py INPUT.jsonl OUTPUT.parquet [--verify OURS.parquet]
"""
import argparse
import json
import os
import resource
import time

import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq

SCHEMA = pa.schema([
    pa.field("order_id", pa.int64(), nullable=False),
    pa.field("line_no", pa.int32(), nullable=False),
    pa.field("customer_id", pa.int64()),
    pa.field("order_ts", pa.timestamp("ms", tz="UTC")),
    pa.field("ship_date", pa.date32()),
    pa.field("sku", pa.string()),
    pa.field("product", pa.string()),
    pa.field("quantity", pa.int32()),
    pa.field("unit_price", pa.decimal128(12, 2)),
    pa.field("discount", pa.decimal128(5, 4)),
    pa.field("amount", pa.decimal128(18, 2)),
    pa.field("currency", pa.string()),
    pa.field("tax_rate", pa.float64()),
    pa.field("gift", pa.bool_()),
    pa.field("channel", pa.string()),
    pa.field("country", pa.string()),
    pa.field("note", pa.string()),
])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--verify")
    args = parser.parse_args()
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)

    start = time.perf_counter()
    # pyarrow's JSON reader does not turn strings into date32: read dates as strings, then cast.
    read_schema = pa.schema([pa.field(f.name, pa.string()) if f.type == pa.date32() else f for f in SCHEMA])
    table = pj.read_json(
        args.input,
        read_options=pj.ReadOptions(use_threads=False),
        parse_options=pj.ParseOptions(explicit_schema=read_schema, unexpected_field_behavior="error"),
    )
    table = table.cast(SCHEMA)
    pq.write_table(table, args.output, compression="snappy", use_dictionary=True)
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures = {
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "seconds": seconds,
        "rows": table.num_rows,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "file_bytes": os.path.getsize(args.output),
    }
    if args.verify:
        ours = pq.read_table(args.verify)
        figures["verified_rows"] = ours.num_rows
        figures["verified_equal"] = 1 if ours.cast(table.schema).equals(table) else 0
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
