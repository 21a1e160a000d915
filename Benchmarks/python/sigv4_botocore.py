#!/usr/bin/env python3
"""The botocore side of `bench sigv4`: signs the same two requests as the Swift benchmark, each for
--seconds on one thread, and prints {"<case>": requests_per_second, ...} as JSON on stdout.

The requests must stay in step with Sources/Bench/SigV4Bench.swift.
"""
import argparse
import json
import time

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CREDENTIALS = Credentials(
    'AKIAIOSFODNN7EXAMPLE',
    'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'IQoJb3JpZ2luX2VjEXAMPLETOKEN' * 8,
)
SQS_BODY = json.dumps(
    {
        'QueueUrl': 'https://sqs.us-east-1.amazonaws.com/123456789012/ingest-events',
        'MessageBody': '{"bucket":"dropbox-ingest","key":"incoming/2024/05/24/quarterly-sales-report.csv","size":18734}',
    },
    separators=(',', ':'),
).encode()


def sqs_post(signer):
    request = AWSRequest(method='POST', url='https://sqs.us-east-1.amazonaws.com/', data=SQS_BODY)
    request.headers['Content-Type'] = 'application/x-amz-json-1.0'
    request.headers['X-Amz-Target'] = 'AmazonSQS.SendMessage'
    signer.add_auth(request)


def s3_get(signer):
    request = AWSRequest(
        method='GET', url='https://dropbox-ingest.s3.us-east-1.amazonaws.com/incoming/2024/05/24/report%20final.csv'
    )
    signer.add_auth(request)


CASES = {
    'sqs-post': (sqs_post, SigV4Auth(CREDENTIALS, 'sqs', 'us-east-1')),
    's3-get': (s3_get, S3SigV4Auth(CREDENTIALS, 's3', 'us-east-1')),
}


def rate(body, signer, seconds):
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(64):
            body(signer)
        count += 64
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--seconds', type=float, default=3.0)
    args = parser.parse_args()
    print(json.dumps({name: rate(body, signer, args.seconds) for name, (body, signer) in CASES.items()}))


if __name__ == '__main__':
    main()
