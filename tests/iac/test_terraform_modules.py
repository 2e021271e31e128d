"""Terraform modules (local, downloaded, not downloaded), root-module detection, dynamic blocks, functions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.iac import _terraform_roots, _units, load_paths
from auditor.iac.terraform import local_module_calls, root_modules
from auditor.snapshot import Resource, is_unknown

pytest.importorskip("hcl2")

ROOT = Path(__file__).resolve().parents[2]


def write(base: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = base / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def scan(target: Path, **params: str) -> tuple[dict[str, Resource], list[str], list[str]]:
    loaded = load_paths([target], region="eu-west-1", account="111122223333", params=params)
    by_id = {r.location.logical_id: r for r in loaded.snapshot.resources if r.location and r.location.logical_id}
    return by_id, [p.text() for p in loaded.problems], [e.message for e in loaded.snapshot.errors]


BUCKET_MODULE = {
    "mod/main.tf": """
variable "name" { type = string }
variable "versioned" { default = false }
variable "nullable_off" {
  default  = "from-default"
  nullable = false
}
resource "aws_s3_bucket" "this" {
  bucket = var.name
  tags   = { Extra = var.nullable_off }
}
resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration { status = var.versioned ? "Enabled" : "Suspended" }
}
output "id" { value = aws_s3_bucket.this.id }
output "arn" { value = aws_s3_bucket.this.arn }
""",
}


def test_local_module_binds_variables_outputs_and_addresses(tmp_path: Path) -> None:
    write(tmp_path, {**BUCKET_MODULE, "root/main.tf": """
variable "prefix" { default = "acme" }
module "logs" {
  source       = "../mod"
  name         = "${var.prefix}-logs"
  versioned    = true
  nullable_off = null
}
resource "aws_s3_bucket_policy" "logs" {
  bucket = module.logs.id
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Deny", Principal = "*",
    Action = "s3:*", Resource = "${module.logs.arn}/*" }] })
}
"""})
    found, problems, errors = scan(tmp_path / "root", prefix="corp")
    assert problems == [] and errors == []
    bucket = found["module.logs.aws_s3_bucket.this"]
    assert bucket.name == "corp-logs"  # --param binds the root variable, the call passes it down
    assert bucket.attributes["versioning"] == "Enabled"
    assert bucket.attributes["tags"] == {"Extra": "from-default"}  # null into a non-nullable variable
    assert bucket.attributes["policy"]["Statement"][0]["Resource"] == "arn:aws:s3:::corp-logs/*"
    assert bucket.location.file.endswith("mod/main.tf") and bucket.location.line == 8


def test_count_and_for_each_modules_and_nested_calls(tmp_path: Path) -> None:
    write(tmp_path, {**BUCKET_MODULE, "wrap/main.tf": """
variable "names" { type = list(string) }
module "b" {
  source = "../mod"
  count  = length(var.names)
  name   = var.names[count.index]
}
output "ids" { value = [for m in module.b : m.id] }
""", "root/main.tf": """
module "team" {
  source   = "../wrap"
  for_each = { red = ["r1", "r2"], blue = ["b1"] }
  names    = [for n in each.value : "${each.key}-${n}"]
}
resource "aws_s3_bucket" "index" {
  bucket = join("+", module.team["red"].ids)
}
"""})
    found, problems, _ = scan(tmp_path / "root")
    assert problems == []
    buckets = {k: r.name for k, r in found.items() if r.type == "s3.bucket"}
    assert buckets == {
        'module.team["red"].module.b[0].aws_s3_bucket.this': "red-r1",
        'module.team["red"].module.b[1].aws_s3_bucket.this': "red-r2",
        'module.team["blue"].module.b[0].aws_s3_bucket.this': "blue-b1",
        "aws_s3_bucket.index": "red-r1+red-r2",
    }


def test_unknown_module_for_each_fails_closed(tmp_path: Path) -> None:
    write(tmp_path, {**BUCKET_MODULE, "root/main.tf": """
