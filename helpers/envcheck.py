"""Course plumbing: can this machine run the course? ``check()`` is the table (notebook 01,
`make check`), ``summary()`` the one line the other notebooks print."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import shutil
import sys

KEY_PACKAGES = ("torch", "transformers", "sentence-transformers", "langchain",
                "langchain-classic", "langchain-community", "faiss-cpu")  # fmt: skip
MODEL_VARIABLES = ("RERANK_EMBEDDING_MODEL", "RERANK_RERANKER_MODEL")
# Rows whose fix is a suggestion: notebook 04 serves without Java; AWS is for the optional deploy.
OPTIONAL = ("java", "aws credentials")


def installed_versions(names) -> dict[str, str | None]:
    """Return {distribution: installed version, or None when missing}, importing none of them."""
    versions = dict.fromkeys(names)
    for name in versions:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    return versions


def package_rows():
    """Return (check, value, fix) rows for the packages the course imports."""
    fix = "run `make venv` (or `pip install -r requirements.txt`)"
    return [(name, found or "MISSING", "" if found else fix)
            for name, found in installed_versions(KEY_PACKAGES).items()]  # fmt: skip


def model_rows():
    """Return rows saying whether the active profile's models load without the network."""
    from helpers.config import ModelUnavailableError, load_config, model_label, resolve_model

    try:
        config = load_config()
    except (ValueError, ModelUnavailableError) as exc:
        return [("profile", "INVALID", str(exc))]
    rows = [("profile", config.profile, "")]
    for name, variable in ((config.embedding_model, MODEL_VARIABLES[0]),
                           (config.reranker_model, MODEL_VARIABLES[1])):  # fmt: skip
        try:
            found = os.path.isdir(resolve_model(name, variable))
            where, fix = "local" if found else "Hub (not cached yet)", ""
        except ModelUnavailableError:
            where = "UNAVAILABLE"
            fix = f"`make models` while online, RERANK_PROFILE=offline, or set {variable}"
        rows.append((variable, f"{model_label(name)}: {where}", fix))
    return rows


def machine_rows():
    """Return rows for Python, threads, GPU, Java and AWS credentials."""
    import torch

    java, credentials, gpu = shutil.which("java"), aws_credentials_state(), "none (CPU is fine)"
    no_java = ("install Java 17 (conda: openjdk=17) to serve with the real MMS; "
               "notebook 04 falls back to a pure-Python server")  # fmt: skip
    return [
        ("python", platform.python_version(),
         "" if sys.version_info >= (3, 11) else "use Python 3.11 or newer"),
        ("cpu cores / torch threads", f"{os.cpu_count()} / {torch.get_num_threads()}", ""),
        ("gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else gpu, ""),
        ("java (local SageMaker serving)", java or "MISSING", "" if java else no_java),
        ("aws credentials (optional, notebook 04)", credentials,
         "only needed to deploy to AWS" if credentials == "none" else ""),
    ]  # fmt: skip


# botocore's providers (by METHOD) that read only local state, or defer the network until used.
LOCAL_PROVIDERS = {
    "env": "environment variables", "assume-role": "a profile that assumes a role",
    "assume-role-with-web-identity": "web identity (AWS_WEB_IDENTITY_TOKEN_FILE or profile)",
    "sso": "an IAM Identity Center (SSO) profile", "shared-credentials-file": "~/.aws/credentials",
    "login": "an `aws login` profile", "config-file": "~/.aws/config",
    "ec2-credentials-file": "the EC2 credentials file", "boto-config": "the boto config file",
}  # fmt: skip
EC2_MARKERS = ("/sys/devices/virtual/dmi/id/board_vendor", "/sys/hypervisor/uuid")


def aws_credentials_state() -> str:
    """Return where boto3 would find AWS credentials, or "none"; no network, no program run."""
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
        if method == "custom-process" and profile_config.get("credential_process"):
            return f"credential_process of profile {profile} (run when used)"
        if method == "container-role" and any(
            key.startswith("AWS_CONTAINER_CREDENTIALS_") for key in os.environ
        ):
            return "container role (SageMaker Studio, ECS; fetched when used)"
        if method in LOCAL_PROVIDERS:
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
        with contextlib.suppress(OSError), open(path) as marker:
            if (text := marker.read().strip().lower()).startswith("ec2") or "amazon" in text:
                return True
    return False


def check() -> str:
    """Return the environment table: one row per check, with a fix where one is needed."""
    from helpers.display import format_table

    return format_table(package_rows() + model_rows() + machine_rows(), ["check", "value", "fix"])


def summary() -> str:
    """Return one line: profile, models, torch threads, and what to fix if anything needs it."""
    import torch

    rows = package_rows() + model_rows() + machine_rows()
    values = {check: value for check, value, _ in rows}
    models = ", ".join(values[v] for v in MODEL_VARIABLES if v in values) or "none"
    line = (
        f"profile {values['profile']} | models: {models} | torch threads: {torch.get_num_threads()}"
    )
    fixes = [f"{check} {value}" for check, value, fix in rows
             if fix and not check.startswith(OPTIONAL)]  # fmt: skip
    if not fixes:
        return f"{line} | ready"
    return f"{line} | to fix: {'; '.join(fixes)} (run `make check` or notebook 01 for the table)"


if __name__ == "__main__":
    print(check())
