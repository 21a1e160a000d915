#!/usr/bin/env python3
"""The Python side of `bench bulk-encode`: builds the same _bulk NDJSON body (1,000 index actions)
from already-parsed dicts with json.dumps, for --seconds on one thread, and prints
{"docs_per_second": …, "mb_per_second": …, "bytes_per_doc": …} as JSON on stdout.

The documents must stay in step with Sources/Bench/BulkEncodeBench.swift.
"""
import argparse
import json
import time

BATCH = 1000
CITIES = ["Leeds", "York", "Hull", "Bath", "Derby"]


def documents():
    out = []
    for i in range(BATCH):
        doc = {
            "id": f"rec-{i}",
            "amount": (i * 37 % 100000) / 100,
            "qty": i % 13,
            "city": CITIES[i % len(CITIES)],
            "ts": f"2024-05-{10 + i % 20}T10:{10 + i % 50}:00Z",
            "active": i % 2 == 0,
            "tags": ["ingest", f"batch-{i % 7}"],
            "note": f"Zürich – café order #{i}" if i % 10 == 0 else f"plain order note number {i}",
        }
        out.append(("orders-2024", f"rec-{i}", doc))
    return out


def encode(docs):
    parts = []
    for index, doc_id, doc in docs:
        parts.append(json.dumps({"index": {"_index": index, "_id": doc_id}}, separators=(",", ":")))
        parts.append(json.dumps(doc, separators=(",", ":"), ensure_ascii=False))
    return ("\n".join(parts) + "\n").encode("utf-8")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3)
    args = parser.parse_args()
    docs = documents()
    size = len(encode(docs))
    batches = 0
    start = time.perf_counter()
    deadline = start + args.seconds
    while True:
        body = encode(docs)
        batches += 1
        if len(body) != size:
            raise SystemExit("body size changed")
        now = time.perf_counter()
        if now >= deadline:
            break
    elapsed = now - start
    print(json.dumps({
        "docs_per_second": batches * BATCH / elapsed,
        "mb_per_second": batches * size / elapsed / 1e6,
        "bytes_per_doc": size / BATCH,
    }))


if __name__ == "__main__":
    main()