variable "names" {}
module "b" {
  source   = "../mod"
  for_each = var.names
  name     = each.key
}
"""})
    found, _, errors = scan(tmp_path / "root")
    bucket = found["module.b.aws_s3_bucket.this"]
    assert is_unknown(bucket.attributes["name"])
    assert any("module.b: for_each cannot be evaluated" in e for e in errors)


def test_module_cycle_and_missing_source_are_problems_not_crashes(tmp_path: Path) -> None:
    write(tmp_path, {
        "a/main.tf": 'module "b" {\n  source = "../b"\n}\nresource "aws_s3_bucket" "x" { bucket = "x" }\n',
        "b/main.tf": 'module "a" {\n  source = "../a"\n}\n',
        "c/main.tf": 'module "gone" {\n  source = "./nowhere"\n}\n',
    })
    _, problems, _ = scan(tmp_path / "a")
    assert any("loop" in p for p in problems)
    _, problems, _ = scan(tmp_path / "c")
    assert problems == [f"{tmp_path / 'c' / 'main.tf'}:1: module.gone: the module source ./nowhere is not a "
                        "directory of .tf files"]


def test_downloaded_module_via_modules_json(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.tf": 'module "store" {\n  source  = "acme/store/aws"\n  version = "1.0.0"\n  name = "ucit-x"\n}\n'
                   'output "o" { value = module.store.id }\n',
        ".terraform/modules/modules.json": json.dumps({"Modules": [
            {"Key": "", "Source": "", "Dir": "."},
            {"Key": "store", "Source": "registry.terraform.io/acme/store/aws", "Version": "1.0.0",
             "Dir": ".terraform/modules/store"},
        ]}),
        ".terraform/modules/store/main.tf": BUCKET_MODULE["mod/main.tf"],
    })
    found, problems, _ = scan(tmp_path)
    assert problems == []
    assert set(found) == {"module.store.aws_s3_bucket.this"}  # .terraform is not a root of its own
    assert found["module.store.aws_s3_bucket.this"].name == "ucit-x"
    # A manifest whose directory was cleaned away is a module not downloaded, not a parse problem.
    (tmp_path / ".terraform" / "modules" / "store" / "main.tf").unlink()
    (tmp_path / ".terraform" / "modules" / "store").rmdir()
    found, problems, _ = scan(tmp_path)
    assert problems == [] and found == {}


def test_module_not_downloaded_is_unknown_with_one_stderr_line(tmp_path: Path) -> None:
    write(tmp_path, {"main.tf": """
module "net" {
  source = "git::https://example.com/net.git?ref=v1"
}
module "store" {
  source = "acme/store/aws"
}
resource "aws_s3_bucket" "b" {
  bucket = module.store.name
}
"""})
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "iac", str(tmp_path), "--pack", "ccme", "-f", "json"],
        capture_output=True, text=True, check=False, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if "terraform init" in line]
    assert len(lines) == 1 and "module.net" in lines[0] and "module.store" in lines[0]
    found, problems, _ = scan(tmp_path)
    assert problems == []
    assert is_unknown(found["aws_s3_bucket.b"].attributes["name"])
    assert "not downloaded" in found["aws_s3_bucket.b"].attributes["name"]["$unknown"]


def test_a_called_directory_is_not_also_a_root(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.tf": 'variable "name" {}\nresource "aws_s3_bucket" "this" { bucket = var.name }\n',
        "examples/complete/main.tf": '# module "old" { source = "../nothing" }\n'
                                     'module "b" {\n  source = "../../"\n  name   = "from-example"\n'
                                     '  tags = { source = "./not-a-module" }\n}\n',
        "examples/other/main.tf": 'resource "aws_s3_bucket" "o" { bucket = "other" }\n',
        "loop1/main.tf": 'module "l" {\n  source = "../loop2"\n}\n',
        "loop2/main.tf": 'module "l" {\n  source = "../loop1"\n}\n',
    })
    assert local_module_calls(tmp_path / "examples" / "complete") == [tmp_path]
    dirs = [tmp_path, tmp_path / "examples" / "complete", tmp_path / "examples" / "other",
            tmp_path / "loop1", tmp_path / "loop2"]
    assert root_modules(dirs) == dirs[1:]  # loops with no outside caller stay roots
    assert root_modules(list(reversed(dirs))) == list(reversed(dirs[1:]))
    units, dropped = _terraform_roots(_units([tmp_path])[0])
    assert tmp_path not in [p for kind, p, _ in units if kind == "tfdir"] and dropped == {tmp_path.resolve()}
    # The module directory named next to its caller is read through the caller: not "holds no template".
    loaded = load_paths([tmp_path / "examples" / "complete", tmp_path / "main.tf"], region="eu-west-1", account="1")
    assert loaded.problems == []
    found, _, _ = scan(tmp_path / "examples")
    assert "aws_s3_bucket.this" not in found
    # Named on its own, the module directory is a root (nobody scanned calls it).
    found, _, _ = scan(tmp_path / "main.tf")
    assert is_unknown(found["aws_s3_bucket.this"].attributes["name"])


def test_the_module_call_scan_is_linear_in_blank_lines(tmp_path: Path) -> None:
    """Keys match at a line start without crossing lines: `^\\s*module` took quadratic time on blank lines."""
    import time

    blank = "\n" * 1_000_000
    write(tmp_path, {"main.tf": blank + 'module "m" {\n' + blank + '  source = "./m"\n}\n' + blank})
    started = time.monotonic()
    assert local_module_calls(tmp_path) == [tmp_path / "m"]
    assert time.monotonic() - started < 30


def test_whole_tree_scan_reads_the_module_through_its_example(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.tf": 'variable "name" {}\nresource "aws_s3_bucket" "this" { bucket = var.name }\n',
        "examples/complete/main.tf": 'module "b" {\n  source = "../../"\n  name   = "from-example"\n}\n',
    })
    found, _, _ = scan(tmp_path)
    assert {k: r.name for k, r in found.items()} == {"module.b.aws_s3_bucket.this": "from-example"}
    # The module's directory given as an argument beside its caller's: read through the caller, no error.
    write(tmp_path, {"mod/main.tf": 'variable "n" {}\nresource "aws_s3_bucket" "m" { bucket = var.n }\n',
                     "caller/main.tf": 'module "m" {\n  source = "../mod"\n  n = "named"\n}\n'})
    loaded = load_paths([tmp_path / "mod", tmp_path / "caller"], region="eu-west-1", account="1")
    assert [r.name for r in loaded.snapshot.resources] == ["named"]


def test_dynamic_blocks_expand_and_unknown_collections_fail_closed(tmp_path: Path) -> None:
    write(tmp_path, {"d/main.tf": """
