#!/usr/bin/env python3
"""Builds and signs S3 requests with a real botocore S3 client, without sending them, for the
S3 key-encoding test in AWSClientsTests.

Reads a JSON object on stdin:
  {"endpoint", "region", "access_key", "secret_key", "amz_date" ("yyyymmddThhmmssZ"),
   "requests": [{"operation": "HeadObject" | "GetObject" | "DeleteObject" | "ListObjectsV2",
                 "bucket", "key" (object calls), "prefix" (listing)}, ...]}
and prints a JSON array, one entry per request in order:
  {"method", "url", "headers": [[name, value], ...], "signature", "canonical_request"}.

The client uses path-style addressing (as a custom endpoint does). botocore serialises the key
itself, so the URL is botocore's own encoding of it; the request is captured in `before-send`
and answered with a local 404 so that nothing goes on the network.
"""
import datetime
import json
import sys
from unittest import mock

import boto3
import botocore.auth as auth
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError


class _EmptyRaw:
    def stream(self, *args, **kwargs):
        yield b''

    def read(self, *args, **kwargs):
        return b''


def main():
    spec = json.load(sys.stdin)
    client = boto3.client(
        's3',
        endpoint_url=spec['endpoint'],
        region_name=spec['region'],
        aws_access_key_id=spec['access_key'],
        aws_secret_access_key=spec['secret_key'],
        config=Config(s3={'addressing_style': 'path'}, signature_version='s3v4', retries={'max_attempts': 1}),
    )
    captured = {}
    original = auth.S3SigV4Auth.canonical_request

    def canonical_request(self, request):
        text = original(self, request)
        captured['canonical_request'] = text
        return text

    def before_send(request, **kwargs):
        captured['method'] = request.method
        captured['url'] = request.url
        captured['headers'] = [[name, value.decode() if isinstance(value, bytes) else value]
                               for name, value in request.headers.items()]
        return AWSResponse(request.url, 404, {}, _EmptyRaw())

    client.meta.events.register('before-send.s3', before_send)
    when = datetime.datetime.strptime(spec['amz_date'], '%Y%m%dT%H%M%SZ')
    results = []
    with mock.patch.object(auth, 'get_current_datetime', lambda *a, **k: when), \
            mock.patch.object(auth.S3SigV4Auth, 'canonical_request', canonical_request):
        for item in spec['requests']:
            captured.clear()
            operation = item['operation']
            try:
                if operation == 'ListObjectsV2':
                    client.list_objects_v2(Bucket=item['bucket'], Prefix=item['prefix'])
                elif operation == 'HeadObject':
                    client.head_object(Bucket=item['bucket'], Key=item['key'])
                elif operation == 'GetObject':
                    client.get_object(Bucket=item['bucket'], Key=item['key'])
                elif operation == 'DeleteObject':
                    client.delete_object(Bucket=item['bucket'], Key=item['key'])
                else:
                    raise SystemExit(f'unknown operation {operation}')
            except ClientError:
                pass
            authorization = dict((k.lower(), v) for k, v in captured['headers'])['authorization']
            results.append({
                'method': captured['method'],
                'url': captured['url'],
                'headers': captured['headers'],
                'signature': authorization.rsplit('Signature=', 1)[1],
                'canonical_request': captured['canonical_request'],
            })
    json.dump(results, sys.stdout)


if __name__ == '__main__':
    main()
