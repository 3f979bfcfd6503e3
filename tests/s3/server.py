"""A local S3 for the object-store tests: moto's server on 127.0.0.1, on a free port.

Usage: server.py BUCKET...  Makes the buckets, prints `PORT <n>`, and serves until its
standard input closes (the test that started it dropped it, or died).
"""

import sys

import logging

import boto3
from moto.server import ThreadedMotoServer

logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
s3 = boto3.client(
    "s3",
    endpoint_url=f"http://{host}:{port}",
    aws_access_key_id="test",
    aws_secret_access_key="test",
    region_name="us-east-1",
)
for bucket in sys.argv[1:]:
    s3.create_bucket(Bucket=bucket)
print(f"PORT {port}", flush=True)
sys.stdin.read()
server.stop()