variable "rules" {
  default = [{ algo = "AES256" }]
}
variable "unset" {}
resource "aws_s3_bucket" "b" { bucket = "b1" }
resource "aws_s3_bucket_server_side_encryption_configuration" "b" {
  bucket = aws_s3_bucket.b.id
  dynamic "rule" {
    for_each = var.rules
    content {
      apply_server_side_encryption_by_default { sse_algorithm = rule.value.algo }
    }
  }
}
resource "aws_s3_bucket" "c" { bucket = "c1" }
resource "aws_s3_bucket_server_side_encryption_configuration" "c" {
  bucket = aws_s3_bucket.c.id
  dynamic "rule" {
    for_each = var.unset
    content {
      apply_server_side_encryption_by_default { sse_algorithm = "AES256" }
    }
  }
}
resource "aws_security_group" "sg" {
  name = "sg"
  vpc_id = "vpc-1"
  dynamic "ingress" {
    for_each = { ssh = 22, https = 443 }
    iterator = port
    content {
      from_port   = port.value
      to_port     = port.value
      protocol    = "tcp"
      cidr_blocks = ["10.0.0.0/8"]
      description = port.key
    }
  }
}
"""})
    found, _, _ = scan(tmp_path / "d")
    assert found["aws_s3_bucket.b"].attributes["encryption"]["rules"][0]["sse_algorithm"] == "AES256"
    assert is_unknown(found["aws_s3_bucket.c"].attributes["encryption"]["rules"][0])
    ingress = found["aws_security_group.sg"].attributes["ingress"]
    assert [(r["from_port"], r["description"]) for r in ingress] == [(22, "ssh"), (443, "https")]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('try(var.m["missing"], "fallback")', "fallback"),
        ('try(var.m["k"], "fallback")', "v"),
        ("try(var.unset, \"fallback\")", None),  # unknown stops try: never a fallback Terraform might not take
        ('can(var.m["missing"]) ? "yes" : "no"', "no"),
        ('join(",", keys({ b = 1, a = 2 }))', "a,b"),
        ('join(",", values({ b = "1", a = "2" }))', "2,1"),
        ('join(",", toset(["b", "a", "b"]))', "a,b"),
        ('join(",", flatten([["a"], ["b", ["c"]]]))', "a,b,c"),
        ('join(",", distinct(["a", "a", "b"]))', "a,b"),
        ('contains(["a"], "a") ? "yes" : "no"', "yes"),
        ('join(",", compact(["a", "", null]))', "a"),
        ('one(["x"])', "x"),
        ('zipmap(["k"], ["v"])["k"]', "v"),
        ('coalesce("", "c")', "c"),
        ('element(["a", "b"], 3)', "b"),
        ("length(tomap({ a = 1 }))", "1"),
        ('cidrsubnet("10.0.0.0/16", 8, 2)', "10.0.2.0/24"),
        ('join(",", [for s in ["a", "b"] : upper(s) if s != "b"])', "A"),
        ('join(",", [for k, v in { x = "1" } : "${k}=${v}"])', "x=1"),
        ("tostring(tobool(\"true\"))", "true"),
        ('length(regexall("^[a-z]{2}-", "eu-west-1a")) > 0 ? "zone" : "id"', "zone"),
        ('join(",", regexall("[0-9]", "a1b2"))', "1,2"),
        ('try(regex("x", "abc"), "none")', "none"),
        ('regex("(a)", "abc")', None),  # capture groups: lists or maps in Terraform, unknown here
        ("templatefile(\"x.tpl\", {})", None),  # not evaluated: unknown, never a crash
        ('one(["a", "b"])', None),
        ("startswith(\"abc\")", None),  # wrong arity: unknown, never a crash
    ],
)
def test_functions(tmp_path: Path, expr: str, expected: str | None) -> None:
    write(tmp_path, {"d/main.tf": f"""
