"""An S3-compatible server for tests: moto's standalone server as a real process on a free port.

It speaks the S3 protocol over HTTP on 127.0.0.1 (no network beyond loopback); every bucket lives
in its memory and goes with the process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.stack import free_port, wait_until

#: any credentials do; botocore only needs some to sign with
ACCESS_KEY = "test-access-key"
SECRET_KEY = "test-secret-key"
REGION = "us-east-1"


@dataclass
class MotoServer:
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MotoServer:
        import requests

        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / "moto.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                     "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": REGION})
        wait_until(lambda: requests.get(self.endpoint_url + "/moto-api/", timeout=1).ok, 60,
                   message="moto server up")
        return self

    def create_bucket(self, name: str) -> None:
        import boto3  # comes with moto

        boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=ACCESS_KEY,
                     aws_secret_access_key=SECRET_KEY, region_name=REGION).create_bucket(
            Bucket=name)

    def env(self, bucket: str, prefix: str = "") -> dict[str, str]:
        """The settings that point a process at this server."""
        return {"STORAGE_BACKEND": "s3", "STORAGE_URL": f"s3://{bucket}/{prefix}".rstrip("/"),
                "S3_ENDPOINT_URL": self.endpoint_url, "S3_ACCESS_KEY_ID": ACCESS_KEY,
                "S3_SECRET_ACCESS_KEY": SECRET_KEY, "S3_REGION": REGION}

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
