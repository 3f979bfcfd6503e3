"""Reads and writes objects of the test S3 server with boto3, independently of aigrid.

Usage: client.py PORT put BUCKET KEY   (the object's bytes on standard input)
       client.py PORT get BUCKET KEY   (the object's bytes to standard output)
       client.py PORT list BUCKET      (one key per line, sorted)
"""

import sys

import boto3

port, verb, bucket, *rest = sys.argv[1:]
s3 = boto3.client(
    "s3",
    endpoint_url=f"http://127.0.0.1:{port}",
    aws_access_key_id="test",
    aws_secret_access_key="test",
    region_name="us-east-1",
)
if verb == "put":
    s3.put_object(Bucket=bucket, Key=rest[0], Body=sys.stdin.buffer.read())
elif verb == "get":
    sys.stdout.buffer.write(s3.get_object(Bucket=bucket, Key=rest[0])["Body"].read())
elif verb == "list":
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    keys = sorted(item["Key"] for page in pages for item in page.get("Contents", []))
    print("\n".join(keys))
else:
    sys.exit(f"unknown verb {verb}")