variable "m" {{
  default = {{ k = "v" }}
}}
variable "unset" {{}}
resource "aws_s3_bucket" "b" {{
  bucket = {expr}
}}
"""})
    found, problems, _ = scan(tmp_path / "d")
    assert problems == []
    name = found["aws_s3_bucket.b"].attributes["name"]
    if expected is None:
        assert is_unknown(name)
    else:
        assert name == expected


def test_count_index_out_of_range_falls_back_in_try(tmp_path: Path) -> None:
    write(tmp_path, {"d/main.tf": """
resource "aws_s3_bucket" "opt" {
  count  = 0
  bucket = "never"
}
resource "aws_s3_bucket" "made" {
  count  = 1
  bucket = "made-${count.index}"
}
resource "aws_s3_bucket" "b" {
  bucket = "${try(aws_s3_bucket.opt[0].id, "none")}-${try(aws_s3_bucket.made[0].arn, "none")}"
}
"""})
    found, _, _ = scan(tmp_path / "d")
    assert found["aws_s3_bucket.b"].name == "none-arn:aws:s3:::made-0"
    assert "aws_s3_bucket.made[0]" in found and "aws_s3_bucket.opt[0]" not in found


def test_splats_over_count_resources_and_module_instances(tmp_path: Path) -> None:
    write(tmp_path, {**BUCKET_MODULE, "root/main.tf": """
resource "aws_vpc" "v" { cidr_block = "10.0.0.0/16" }
resource "aws_subnet" "s" {
  count      = 2
  vpc_id     = aws_vpc.v.id
  cidr_block = "10.0.${count.index}.0/24"
}
resource "aws_route_table" "rt" { vpc_id = aws_vpc.v.id }
resource "aws_route_table_association" "a" {
  count          = 2
  subnet_id      = element(aws_subnet.s[*].id, count.index)
  route_table_id = aws_route_table.rt.id
}
module "b" {
  source = "../mod"
  count  = 2
  name   = "b${count.index}"
}
resource "aws_s3_bucket" "names" {
  bucket = join(",", module.b[*].id)
}
"""})
    found, problems, _ = scan(tmp_path / "root")
    assert problems == []
    assert found["aws_s3_bucket.names"].name == "b0,b1"
    table = found["aws_route_table.rt"]
    subnets = [found[f"aws_subnet.s[{i}]"].id for i in range(2)]
    assert [a["subnet_id"] for a in table.attributes["associations"]] == subnets


def test_a_module_parse_is_shared_between_roots_and_redone_when_edited(tmp_path: Path) -> None:
    write(tmp_path, {**BUCKET_MODULE,
                     "one/main.tf": 'module "m" {\n  source = "../mod"\n  name = "one"\n}\n',
                     "two/main.tf": 'module "m" {\n  source = "../mod"\n  name = "two"\n}\n'})
    loaded = load_paths([tmp_path], region="eu-west-1", account="111122223333")
    assert sorted(str(r.name) for r in loaded.snapshot.resources if r.type == "s3.bucket") == ["one", "two"]
    edited = BUCKET_MODULE["mod/main.tf"].replace("bucket = var.name", 'bucket = "edited-${var.name}"')
    write(tmp_path, {"mod/main.tf": edited})
    found, _, _ = scan(tmp_path / "one")
    assert found["module.m.aws_s3_bucket.this"].name == "edited-one"


def test_wrapper_pattern_takes_item_then_default_then_fallback() -> None:
    case = ROOT / "tests" / "iac" / "corpus" / "terraform" / "module-wrapper-for-each"
    found, problems, errors = scan(case)
    assert problems == [] and errors == []
    groups = {k: r.attributes["retention_in_days"] for k, r in found.items() if r.type == "logs.log_group"}
    assert groups == {
        'module.apps.module.wrapper["portal"].aws_cloudwatch_log_group.this': 30,
        'module.apps.module.wrapper["scheduler"].aws_cloudwatch_log_group.this': 90,
    }


def test_module_calls_terraform_would_refuse_are_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.iac.terraform import module as terraform  # where the module-instance limit is read

    write(tmp_path, {**BUCKET_MODULE, "root/main.tf": """
