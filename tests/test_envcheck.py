import os
import socket

import pytest

from helpers import envcheck


def test_table_lists_packages_models_and_machine(monkeypatch):
    monkeypatch.setenv("RERANK_PROFILE", "offline")
    monkeypatch.setenv("RERANK_RERANKER_MODEL", "/nowhere/reranker")
    table = envcheck.check()
    for check in ("torch", "langchain-classic", "profile", "gpu", "java", "aws credentials"):
        assert check in table
    embedding_row = next(line for line in table.splitlines() if "RERANK_EMBEDDING_MODEL" in line)
    assert "local" in embedding_row
    reranker_row = next(line for line in table.splitlines() if "RERANK_RERANKER_MODEL" in line)
    assert "UNAVAILABLE" in reranker_row and "make models" in reranker_row


def test_missing_package_gets_a_fix(monkeypatch):
    monkeypatch.setattr(envcheck, "KEY_PACKAGES", ("surely-not-installed-package",))
    ((name, value, fix),) = envcheck.package_rows()
    assert value == "MISSING" and "make venv" in fix


def test_summary_is_one_line_that_says_what_to_fix(monkeypatch):
    monkeypatch.setenv("RERANK_PROFILE", "offline")
    monkeypatch.setenv("RERANK_RERANKER_MODEL", "/nowhere/reranker")
    line = envcheck.summary()
    assert "\n" not in line and line.startswith("profile offline | models: all-MiniLM-L6-v2")
    assert "torch threads: " in line
    assert "to fix: RERANK_RERANKER_MODEL reranker (local folder): UNAVAILABLE" in line
    assert line.endswith("(run `make check` or notebook 01 for the table)")
    monkeypatch.setenv("RERANK_RERANKER_MODEL", os.path.dirname(__file__))  # any folder loads
    monkeypatch.setattr(envcheck, "aws_credentials_state", lambda: "none")  # optional: no fix
    assert envcheck.summary().endswith(" | ready")


@pytest.fixture
def no_aws(monkeypatch, tmp_path):
    """No AWS configuration at all; a run program or a network call would be caught."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setattr(envcheck, "EC2_MARKERS", (str(tmp_path / "board_vendor"),))

    def no_network(*args, **kwargs):
        raise AssertionError("envcheck must not open a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    return tmp_path


def test_no_credentials_is_none(no_aws):
    assert envcheck.aws_credentials_state() == "none"


def test_environment_keys_are_found_and_never_printed(no_aws, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
    assert envcheck.aws_credentials_state() == "environment variables"
    assert "AKIA" not in envcheck.check() and "secret-example" not in envcheck.check()


def test_sso_profile_is_found_without_contacting_aws(no_aws, monkeypatch):
    (no_aws / "config").write_text(
        "[profile course]\nsso_start_url = https://example.awsapps.com/start\n"
        "sso_region = eu-west-1\nsso_account_id = 123456789012\nsso_role_name = Dev\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "course")
    assert envcheck.aws_credentials_state() == "an IAM Identity Center (SSO) profile"


def test_studio_container_role_is_recognised_not_fetched(no_aws, monkeypatch):
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc")
    assert envcheck.aws_credentials_state().startswith("container role (SageMaker Studio")


def test_credential_process_is_recognised_not_run(no_aws):
    ran = no_aws / "the-process-ran"
    (no_aws / "config").write_text(f"[default]\ncredential_process = touch {ran}\n")
    assert envcheck.aws_credentials_state().startswith("credential_process of profile default")
    assert not ran.exists()


def test_an_ec2_instance_is_a_possible_role_never_probed(no_aws):
    (no_aws / "board_vendor").write_text("Amazon EC2\n")
    assert envcheck.aws_credentials_state().startswith("EC2 instance role, if")
