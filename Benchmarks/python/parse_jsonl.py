#!/usr/bin/env python3
"""The Python side of `bench parse`: reads the JSON-lines file the Swift benchmark generated, line
by line, and for each record does what a boto3-era ingest Lambda does: `json.loads`, checks the
required fields and types (order_id integer, created_at ISO 8601 timestamp; total number and paid
boolean when present), builds the index name `orders-YYYY.MM` from created_at (in UTC), takes the
_id from order_id, and appends `json.dumps(action)\\n json.dumps(doc)\\n` to a bytearray that is
dropped every 8 MiB. One thread. Prints {"seconds", "cpu_seconds", "bytes", "records", "peak_rss"}
as JSON.

Keep in step with Sources/Bench/ParseBench.swift.
"""
import json
import resource
import sys
import time
from datetime import datetime, timezone


def main():
    path = sys.argv[1]
    out = bytearray()
    records = 0
    failed = 0
    size = 0
    start = time.perf_counter()
    cpu_start = time.thread_time()
    with open(path, 'rb', buffering=1 << 20) as handle:
        for line in handle:
            size += len(line)
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
                if not isinstance(doc, dict):
                    raise ValueError('not an object')
                order_id = doc['order_id']
                if not isinstance(order_id, int) or isinstance(order_id, bool):
                    raise ValueError('order_id')
                created = datetime.fromisoformat(doc['created_at']).astimezone(timezone.utc)
                total = doc.get('total')
                if total is not None and (isinstance(total, bool) or not isinstance(total, (int, float))):
                    raise ValueError('total')
                paid = doc.get('paid')
                if paid is not None and not isinstance(paid, bool):
                    raise ValueError('paid')
            except (ValueError, KeyError, TypeError):
                failed += 1
                continue
            index = 'orders-%04d.%02d' % (created.year, created.month)
            action = {'index': {'_index': index, '_id': str(order_id)}}
            out += json.dumps(action, separators=(',', ':')).encode()
            out += b'\n'
            out += json.dumps(doc, ensure_ascii=False, separators=(',', ':')).encode()
            out += b'\n'
            records += 1
            if len(out) >= 8 << 20:
                out = bytearray()
    seconds = time.perf_counter() - start
    cpu_seconds = time.thread_time() - cpu_start
    if failed:
        raise SystemExit('%d records failed' % failed)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({'seconds': seconds, 'cpu_seconds': cpu_seconds, 'bytes': size, 'records': records, 'peak_rss': peak}))


if __name__ == '__main__':
    main()
