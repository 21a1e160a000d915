#!/usr/bin/env python3
"""The boto3 side of `bench s3-download`: downloads one object with `download_fileobj` (boto3's
managed transfer: a HeadObject, then ranged GETs on its default 10 threads) into a file object
that discards what it is given, and prints {"seconds", "bytes", "maxrss_kb"} as JSON.

Runs in its own process so that ru_maxrss is this download's high-water mark alone.
"""
import argparse
import json
import resource
import time

import boto3
from botocore.config import Config


class Discard:
    """A writable file object that only counts."""

    def __init__(self):
        self.count = 0

    def write(self, data):
        self.count += len(data)
        return len(data)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--endpoint', required=True)
    parser.add_argument('--bucket', required=True)
    parser.add_argument('--key', required=True)
    parser.add_argument('--region', default='us-east-1')
    parser.add_argument('--access-key', default='bench')
    parser.add_argument('--secret-key', default='bench')
    args = parser.parse_args()
    client = boto3.client(
        's3', endpoint_url=args.endpoint, region_name=args.region, aws_access_key_id=args.access_key,
        aws_secret_access_key=args.secret_key, config=Config(s3={'addressing_style': 'path'}),
    )
    sink = Discard()
    start = time.perf_counter()
    client.download_fileobj(args.bucket, args.key, sink)
    seconds = time.perf_counter() - start
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({'seconds': seconds, 'bytes': sink.count, 'maxrss_kb': maxrss}))


if __name__ == '__main__':
    main()
