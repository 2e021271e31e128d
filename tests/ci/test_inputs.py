"""Terraform variables and CloudFormation parameters from files and the environment (issue 26), through
`ccme-audit iac`: --var-file, TF_VAR_*, --parameters-file, with Terraform's precedence
(--param > --var-file > terraform.tfvars > TF_VAR_* > default)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from auditor.cli import main
from tests.iac.variants import CFN_BROKEN, ROOT

TF_BROKEN = ROOT / "examples" / "terraform" / "ccme-prerequisites-broken"
ACCOUNT = ["--pack", "ccme", "--set", "account=111122223333", "--set", "secret_name=ccme-directory-reader",
           "--check", "CCME-KMS-KEY-LAMBDA", "-f", "json"]


def lambda_key(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """(exit code, the status of CCME-KMS-KEY-LAMBDA, stderr)."""
    code = main([*argv, *ACCOUNT])
    out, err = capsys.readouterr()
    if code == 2:
        return code, "", err
    [finding] = [f for f in json.loads(out)["findings"] if f["rule_id"] == "CCME-KMS-KEY-LAMBDA"]
    return code, finding["status"], err


def test_terraform_variables_from_files_and_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TF_VAR_lambda_key_spec", raising=False)
    module = tmp_path / "tf"
    shutil.copytree(TF_BROKEN, module)
    assert lambda_key(["iac", str(module)], capsys)[1] == "ERROR"  # no default, nothing set: unknown
    monkeypatch.setenv("TF_VAR_lambda_key_spec", "SYMMETRIC_DEFAULT")
    assert lambda_key(["iac", str(module)], capsys)[1] == "PASS"
    rsa = tmp_path / "rsa.tfvars"
    rsa.write_text('lambda_key_spec = "RSA_2048"\n', encoding="utf-8")
    assert lambda_key(["iac", str(module), "--var-file", str(rsa)], capsys)[1] == "FAIL"  # the file beats the env
    sym = tmp_path / "sym.tfvars.json"
    sym.write_text(json.dumps({"lambda_key_spec": "SYMMETRIC_DEFAULT"}), encoding="utf-8")
    assert lambda_key(["iac", str(module), "--var-file", str(rsa), "--var-file", str(sym)], capsys)[1] == "PASS"
    assert lambda_key(["iac", str(module), "--var-file", str(rsa), "--param", "lambda_key_spec=SYMMETRIC_DEFAULT"],
                      capsys)[1] == "PASS"
    (module / "terraform.tfvars").write_text('lambda_key_spec = "RSA_2048"\n', encoding="utf-8")
    assert lambda_key(["iac", str(module)], capsys)[1] == "FAIL"  # the directory's tfvars beat TF_VAR_*
    # A var file that is missing or does not parse is bad input: exit 2, one line, nothing written.
    code, _, err = lambda_key(["iac", str(module), "--var-file", str(tmp_path / "nope.tfvars")], capsys)
    assert code == 2 and err.count("\n") == 1 and "nope.tfvars" in err
    broken = tmp_path / "broken.tfvars"
    broken.write_text('lambda_key_spec = "RSA_2048\n', encoding="utf-8")
    code, _, err = lambda_key(["iac", str(module), "--var-file", str(broken)], capsys)
    assert code == 2 and err.count("\n") == 1 and "broken.tfvars" in err


@pytest.mark.parametrize("document", [
    [{"ParameterKey": "LambdaKeySpec", "ParameterValue": "{}"}],
    ["LambdaKeySpec={}"],
    {"Parameters": {"LambdaKeySpec": "{}"}},
])
def test_cloudformation_parameters_file(document: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "params.json"
    for spec, status in (("SYMMETRIC_DEFAULT", "PASS"), ("RSA_2048", "FAIL")):
        path.write_text(json.dumps(document).replace("{}", spec), encoding="utf-8")
        assert lambda_key(["iac", str(CFN_BROKEN), "--parameters-file", str(path)], capsys)[1] == status
    assert lambda_key(["iac", str(CFN_BROKEN), "--parameters-file", str(path), "--param",
                       "LambdaKeySpec=SYMMETRIC_DEFAULT"], capsys)[1] == "PASS"  # --param wins


def test_a_bad_parameters_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "params.json"
    path.write_text(json.dumps([{"Key": "LambdaKeySpec"}]), encoding="utf-8")
    code, _, err = lambda_key(["iac", str(CFN_BROKEN), "--parameters-file", str(path)], capsys)
    assert code == 2 and err.count("\n") == 1 and "params.json: /0: not a parameter" in err