variable "src" { default = "../mod" }
module "self" {
  source = "../mod"
  count  = length(module.self[0].id)
  name   = "x"
}
resource "aws_s3_bucket" "src" { bucket = null }
module "computed" {
  source = aws_s3_bucket.src.id
  name   = "y"
}
module "many" {
  source   = "../mod"
  for_each = toset(["a", "b", "c"])
  name     = each.key
}
"""})
    monkeypatch.setattr(terraform, "MAX_MODULE_INSTANCES", 2)
    found, problems, errors = scan(tmp_path / "root")
    assert len(problems) == 2, problems
    assert "module.computed: the module source is not a literal string" in problems[0]
    assert "module.many: more than 2 module instances" in problems[1]
    # A count that reads the module's own output cannot be known: its resources carry the error.
    assert set(found) == {"aws_s3_bucket.src", "module.self.aws_s3_bucket.this"}
    assert any("module.self: count cannot be evaluated" in e and "depends on itself" in e for e in errors)


def test_plan_json_links_references_inside_module_instances(tmp_path: Path) -> None:
    def bucket(key: str) -> dict[str, object]:
        return {"address": f'module.logs["{key}"]', "resources": [
            {"address": f'module.logs["{key}"].aws_s3_bucket.this', "mode": "managed", "type": "aws_s3_bucket",
             "name": "this", "values": {"bucket_prefix": key}},
            {"address": f'module.logs["{key}"].aws_s3_bucket_versioning.this', "mode": "managed",
             "type": "aws_s3_bucket_versioning", "name": "this",
             "values": {"versioning_configuration": [{"status": "Enabled" if key == "a" else "Suspended"}]}},
        ]}

    plan = {
        "format_version": "1.2",
        "planned_values": {"root_module": {"child_modules": [bucket("a"), bucket("b")]}},
        "resource_changes": [
            {"address": f'module.logs["{k}"].aws_s3_bucket_versioning.this',
             "change": {"after_unknown": {"bucket": True}}} for k in "ab"
        ],
        "configuration": {"root_module": {"module_calls": {"logs": {"module": {"resources": [
            {"address": "aws_s3_bucket_versioning.this",
             "expressions": {"bucket": {"references": ["aws_s3_bucket.this.id", "aws_s3_bucket.this"]}}},
        ]}}}}},
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    found, problems, _ = scan(tmp_path / "plan.json")
    assert problems == []
    assert found['module.logs["a"].aws_s3_bucket.this'].attributes["versioning"] == "Enabled"
    assert found['module.logs["b"].aws_s3_bucket.this'].attributes["versioning"] == "Suspended"


def test_multi_line_expressions(tmp_path: Path) -> None:
    write(tmp_path, {"d/main.tf": """
variable "on" { default = true }
locals {
  cond = var.on ? (
    "yes"
  ) : "no"
  both = var.on && (
    true
  )
  names = {
    for n in ["a", "b"] :
    n => upper(n)
    if n != "b"
  }
  list = [
    for k, v in local.names : "${k}${v}"
  ]
}
resource "aws_s3_bucket" "b" {
  bucket = join(",", concat(local.list, [local.cond, tostring(local.both)]))
}
"""})
    found, _, _ = scan(tmp_path / "d")
    assert found["aws_s3_bucket.b"].name == "aA,yes,true"


def test_aws_iam_policy_document_is_rendered(tmp_path: Path) -> None:
    write(tmp_path, {"d/main.tf": """
