"""A grid AI written with pyarrow.flight, for aigrid's tests.

It serves Arrow Flight DoExchange on 127.0.0.1: each record batch it receives, with one utf8
column `text`, comes back with the text upper-cased. It prints `PORT <n>` once it listens, and
counts the batches it answered in the file named by --calls (when given). With --delay S it
waits S seconds before each answer (a slow AI, for cancellation tests). With --in-flight FILE it
writes there the most exchanges it has served at the same time. --mode makes it misbehave, for
the tests of bad peers: `wrong-schema` answers a list of integers, `short` one row too few,
`huge` a string of 8 MiB in every row (over gRPC's 4 MiB message limit).

    python upper_ai.py [--calls FILE] [--delay S] [--in-flight FILE] [--mode MODE]
    python upper_ai.py --call grpc://HOST:PORT  # send one batch, print the answer
"""

import argparse
import sys
import threading
import time

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as flight


class UpperAI(flight.FlightServerBase):
    def __init__(self, calls, delay=0.0, in_flight=None, mode="ok"):
        super().__init__("grpc://127.0.0.1:0")
        self.mode = mode
        self.calls = calls
        self.delay = delay
        self.answered = 0
        self.in_flight_file = in_flight
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    def do_exchange(self, context, descriptor, reader, writer):
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            if self.in_flight_file:
                with open(self.in_flight_file, "w") as out:
                    out.write(str(self.most_in_flight))
        try:
            self.exchange(reader, writer)
        finally:
            with self.lock:
                self.in_flight -= 1

    def exchange(self, reader, writer):
        started = False
        for chunk in reader:
            batch = chunk.data
            if batch is None:
                continue
            time.sleep(self.delay)
            column = pc.utf8_upper(batch.column("text"))
            if self.mode == "wrong-schema":
                column = pa.array([[1, 2]] * len(column))
            elif self.mode == "short":
                column = column.slice(0, len(column) - 1)
            elif self.mode == "huge":
                column = pa.array(["x" * (8 << 20)] * len(column))
            upper = pa.RecordBatch.from_arrays([column], names=["text"])
            if not started:
                writer.begin(upper.schema)
                started = True
            writer.write_batch(upper)
            self.answered += 1
            if self.calls:
                with open(self.calls, "w") as out:
                    out.write(str(self.answered))


def call(location):
    client = flight.FlightClient(location)
    descriptor = flight.FlightDescriptor.for_command(b"upper")
    writer, reader = client.do_exchange(descriptor)
    batch = pa.RecordBatch.from_arrays([pa.array(["grid", "ai"])], names=["text"])
    writer.begin(batch.schema)
    writer.write_batch(batch)
    writer.done_writing()
    answer = reader.read_all()
    writer.close()
    print(",".join(answer.column("text").to_pylist()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls")
    parser.add_argument("--call")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--in-flight")
    parser.add_argument("--mode", default="ok", choices=["ok", "wrong-schema", "short", "huge"])
    args = parser.parse_args()
    if args.call:
        call(args.call)
        return
    server = UpperAI(args.calls, args.delay, args.in_flight, args.mode)
    print(f"PORT {server.port}", flush=True)
    server.serve()


if __name__ == "__main__":
    sys.exit(main())
