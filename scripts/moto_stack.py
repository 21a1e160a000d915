#!/usr/bin/env python3
"""Start moto's server on a free loopback port with SigV4 signature checking switched on.

The first three requests are not checked (INITIAL_NO_AUTH_ACTION_COUNT=3): this script uses them
to create an IAM user, give it a policy and create its access key. From then on every request
must be signed with that key. One JSON line goes to standard output:

    {"endpoint": "http://127.0.0.1:PORT", "port": PORT, "accessKeyId": "...",
     "secretAccessKey": "...", "region": "..."}

and the server runs until standard input closes (or SIGTERM). With --no-auth the checker is off
(moto's checker wrongly rejects some correctly signed S3 keys; see tests).
"""
import argparse
import json
import os
import signal
import sys
import threading


def serialise_dynamodb_writes() -> None:
    """Makes moto's conditional writes atomic, as DynamoDB's are: moto's threaded server runs a
    check-then-write without a lock, so two racing conditional updates could both succeed."""
    from moto.dynamodb.models import DynamoDBBackend  # noqa: E402

    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def locked(self, *args, __original=original, **kwargs):
            with lock:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)


def patch_canonical_query() -> None:
    """Re-encodes each query value as SigV4's canonical form before moto recomputes the signature.

    The web server hands moto a URL whose query is already percent-decoded (`prefix=in/`), and
    botocore then signs that text as it stands; a client signs `prefix=in%2F`, as SigV4 requires.
    Decoding and re-encoding every name and value (unreserved characters only) gives back exactly
    what a correct client signed, so the check stays a real check.
    """
    from urllib.parse import quote, unquote, urlsplit, urlunsplit
    import moto.core.authorization as authorization

    original = authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action

    def canonical(self, iam_request_cls, resource="*"):
        parts = urlsplit(self.uri)
        if parts.query:
            pairs = []
            for pair in parts.query.split("&"):
                name, equals, value = pair.partition("=")
                pairs.append(quote(unquote(name), safe="-_.~") + equals + quote(unquote(value), safe="-_.~"))
            self.uri = urlunsplit(parts._replace(query="&".join(pairs)))
        return original(self, iam_request_cls, resource)

    authorization.ActionAuthenticatorMixin._authenticate_and_authorize_action = canonical


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0 picks a free one)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--no-auth", action="store_true", help="switch signature checking off")
    parser.add_argument(
        "--canonical-query", action="store_true",
        help="check signatures against the query as sent: moto's checker sees the URL after the web server "
        "has decoded %%2F and friends, so it rejects a correctly signed `prefix=in%%2F` (boto3's too)",
    )
    args = parser.parse_args()

    if not args.no_auth:
        # Must be set before moto is imported.
        os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")
    from moto.server import ThreadedMotoServer  # noqa: E402
    import boto3  # noqa: E402

    serialise_dynamodb_writes()

    if args.canonical_query and not args.no_auth:
        patch_canonical_query()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    port = server._server.server_port  # the port actually bound
    endpoint = f"http://127.0.0.1:{port}"

    key_id, secret = "AKIDMOTOSTACK0000000", "motostack/secret"
    if not args.no_auth:
        iam = boto3.client(
            "iam", endpoint_url=endpoint, region_name=args.region,
            aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap",
        )
        iam.create_user(UserName="pipeline")
        iam.put_user_policy(
            UserName="pipeline", PolicyName="everything",
            PolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }),
        )
        key = iam.create_access_key(UserName="pipeline")["AccessKey"]
        key_id, secret = key["AccessKeyId"], key["SecretAccessKey"]

    print(json.dumps({
        "endpoint": endpoint, "port": port, "accessKeyId": key_id, "secretAccessKey": secret,
        "region": args.region, "auth": not args.no_auth,
    }), flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def watch_stdin() -> None:
        try:
            while sys.stdin.read(1):
                pass
        except Exception:
            pass
        stop.set()

    if not sys.stdin.isatty():
        threading.Thread(target=watch_stdin, daemon=True).start()
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