variable "unset" {}
data "aws_iam_policy_document" "base" {
  statement {
    sid       = "Keep"
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::b/*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::111122223333:root"]
    }
  }
  statement {
    sid       = "Replaced"
    actions   = ["s3:PutObject"]
    resources = ["*"]
  }
}
data "aws_iam_policy_document" "tls" {
  count                   = 1
  source_policy_documents = [data.aws_iam_policy_document.base.json]
  statement {
    sid         = "Replaced"
    effect      = "Deny"
    not_actions = ["s3:List*"]
    resources   = ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}
data "aws_iam_policy_document" "broken" {
  statement {
    actions   = ["s3:*"]
    resources = [var.unset]
  }
}
resource "aws_s3_bucket" "b" { bucket = "b" }
resource "aws_s3_bucket_policy" "b" {
  bucket = aws_s3_bucket.b.id
  policy = data.aws_iam_policy_document.tls[0].json
}
resource "aws_s3_bucket" "c" { bucket = "c" }
resource "aws_s3_bucket_policy" "c" {
  bucket = aws_s3_bucket.c.id
  policy = data.aws_iam_policy_document.broken.json
}
"""})
    found, _, _ = scan(tmp_path / "d")
    policy = found["aws_s3_bucket.b"].attributes["policy"]
    assert policy["Version"] == "2012-10-17"
    assert policy["Statement"] == [
        {"Sid": "Keep", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"],
         "Principal": {"AWS": ["arn:aws:iam::111122223333:root"]}},
        {"Sid": "Replaced", "Effect": "Deny", "NotAction": ["s3:List*"],
         "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Principal": "*",
         "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}},
    ]
    assert is_unknown(found["aws_s3_bucket.c"].attributes["policy"])


CORPUS_TF = sorted((ROOT / "tests" / "iac" / "corpus" / "terraform").rglob("*.tf"))
TOKENS = ["}", "{", "x = ", "for", "[", ")", "?", ":", "...", "${", 'module "m" {', 'source = "../"',
          "count = -1", "for_each = 3", 'dynamic "d" {', "content {", "each.value", "count.index", "try(", "module.m"]


@given(
    source=st.sampled_from(CORPUS_TF),
    edits=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 2), st.sampled_from(TOKENS)), max_size=4),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_edited_corpus_files_never_crash_the_loader(
    tmp_path: Path, source: Path, edits: list[tuple[int, int, str]]
) -> None:
    lines = source.read_text(encoding="utf-8").splitlines()
    for where, op, token in edits:
        if not lines:
            break
        at = where % len(lines)
        if op == 0:
            del lines[at]
        elif op == 1:
            lines.insert(at, token)
        else:
            lines[at] = lines[at].replace('"', "", 1)
    target = tmp_path / "fuzz" / source.parent.name
    if target.exists():
        for old in target.glob("*.tf"):
            old.unlink()
    target.mkdir(parents=True, exist_ok=True)
    (target / "main.tf").write_text("\n".join(lines), encoding="utf-8")
    loaded = load_paths([target], region="eu-west-1", account="111122223333")  # must not raise
    assert all(p.file for p in loaded.problems)


def test_a_nested_block_from_an_unknown_dynamic_is_unknown_not_absent(tmp_path: Path) -> None:
    write(tmp_path, {"d/main.tf": """
variable "unset" {}
resource "aws_s3_bucket" "b" { bucket = "b" }
resource "aws_s3_bucket_versioning" "b" {
  bucket = aws_s3_bucket.b.id
  dynamic "versioning_configuration" {
    for_each = var.unset
    content { status = "Enabled" }
  }
}
resource "aws_s3_bucket_ownership_controls" "b" {
  bucket = aws_s3_bucket.b.id
  dynamic "rule" {
    for_each = var.unset
    content { object_ownership = "BucketOwnerEnforced" }
  }
}
"""})
    found, _, _ = scan(tmp_path / "d")
    assert is_unknown(found["aws_s3_bucket.b"].attributes["versioning"])
    assert is_unknown(found["aws_s3_bucket.b"].attributes["ownership"])
