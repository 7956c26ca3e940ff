"""Check that this machine can run the course (course plumbing, not the lesson).

``check()`` is the full table (`python -m helpers.envcheck`, `make check`, notebook 01);
``summary()`` is the one line the other notebooks print.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import sys

KEY_PACKAGES = (
    "torch",
    "transformers",
    "sentence-transformers",
    "langchain",
    "langchain-classic",
    "langchain-community",
    "faiss-cpu",
)


def installed_versions(names) -> dict[str, str | None]:
    """Return {distribution: installed version, or None when missing}, importing none of them."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def package_rows():
    """Return (check, value, fix) rows for the packages the course imports."""
    fix = "run `make venv` (or `pip install -r requirements.txt`)"
    return [
        (name, found, "") if found else (name, "MISSING", fix)
        for name, found in installed_versions(KEY_PACKAGES).items()
    ]


def model_rows():
    """Return rows saying whether the active profile's models load without the network."""
    from helpers.config import ModelUnavailableError, load_config, model_label, resolve_model

    try:
        config = load_config()
    except (ValueError, ModelUnavailableError) as exc:
        return [("profile", "INVALID", str(exc))]
    rows = [("profile", config.profile, "")]
    for name, variable in (
        (config.embedding_model, "RERANK_EMBEDDING_MODEL"),
        (config.reranker_model, "RERANK_RERANKER_MODEL"),
    ):
        try:
            resolved = resolve_model(name, variable)
            where = "local" if os.path.isdir(resolved) else "Hub (not cached yet)"
            rows.append((variable, f"{model_label(name)}: {where}", ""))
        except ModelUnavailableError:
            fix = f"`make models` while online, RERANK_PROFILE=offline, or set {variable}"
            rows.append((variable, f"{model_label(name)}: UNAVAILABLE", fix))
    return rows


def machine_rows():
    """Return rows for threads, GPU, Java and AWS credentials."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU is fine)"
    java = shutil.which("java")
    rows = [
        (
            "python",
            platform.python_version(),
            "" if sys.version_info >= (3, 11) else "use Python 3.11 or newer",
        ),
        ("cpu cores / torch threads", f"{os.cpu_count()} / {torch.get_num_threads()}", ""),
        ("gpu", gpu, ""),
        (
            "java (local SageMaker serving)",
            java or "MISSING",
            ""
            if java
            else "install Java 17 (conda: openjdk=17) to serve with the real MMS; "
            "notebook 04 falls back to a pure-Python server",
        ),
    ]
    credentials = aws_credentials_state()
    rows.append(
        (
            "aws credentials (optional, notebook 04)",
            credentials,
            "" if credentials != "none" else "only needed to deploy to AWS",
        )
    )
    return rows


# botocore's credential providers (by METHOD) that only read environment variables and local
# files, or defer any network call until the credentials are used.
LOCAL_PROVIDERS = {
    "env": "environment variables",
    "assume-role": "a profile that assumes a role",
    "assume-role-with-web-identity": "web identity (AWS_WEB_IDENTITY_TOKEN_FILE or profile)",
    "sso": "an IAM Identity Center (SSO) profile",
    "shared-credentials-file": "~/.aws/credentials",
    "login": "an `aws login` profile",
    "config-file": "~/.aws/config",
    "ec2-credentials-file": "the EC2 credentials file",
    "boto-config": "the boto config file",
}
EC2_MARKERS = ("/sys/devices/virtual/dmi/id/board_vendor", "/sys/hypervisor/uuid")


def aws_credentials_state() -> str:
    """Return where boto3 would find AWS credentials, or "none"; never contacts AWS (nb 04).

    Walks botocore's own provider chain in its order. Providers that would run a program
    (credential_process) or fetch over the network (SageMaker Studio / ECS container role, EC2
    instance role) are recognised from their configuration instead of being called.
    """
    import botocore.session

    session = botocore.session.Session()
    profile = session.get_config_variable("profile") or "default"
    try:
        providers = session.get_component("credential_provider").providers
        profile_config = session.full_config.get("profiles", {}).get(profile, {})
    except Exception as err:  # a broken ~/.aws/config: say so instead of failing the table
        return f"unreadable AWS config ({type(err).__name__})"
    for provider in providers:
        method = provider.METHOD
        if method == "custom-process":
            if profile_config.get("credential_process"):
                return f"credential_process of profile {profile} (run when used)"
        elif method == "container-role":
            if any(key.startswith("AWS_CONTAINER_CREDENTIALS_") for key in os.environ):
                return "container role (SageMaker Studio, ECS; fetched when used)"
        elif method in LOCAL_PROVIDERS:
            try:
                found = provider.load()
            except Exception as err:  # e.g. a profile naming a missing source profile
                return f"{LOCAL_PROVIDERS[method]}: unusable ({type(err).__name__})"
            if found is not None:
                return LOCAL_PROVIDERS[method]
    if os.environ.get("AWS_EC2_METADATA_DISABLED", "").lower() != "true" and on_ec2():
        return "EC2 instance role, if the instance has one (not probed)"
    return "none"


def on_ec2() -> bool:
    """Return True on an EC2 instance (its DMI/hypervisor files say so), without the network."""
    for path in EC2_MARKERS:
        try:
            with open(path) as marker:
                text = marker.read().strip().lower()
        except OSError:
            continue
        if text.startswith("ec2") or "amazon" in text:
            return True
    return False


def check() -> str:
    """Return the environment table: one row per check, with a fix where one is needed."""
    from helpers.display import format_table

    rows = package_rows() + model_rows() + machine_rows()
    return format_table(rows, ["check", "value", "fix"])


# Rows whose fix is a suggestion, not a blocker: notebook 04 falls back to a pure-Python server
# without Java, and AWS is only for the optional deploy.
OPTIONAL = ("java", "aws credentials")


def summary() -> str:
    """Return one line: profile, models, torch threads, and what to fix if anything needs it."""
    import torch

    rows = package_rows() + model_rows() + machine_rows()
    values = {check: value for check, value, _ in rows}
    models = [values[v] for v in ("RERANK_EMBEDDING_MODEL", "RERANK_RERANKER_MODEL") if v in values]
    line = f"profile {values['profile']} | models: {', '.join(models) or 'none'} | "
    line += f"torch threads: {torch.get_num_threads()}"
    fixes = [f"{check} {value}" for check, value, fix in rows
             if fix and not check.startswith(OPTIONAL)]  # fmt: skip
    if not fixes:
        return f"{line} | ready"
    return f"{line} | to fix: {'; '.join(fixes)} (run `make check` or notebook 01 for the table)"


if __name__ == "__main__":
    print(check())
