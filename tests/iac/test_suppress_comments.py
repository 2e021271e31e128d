"""Only a real comment carries `ccme-audit:ignore` (issue 23): never a string, a block scalar or a heredoc."""

from __future__ import annotations

from auditor.iac.suppress import comment_lines, inline_suppressions

YAML = """\
Resources:
  Config:
    Type: AWS::SSM::Parameter
    Properties:
      Value: |
        a: 1
        # ccme-audit:ignore R-1 reason: in a block string
  Bucket:  # ccme-audit:ignore R-2 reason: a real comment on the line
    Type: AWS::S3::Bucket
  # ccme-audit:ignore R-3 reason: a real comment above
  Other: {Type: "AWS::S3::Bucket", Properties: {Tags: [{Key: k, Value: "# ccme-audit:ignore R-4 reason: x"}]}}
"""

HCL = """\
resource "aws_ssm_parameter" "config" {
  value = <<EOT
# ccme-audit:ignore R-1 reason: in a heredoc
EOT
}
# ccme-audit:ignore R-3 reason: a real comment
resource "aws_s3_bucket" "logs" { # ccme-audit:ignore R-2 reason: on the line
  bucket = "x"
  tags   = { note = "// ccme-audit:ignore R-4 reason: in a string" }
}
resource "aws_s3_bucket" "b" { tags = { n = "# ccme-audit:ignore R-5 reason: string" } }
"""


def _rules(lines: list[str], line: int) -> list[str]:
    return sorted(rule for rule, _reason in inline_suppressions(lines, line))


def test_yaml_block_strings_and_quoted_values_are_data() -> None:
    lines = comment_lines(YAML, "yaml")
    assert _rules(lines, 8) == ["R-2"]  # Bucket: R-1 above it is the block string's last line
    assert _rules(lines, 11) == ["R-3"]  # Other: R-4 is in a quoted value on its own line
    assert _rules(YAML.splitlines(), 8) == ["R-1", "R-2"]  # what a plain line scan would have honoured


def test_hcl_heredocs_and_strings_are_data() -> None:
    lines = comment_lines(HCL, "hcl")
    assert _rules(lines, 7) == ["R-2", "R-3"]
    assert _rules(lines, 11) == []


def test_json_has_no_comments_and_bad_yaml_honours_nothing() -> None:
    text = '{"Resources": {"B": {"Type": "AWS::S3::Bucket", "X": "# ccme-audit:ignore R-1 reason: x"}}}'
    assert _rules(comment_lines(text, "json"), 1) == []
    assert _rules(comment_lines("a: @x\n# ccme-audit:ignore R-1 reason: x\nb: 1\n", "yaml"), 3) == []
