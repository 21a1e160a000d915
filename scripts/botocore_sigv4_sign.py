#!/usr/bin/env python3
"""Signs requests with botocore's SigV4 signers, for the differential test in AWSSigV4Tests.

Reads a JSON array of requests on stdin and prints a JSON array of results, one per request and
in the same order: {"signature": hex, "canonical_request": text}.

A request: {"method", "url" (the exact wire URL), "headers": [[name, value], ...],
"body_hex", "service", "region", "s3" (S3SigV4Auth instead of SigV4Auth), "unsigned" (no
payload hash: UNSIGNED-PAYLOAD), "content_sha256" (non-S3: send x-amz-content-sha256),
"access_key", "secret_key", "token" (or null), "amz_date" ("yyyymmddThhmmssZ")}.
"""
import datetime
import json
import sys
from hashlib import sha256
from unittest import mock

import botocore.auth as auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


class _S3Config:
    """Stands in for botocore's client config: only `s3` is read by S3SigV4Auth."""

    def __init__(self, payload_signing_enabled):
        self.s3 = {'payload_signing_enabled': payload_signing_enabled}


def _capturing(base):
    class Capturing(base):
        captured = None

        def canonical_request(self, request):
            text = super().canonical_request(request)
            self.captured = text
            return text

    return Capturing


def sign(item):
    credentials = Credentials(item['access_key'], item['secret_key'], item.get('token'))
    signer_class = _capturing(auth.S3SigV4Auth if item['s3'] else auth.SigV4Auth)
    signer = signer_class(credentials, item['service'], item['region'])
    body = bytes.fromhex(item['body_hex'])
    request = AWSRequest(method=item['method'], url=item['url'], data=body)
    for name, value in item['headers']:
        request.headers[name] = value  # HTTPHeaders appends: repeated names are kept in order.
    if item['s3']:
        if item['unsigned']:
            request.context['client_config'] = _S3Config(False)
    elif item['unsigned']:
        request.context['payload_signing_enabled'] = False
    elif item['content_sha256']:
        request.headers['X-Amz-Content-SHA256'] = sha256(body).hexdigest()
    when = datetime.datetime.strptime(item['amz_date'], '%Y%m%dT%H%M%SZ')
    with mock.patch.object(auth, 'get_current_datetime', lambda *args, **kwargs: when):
        signer.add_auth(request)
    signature = request.headers['Authorization'].rsplit('Signature=', 1)[1]
    return {'signature': signature, 'canonical_request': signer.captured}


def main():
    requests = json.load(sys.stdin)
    json.dump([sign(item) for item in requests], sys.stdout)


if __name__ == '__main__':
    main()
