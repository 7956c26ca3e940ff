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


def test_aws_credentials_are_detected_without_printing_them(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    assert envcheck.aws_credentials_state() == "none"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE00")
    assert envcheck.aws_credentials_state() == "found"
    assert "AKIA" not in envcheck.check()
