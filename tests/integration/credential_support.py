"""GitHub credentials for tests: a GitHub App's RSA key as GitHub issues it, secrets in moto's
Secrets Manager under the deployment's prefix, and the per-process credential caches emptied."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property

import boto3
from aws_lambda_powertools.utilities import parameters
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from intake_dev.fake_github import FakeGitHub
from tracker_intake.adapters.github_app import forget_cached_credentials

# CREDENTIAL_SECRET_PREFIX for moto's account and region (deployed: the stack's name).
PREFIX = "arn:aws:secretsmanager:us-east-1:123456789012:secret:intake-test/"
APP_ID = "4242"


@dataclass(frozen=True)
class AppKey:
    """A GitHub App's private key, and what the stand-in needs to verify its JWTs."""

    private: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> AppKey:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @cached_property
    def pem(self) -> str:
        # GitHub hands out PKCS#1 ("BEGIN RSA PRIVATE KEY") files.
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
        return self.private.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()

    @cached_property
    def public_pem(self) -> str:
        public = self.private.public_key()
        return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def secrets(self) -> dict[str, str]:
        """The key as a leak search looks for it: its base64 body whole, and each line of it."""
        lines = self.pem.splitlines()[1:-1]
        return {"private key": "".join(lines)} | {f"private key line {n}": line for n, line in enumerate(lines)}


def store_secret(name: str, value: str) -> str:
    """A secret in moto's Secrets Manager (the `aws` fixture must be active); its ARN."""
    arn: str = boto3.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
    return arn


@contextmanager
def fresh_credential_caches() -> Iterator[None]:
    """Secrets (Powertools), app installations and tokens are cached per process: none before or after."""
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    forget_cached_credentials()
    try:
        yield
    finally:
        parameters.clear_caches()  # type: ignore[no-untyped-call]
        forget_cached_credentials()


def install_app_on_acme_app(github: FakeGitHub, key: AppKey) -> FakeGitHub:
    """acme/app and acme/tools; app APP_ID installed (11) on acme/app only."""
    github.add_app(APP_ID, key.public_pem)
    github.add_installation(APP_ID, 11, ["acme/app"])
    github.add_repo("acme", "app")
    github.add_repo("acme", "tools")
    return github
