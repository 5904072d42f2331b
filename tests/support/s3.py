"""A real S3-compatible server for tests: moto's server on a free port of 127.0.0.1.

s3fs and botocore reach it through the standard AWS environment variables
(``AWS_ENDPOINT_URL`` and dummy credentials), the same ones a deployment would set, so
dagwright needs no test-only way of passing fsspec options.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str

    @property
    def env(self) -> dict[str, str]:
        """The environment under which s3fs and boto talk to this server."""
        return {**ENV, "AWS_ENDPOINT_URL": self.endpoint_url}

    def filesystem(self):  # noqa: ANN201 - s3fs.S3FileSystem
        import s3fs

        return s3fs.S3FileSystem(
            key=ENV["AWS_ACCESS_KEY_ID"],
            secret=ENV["AWS_SECRET_ACCESS_KEY"],
            endpoint_url=self.endpoint_url,
            skip_instance_cache=True,
        )

    def make_bucket(self, name: str) -> str:
        """Create bucket ``name`` (empty) and return its ``s3://`` URL."""
        fs = self.filesystem()
        if fs.exists(name):
            fs.rm(name, recursive=True)
        fs.mkdir(name)
        return f"s3://{name}"


@contextmanager
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield S3Server(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()
