"""CloudFormation beyond the core language: Rules, AWS::LanguageExtensions, nested stacks, SAM, and
what the gate does with a malformed template or a file that is not a template."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.cli import main
from auditor.iac import LoadResult, cfn_decode, cfn_language, load_paths
from auditor.iac.cloudformation import is_cloudformation
from auditor.snapshot import Resource, generated_may_be, is_generated, is_unknown

HEAD = 'AWSTemplateFormatVersion: "2010-09-09"\n'
LANG = HEAD + "Transform: AWS::LanguageExtensions\n"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(*paths: Path, params: dict[str, str] | None = None) -> LoadResult:
    return load_paths(list(paths), region="eu-west-1", account="111122223333", params=params or {})


def by_logical(result: LoadResult) -> dict[str, Resource]:
    return {r.location.logical_id: r for r in result.snapshot.resources if r.location and r.location.logical_id}


def errors(result: LoadResult) -> list[str]:
    return [p.message for p in result.problems if not p.warning]


def warnings(result: LoadResult) -> list[str]:
    return [p.message for p in result.problems if p.warning]


# --- what is a CloudFormation template -------------------------------------------------------


@pytest.mark.parametrize(
    "doc",
    [
        {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}},
        {"Description": "placeholder stack", "Resources": {}},
        {"Resources": {"Child": {"Type": "AWS::CloudFormation::Stack", "Properties": {"TemplateURL": "c.yaml"}}}},
        {"Resources": {"Thing": {"Type": "Custom::Thing", "Properties": {"ServiceToken": "arn"}}}},
        {"Resources": {"Thing": {"Type": "AWS::CloudFormation::CustomResource"}}},
        {"Transform": "AWS::Serverless-2016-10-31", "Resources": {}},
        {"Resources": {"Fn::ForEach::Loop": ["X", ["a"], {"B${X}": {"Type": "AWS::S3::Bucket"}}]}},
    ],
)
def test_templates_that_are_cloudformation(doc: dict[str, Any]) -> None:
    assert is_cloudformation(doc)


@pytest.mark.parametrize(
    "doc",
    [
        {"on": ["push"], "jobs": {"build": {"runs-on": "ubuntu-latest"}}},  # a GitHub workflow
        {"services": {"web": {"image": "nginx"}}, "version": "3"},  # docker-compose
        {"name": "pkg", "version": "1.0.0"},  # package.json
        {"Resources": {}},  # nothing but an empty Resources says nothing
        {"Resources": {"cpu": "2", "memory": "4Gi"}},  # a Kubernetes-like resources block
    ],
)
def test_documents_that_are_not_cloudformation(doc: dict[str, Any]) -> None:
    assert not is_cloudformation(doc)


def test_empty_resources_custom_and_nested_only_templates_load(tmp_path: Path) -> None:
    write(tmp_path, "empty.yaml", HEAD + "Resources: {}\n")
    write(tmp_path, "custom.yaml", HEAD + textwrap.dedent("""\
        Resources:
          Seed:
            Type: Custom::SeedDatabase
            Properties: {ServiceToken: arn:aws:lambda:eu-west-1:111122223333:function:seed}
          Other:
            Type: AWS::CloudFormation::CustomResource
            Properties: {ServiceToken: arn:aws:lambda:eu-west-1:111122223333:function:seed}
        """))
    result = load(tmp_path)
    assert errors(result) == [] and result.kinds == {"cloudformation"} and not result.snapshot.resources


# --- Rules -----------------------------------------------------------------------------------

RULES = HEAD + textwrap.dedent("""\
    Parameters:
      Subnets: {Type: CommaDelimitedList, Default: "subnet-1,subnet-2"}
      Deployment: {Type: String, Default: MULTI_AZ_1}
      Env: {Type: String}
    Rules:
      SubnetsForMultiAz:
        RuleCondition: !Equals [!Ref Deployment, MULTI_AZ_1]
        Assertions:
          - Assert: !Equals [!Ref Deployment, MULTI_AZ_1]
          - Assert: !Contains [[MULTI_AZ_1, SINGLE_AZ_2], !Ref Deployment]
            AssertDescription: deployment type must be MULTI_AZ_1 or SINGLE_AZ_2
      AllInSet:
        Assertions:
          - Assert: {"Fn::EachMemberIn": [!Ref Subnets, [subnet-1, subnet-2, subnet-3]]}
            AssertDescription: subnets must be among the known ones
          - Assert: {"Fn::EachMemberEquals": [[a, a], a]}
      EnvKnown:
        Assertions:
          - Assert: !Contains [[dev, prod], !Ref Env]
            AssertDescription: Env is dev or prod
      FromTheAccount:
        Assertions:
          - Assert: {"Fn::EachMemberIn": [{"Fn::ValueOfAll": ["AWS::EC2::Subnet::Id", VpcId]}, [vpc-1]]}
    Resources: {}
    """)


def test_rules_section_is_read_and_a_true_rule_is_silent(tmp_path: Path) -> None:
    result = load(write(tmp_path, "rules.yaml", RULES))
    # EnvKnown (Env has no value) and FromTheAccount (needs the account) cannot be judged: silent.
    assert result.problems == []


def test_a_false_rule_assertion_is_a_warning_naming_the_rule_and_line(tmp_path: Path) -> None:
    result = load(write(tmp_path, "rules.yaml", RULES), params={"Subnets": "subnet-1,subnet-9", "Env": "qa"})
    assert errors(result) == []
    assert sorted(warnings(result)) == [
        "rule AllInSet: CloudFormation would refuse these parameter values (subnets must be among the known ones)",
        "rule EnvKnown: CloudFormation would refuse these parameter values (Env is dev or prod)",
    ]
    lines = {p.line for p in result.problems}
    assert lines == {15, 20}  # the assertions' lines


def test_rule_condition_false_skips_the_rule(tmp_path: Path) -> None:
    text = HEAD + textwrap.dedent("""\
        Parameters:
          Kind: {Type: String, Default: SCRATCH_2}
        Rules:
          OnlyForPersistent:
            RuleCondition: !Equals [!Ref Kind, PERSISTENT_2]
            Assertions:
              - Assert: !Equals [!Ref Kind, never]
        Resources: {}
        """)
    assert load(write(tmp_path, "r.yaml", text)).problems == []
    result = load(write(tmp_path, "r.yaml", text), params={"Kind": "PERSISTENT_2"})
    assert [p.warning for p in result.problems] == [True]


@pytest.mark.parametrize(
    ("rules", "needle"),
    [
        ("R: {Assertions: []}", "Assertions is not a non-empty list"),
        ("R: {Assertions: [{AssertDescription: x}]}", "has no Assert"),
        ("R: {Assertions: [{Assert: {'Fn::Sub': x}}]}", "Fn::Sub is not a rule function"),
        ("R: {Assertions: [{Assert: {'Fn::Contains': [[a]]}}]}", "Fn::Contains takes a list of 2 arguments"),
        ("R: {Assert: x}", "unknown key 'Assert'"),
        ("R: [x]", "rule R is not a mapping"),
        ("R: {Assertions: [{Assert: {'Fn::Equals': [{'Fn::Join': [',', [a]]}, a]}}]}",
         "Fn::Join is not a rule function"),
    ],
)
def test_malformed_rules_are_bad_input(tmp_path: Path, rules: str, needle: str) -> None:
    result = load(write(tmp_path, "r.yaml", HEAD + f"Rules:\n  {rules}\nResources: {{}}\n"))
    assert len(errors(result)) == 1 and needle in errors(result)[0], result.problems


# --- AWS::LanguageExtensions -----------------------------------------------------------------

FOREACH = LANG + textwrap.dedent("""\
    Parameters:
      Teams: {Type: CommaDelimitedList, Default: "hpc-a,hpc.b"}
    Conditions:
      Fn::ForEach::TeamConditions:
        - Team
        - !Ref Teams
        - Is&{Team}: !Equals [!Ref Team, hpc-a]
    Resources:
      Fn::ForEach::TeamBuckets:
        - Team
        - !Ref Teams
        - Bucket&{Team}:
            Type: AWS::S3::Bucket
            Properties:
              BucketName: !Sub "ucit-${Team}-scratch"
              Tags:
                - {Key: Team, Value: !Ref Team}
              VersioningConfiguration:
                Status: !If ["Is&{Team}", Enabled, Suspended]
      Fn::ForEach::Layers:
        - Layer
        - [one, two]
        - Fn::ForEach::Sizes:
            - Size
            - [s, m]
            - Key${Layer}${Size}:
                Type: AWS::KMS::Key
                Properties:
                  Description: "${Layer}-${Size}"
    Outputs:
      Fn::ForEach::Names:
        - Team
        - !Ref Teams
        - Name&{Team}:
            Value: !Ref Bucket&{Team}
      Count:
        Value: {"Fn::Length": !Ref Teams}
      Literal:
        Value: !Length [a, !Ref "AWS::NoValue", c]
      AsJson:
        Value: !ToJsonString {teams: !Ref Teams}
    """)


def test_foreach_expands_resources_conditions_and_nested_loops(tmp_path: Path) -> None:
    path = write(tmp_path, "loop.yaml", FOREACH)
    result = load(path)
    assert result.problems == []
    found = by_logical(result)
    assert sorted(found) == ["Bucket" + "hpca", "Buckethpcb", "Keyonem", "Keyones", "Keytwom", "Keytwos"]
    a, b = found["Buckethpca"], found["Buckethpcb"]
    assert (a.name, b.name) == ("ucit-hpc-a-scratch", "ucit-hpc.b-scratch")
    assert a.attributes["tags"] == {"Team": "hpc-a"}
    assert (a.attributes["versioning"], b.attributes["versioning"]) == ("Enabled", "Suspended")
    assert found["Keytwom"].attributes["description"] == "two-m"
    assert a.location is not None and a.location.file == str(path) and a.location.line == 11  # the loop's line


def test_foreach_expansion_output(tmp_path: Path) -> None:
    from auditor.iac.cloudformation import Resolver

    template = cfn_decode.decode_yaml(textwrap.dedent(FOREACH))
    plain = json.loads(json.dumps(template, default=str))
    resolver = Resolver(plain, region="eu-west-1", account=None, overrides={}, names={})
    expansion = cfn_language.expand_foreach(template, resolver.value)
    out = expansion.template
    assert expansion.uncertain == {}
    assert list(out["Conditions"]) == ["Ishpca", "Ishpcb"]
    assert out["Conditions"]["Ishpcb"] == {"Fn::Equals": ["hpc.b", "hpc-a"]}
    assert out["Outputs"]["Namehpcb"] == {"Value": {"Ref": "Buckethpcb"}}
    resolver = Resolver(json.loads(json.dumps(out, default=str)), region="eu-west-1", account=None, overrides={},
                        names={})
    assert resolver.value(out["Outputs"]["Count"]["Value"]) == 2
    assert resolver.value(out["Outputs"]["Literal"]["Value"]) == 2
    assert resolver.value(out["Outputs"]["AsJson"]["Value"]) == '{"teams":["hpc-a","hpc.b"]}'


def test_foreach_over_an_unknown_collection_makes_the_resources_error(tmp_path: Path) -> None:
    text = LANG + textwrap.dedent("""\
        Parameters:
          Names: {Type: CommaDelimitedList}
        Resources:
          Fn::ForEach::Buckets:
            - Name
            - !Ref Names
            - Bucket${Name}:
                Type: AWS::S3::Bucket
                Properties:
                  BucketName: !Sub "ucit-${Name}"
        """)
    result = load(write(tmp_path, "u.yaml", text))
    assert result.problems == []
    bucket = by_logical(result)["Bucket${Name}"]
    # The loop's name keeps its fixed text ("ucit-" then the item): a shaped, generated value, never a concrete
    # name, and a configured name that fits the shape cannot be told apart from it.
    name = bucket.attributes["name"]
    assert is_generated(name) and "Names has no default" in name["$generated"]
    assert generated_may_be(name, "ucit-ccme-logging-eu-west-1") and not generated_may_be(name, "other-bucket")
    reasons = [e.message for e in result.snapshot.errors if e.resource_id == bucket.id]
    assert reasons and "Fn::ForEach::Buckets loops over a collection unknown before deployment" in reasons[0]
    given = load(write(tmp_path, "u.yaml", text), params={"Names": "x,y"})
    assert sorted(by_logical(given)) == ["Bucketx", "Buckety"] and not given.snapshot.errors


def test_foreach_in_properties_over_an_unknown_collection_is_unknown(tmp_path: Path) -> None:
    text = LANG + textwrap.dedent("""\
        Parameters:
          Keys: {Type: CommaDelimitedList}
        Resources:
          Bucket:
            Type: AWS::S3::Bucket
            Properties:
              BucketName: ucit-props
              VersioningConfiguration:
                Fn::ForEach::Fields:
                  - K
                  - !Ref Keys
                  - ${K}: Enabled
        """)
    bucket = by_logical(load(write(tmp_path, "p.yaml", text)))["Bucket"]
    assert is_unknown(bucket.attributes["versioning"])


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ("Fn::ForEach::L: [X, [a], {'B${X}': {Type: AWS::S3::Bucket}}]", "needs Transform: AWS::LanguageExtensions"),
        ("Fn::ForEach::L: [X, [a]]", "is not [Identifier, Collection"),
        ("Fn::ForEach::L: [X, [a], {Bucket: {Type: AWS::S3::Bucket}}]", "holds neither ${X} nor &{X}"),
        ("Fn::ForEach::L: [X, [a-b, a.b], {'B&{X}': {Type: AWS::S3::Bucket}}]", "already exists"),
        ("Fn::ForEach::L: [X, [[a]], {'B${X}': {Type: AWS::S3::Bucket}}]", "holds list, not strings"),
    ],
)
def test_malformed_foreach_is_bad_input(tmp_path: Path, body: str, needle: str) -> None:
    head = HEAD if "needs Transform" in needle else LANG
    result = load(write(tmp_path, "bad.yaml", head + f"Resources:\n  {body}\n"))
    assert len(errors(result)) == 1 and needle in errors(result)[0], result.problems


def test_foreach_nesting_is_limited(tmp_path: Path) -> None:
    inner = "{'B${A}${B}${C}${D}${E}${F}': {Type: AWS::S3::Bucket}}"
    for ident in "FEDCBA":
        inner = f"{{Fn::ForEach::L{ident}: [{ident}, [x], {inner}]}}"
    result = load(write(tmp_path, "deep.yaml", LANG + f"Resources: {inner}\n"))
    assert "nest 5 levels deep at most" in errors(result)[0]


def test_find_in_map_default_value(tmp_path: Path) -> None:
    text = LANG + textwrap.dedent("""\
        Mappings:
          Names: {eu-west-1: {Logs: ucit-logs-eu}}
        Resources:
          Known:
            Type: AWS::S3::Bucket
            Properties: {BucketName: !FindInMap [Names, !Ref "AWS::Region", Logs, {DefaultValue: other}]}
          Fallback:
            Type: AWS::S3::Bucket
            Properties: {BucketName: !FindInMap [Names, us-east-1, Logs, {DefaultValue: ucit-fallback}]}
        """)
    found = by_logical(load(write(tmp_path, "m.yaml", text)))
    assert (found["Known"].name, found["Fallback"].name) == ("ucit-logs-eu", "ucit-fallback")


# --- nested stacks ---------------------------------------------------------------------------

PARENT = HEAD + textwrap.dedent("""\
    Parameters:
      Prefix: {Type: String, Default: ucit-ccme}
    Resources:
      Storage:
        Type: AWS::CloudFormation::Stack
        Properties:
          TemplateURL: stacks/storage.yaml
          Parameters:
            LoggingName: !Sub "${Prefix}-logging-eu-west-1"
            Versioning: Enabled
      Policy:
        Type: AWS::S3::BucketPolicy
        Properties:
          Bucket: !GetAtt Storage.Outputs.LoggingBucket
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - {Effect: Deny, Principal: "*", Action: "s3:*", Resource: "*",
                 Condition: {Bool: {aws:SecureTransport: "false"}}}
      Tagged:
        Type: AWS::S3::Bucket
        Properties:
          BucketName: !Sub "${Storage.Outputs.LoggingBucket}-copy"
    """)
CHILD = HEAD + textwrap.dedent("""\
    Parameters:
      LoggingName: {Type: String}
      Versioning: {Type: String, Default: Suspended}
      Unpassed: {Type: String}
    Resources:
      Logging:
        Type: AWS::S3::Bucket
        Properties:
          BucketName: !Ref LoggingName
          VersioningConfiguration: {Status: !Ref Versioning}
      Other:
        Type: AWS::S3::Bucket
        Properties: {BucketName: !Ref Unpassed}
    Outputs:
      LoggingBucket:
        Value: !Ref Logging
    """)


def test_nested_stack_parameters_outputs_prefix_and_location(tmp_path: Path) -> None:
    parent = write(tmp_path, "main.yaml", PARENT)
    child = write(tmp_path, "stacks/storage.yaml", CHILD)
    result = load(tmp_path)
    assert errors(result) == []
    found = by_logical(result)
    logging = found["Storage/Logging"]
    assert logging.name == "ucit-ccme-logging-eu-west-1" and logging.attributes["versioning"] == "Enabled"
    assert logging.location is not None and logging.location.file == str(child)
    assert logging.location.line == 7
    assert "parameter Unpassed of nested stack" in found["Storage/Other"].attributes["name"]["$unknown"]
    assert found["Tagged"].name == "ucit-ccme-logging-eu-west-1-copy"  # Fn::Sub ${Storage.Outputs.X}
    assert logging.attributes["policy"] is not None  # the parent's BucketPolicy joined through the output
    # The child, in the same tree, is checked through its parent only: no second bucket on its defaults.
    assert [r.location.logical_id for r in result.snapshot.resources if r.type == "s3.bucket"].count("Logging") == 0
    assert result.nested == [str(child)]
    assert parent.exists()


def test_nested_template_named_alone_is_checked_on_its_own(tmp_path: Path) -> None:
    write(tmp_path, "main.yaml", PARENT)
    child = write(tmp_path, "stacks/storage.yaml", CHILD)
    found = by_logical(load(child))
    assert sorted(found) == ["Logging", "Other"] and is_unknown(found["Logging"].attributes["name"])


def test_nested_stack_cycle_is_bad_input(tmp_path: Path) -> None:
    stack = HEAD + "Resources:\n  Next:\n    Type: AWS::CloudFormation::Stack\n    Properties: {{TemplateURL: {}}}\n"
    a = write(tmp_path, "a.yaml", stack.format("b.yaml"))
    write(tmp_path, "b.yaml", stack.format("a.yaml"))
    result = load(a)
    assert len(errors(result)) == 1
    assert "the nested stacks form a cycle (a.yaml -> b.yaml -> a.yaml)" in errors(result)[0]


def test_nested_stack_self_reference_is_bad_input(tmp_path: Path) -> None:
    text = "Resources:\n  Me:\n    Type: AWS::CloudFormation::Stack\n    Properties: {TemplateURL: ./me.yaml}\n"
    me = write(tmp_path, "me.yaml", HEAD + text)
    assert "cycle (me.yaml -> me.yaml)" in errors(load(me))[0]


def test_nested_stack_at_an_url_is_not_followed_and_its_outputs_are_unknown(tmp_path: Path) -> None:
    text = HEAD + textwrap.dedent("""\
        Resources:
          Remote:
            Type: AWS::CloudFormation::Stack
            Properties:
              TemplateURL: https://s3.amazonaws.com/bucket/storage.yaml
          Copy:
            Type: AWS::S3::Bucket
            Properties: {BucketName: !GetAtt Remote.Outputs.Name}
        """)
    result = load(write(tmp_path, "remote.yaml", text))
    assert errors(result) == [] and len(warnings(result)) == 1 and "is not followed" in warnings(result)[0]
    copy = by_logical(result)["Copy"]
    assert is_unknown(copy.attributes["name"]) and "is not followed" in copy.attributes["name"]["$unknown"]


@pytest.mark.parametrize(
    ("child", "params", "needle"),
    [
        (None, "{}", "no such file"),
        (HEAD + "Resources: {}\n", "{Extra: x}", "passes parameter Extra, which"),
        ("a: [\n", "{}", "invalid template"),
        ("name: not-a-template\n", "{}", "is not a CloudFormation template"),
    ],
)
def test_broken_nested_stacks_are_bad_input(tmp_path: Path, child: str | None, params: str, needle: str) -> None:
    if child is not None:
        write(tmp_path, "child.yaml", child)
    parent = write(tmp_path, "parent.yaml", HEAD + "Resources:\n  C:\n    Type: AWS::CloudFormation::Stack\n"
                   f"    Properties: {{TemplateURL: child.yaml, Parameters: {params}}}\n")
    result = load(parent)
    assert len(errors(result)) == 1 and needle in errors(result)[0], result.problems


def test_nested_stacks_fan_out_is_bounded(tmp_path: Path) -> None:
    level = HEAD + "Resources:\n" + "".join(
        f"  S{i}:\n    Type: AWS::CloudFormation::Stack\n    Properties: {{TemplateURL: {{next}}}}\n" for i in range(8)
    )
    for depth in range(4):  # 8 + 64 + 512 templates if nothing stopped it
        write(tmp_path, f"l{depth}.yaml", level.replace("{next}", f"l{depth + 1}.yaml"))
    write(tmp_path, "l4.yaml", HEAD + "Resources: {}\n")
    result = load(tmp_path / "l0.yaml")
    assert any("more than 200 nested templates" in e for e in errors(result))


def test_sam_application_with_a_local_location_is_a_nested_stack(tmp_path: Path) -> None:
    write(tmp_path, "app/template.yaml", HEAD + textwrap.dedent("""\
        Parameters:
          Name: {Type: String}
        Resources:
          Logs:
            Type: AWS::Logs::LogGroup
            Properties: {LogGroupName: !Ref Name, RetentionInDays: 30}
        """))
    parent = write(tmp_path, "sam.yaml", """\
        Transform: AWS::Serverless-2016-10-31
        Resources:
          App:
            Type: AWS::Serverless::Application
            Properties:
              Location: ./app/template.yaml
              Parameters: {Name: /hpc/jobs}
        """)
    found = by_logical(load(parent))
    assert found["App/Logs"].name == "/hpc/jobs"


# --- SAM -------------------------------------------------------------------------------------


def test_sam_function_and_api_with_globals(tmp_path: Path) -> None:
    text = """\
        Transform: AWS::Serverless-2016-10-31
        Globals:
          Function:
            Runtime: python3.12
            Tags: {Team: hpc}
        Resources:
          Submit:
            Type: AWS::Serverless::Function
            Properties:
              FunctionName: submit-job
              Handler: app.handler
              CodeUri: src/
          Image:
            Type: AWS::Serverless::Function
            Properties:
              PackageType: Image
              ImageUri: 111122223333.dkr.ecr.eu-west-1.amazonaws.com/provisioner:1.0
              Runtime: !Ref AWS::NoValue
          Api:
            Type: AWS::Serverless::Api
            Properties: {StageName: prod, Name: jobs}
          Table:
            Type: AWS::Serverless::SimpleTable
        """
    result = load(write(tmp_path, "sam.yaml", text))
    assert result.problems == []
    found = by_logical(result)
    assert sorted(found) == ["Api", "Image", "Submit"]
    submit, image = found["Submit"], found["Image"]
    assert (submit.type, submit.name, submit.attributes["runtime"]) == ("lambda.function", "submit-job", "python3.12")
    assert submit.attributes["tags"] == {"Team": "hpc"}
    assert image.attributes["package_type"] == "Image" and image.attributes["image_uri"].endswith("provisioner:1.0")
    assert found["Api"].type == "apigateway.rest_api" and is_unknown(found["Api"].attributes["methods"])


# --- the gate: bad input, files that are not templates, locations ------------------------------


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("bad.yaml", HEAD + "Resources:\n  B: {Type: AWS::S3::Bucket\n", "invalid template"),
        ("bad.json", '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {', "invalid JSON"),
        ("fn.yaml", HEAD + "Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties: {BucketName: !Nope x}\n",
         "unknown intrinsic function Fn::Nope"),
        ("cluster.yaml", "HeadNode: {InstanceType: [\nScheduling: {}\n", "invalid template"),
    ],
)
def test_malformed_template_in_a_directory_is_exit_2_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, needle: str
) -> None:
    write(tmp_path, "repo/" + name, text)
    write(tmp_path, "repo/good.yaml", HEAD + "Resources: {}\n")
    out_file = tmp_path / "report.json"
    code, out, err = run(["iac", str(tmp_path / "repo"), "-f", "json", "-o", str(out_file)], capsys)
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    assert err.startswith(f"ccme-audit: error: {tmp_path / 'repo' / name}") and needle in err and "(fix: " in err
    assert "None" not in err and not out_file.exists()


def test_files_that_are_not_templates_are_skipped_and_mentioned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    write(repo, "ci/workflow.yml", "on: [push]\njobs:\n  build: {runs-on: ubuntu-latest}\n")
    write(repo, "compose.yaml", "services:\n  web: {image: nginx, ports: ['80:80']}\n")
    write(repo, "package.json", '{"name": "site", "version": "1.0.0"}')
    write(repo, "chart/values.yaml", "image: {{ .Values.image }}\n  bad: [\n")  # a Helm template: no YAML
    write(repo, "stack.yaml", HEAD + "Resources: {}\n")
    code, _, err = run(["iac", str(repo), "--pack", "ccme"], capsys)
    assert code in (0, 1) and "error" not in err
    notes = [line for line in err.splitlines() if "not templates: skipped" in line]
    assert len(notes) == 1 and notes[0].startswith("ccme-audit: warning: ") and "4 file(s)" in notes[0]


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("Resources:\n  B:\n    Type: AWS::S3::Bucket\n  C: [\n", True),
        ('{\n  "Resources": {"B": {"Type": "Custom::Thing"}\n', True),
        ("Transform: AWS::Serverless-2016-10-31\nx: [\n", True),
        ("Scheduling:\n  Scheduler: slurm\nHeadNode: [\n", True),
        ("HeadNode:\n  InstanceType: t3.micro\nScheduling: [\n", True),
        ("Type: AWS::S3::Bucket\nResources: [\n", False),  # a Type before any Resources key
        ("jobs:\n  HeadNode: x\n  build: [\n", False),
        ("\n" * 1_000_000 + "a: [\n", False),  # blank lines: linear time (a single pattern took hours)
    ],
)
def test_looks_like_template(text: str, meant: bool) -> None:
    from auditor.iac import looks_like_template

    assert looks_like_template(text) is meant


def test_an_unparsable_file_of_blank_lines_is_skipped_quickly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    repo = tmp_path / "repo"
    write(repo, "blank.yaml", "\n" * 500_000 + "a: [\n")
    write(repo, "stack.yaml", HEAD + "Resources: {}\n")
    started = time.monotonic()
    code, _, err = run(["iac", str(repo), "--pack", "ccme"], capsys)
    assert code in (0, 1) and "error" not in err and "1 file(s)" in err
    assert time.monotonic() - started < 30


def test_a_directory_of_non_templates_only_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "repo/workflow.yml", "on: [push]\n")
    code, _, err = run(["iac", str(tmp_path / "repo")], capsys)
    assert code == 2 and "holds no template" in err


def test_a_named_file_that_is_not_a_template_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "workflow.yml", "on: [push]\n")
    code, _, err = run(["iac", str(path)], capsys)
    assert code == 2 and "not a CloudFormation template" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("fmt", ["text", "markdown", "junit", "html", "sarif", "json"])
def test_no_location_prints_line_none(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    """A finding whose location has no line (a bucket generated at an unknown line) prints the file alone."""
    from auditor.engine.evaluate import Evaluation
    from auditor.engine.findings import Finding, Severity, Source, Status
    from auditor.report import parse_formats, write_reports

    finding = Finding(
        rule_id="CCME-S3-VERSIONING-LOGGING", title="t", pack="ccme", area="s3", resource_type="s3.bucket",
        resource_id="b", status=Status.FAIL, severity=Severity.HIGH, message="m",
        source=Source(document="seed", section="s"), location={"file": "template", "line": None},
    )
    evaluation = Evaluation(findings=(finding,), rules=(), account=None, regions=("eu-west-1",),
                            evaluated_at="2026-12-05T08:00:00Z")
    out = tmp_path / f"r.{fmt}"
    write_reports(evaluation, parse_formats([fmt]), output=out, output_dir=None)
    text = out.read_text(encoding="utf-8")
    assert "template" in text and "line None" not in text and "template:None" not in text
    assert "template:<" not in text and "template:\n" not in text and 'template:"' not in text


# --- hostile shapes: whatever the structure, a finding or a problem, never an exception ----------

_WORDS = st.sampled_from(["X", "Y", "a", "b-c", "${X}", "&{X}", "B${X}", "Names", "Bucket", "child.yaml",
                          "../p.yaml", "Outputs.V", "", "AWS::S3::Bucket", "AWS::CloudFormation::Stack"])
_KEYS = st.sampled_from(["Ref", "Fn::ForEach::L", "Fn::ForEach::M", "Fn::Sub", "Fn::Length", "Fn::ToJsonString",
                         "Fn::GetAtt", "Fn::Contains", "Fn::EachMemberEquals", "Fn::Equals", "Fn::If", "Type",
                         "Properties", "TemplateURL", "Parameters", "BucketName", "Assert", "Assertions",
                         "RuleCondition", "B${X}", "Fn::FindInMap"])
_VALUES = st.recursive(
    st.one_of(_WORDS, st.integers(-2, 3), st.booleans(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=3)),
    max_leaves=25,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(resources=st.dictionaries(st.one_of(_KEYS, _WORDS), _VALUES, max_size=4),
       rules=st.one_of(st.none(), _VALUES), outputs=st.one_of(st.none(), _VALUES))
def test_random_template_shapes_never_raise(
    tmp_path: Path, resources: dict[str, Any], rules: Any, outputs: Any
) -> None:
    doc: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09",
                           "Transform": ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"],
                           "Parameters": {"Names": {"Type": "CommaDelimitedList", "Default": "a,b"}},
                           "Resources": resources}
    if rules is not None:
        doc["Rules"] = rules
    if outputs is not None:
        doc["Outputs"] = outputs
    (tmp_path / "child.yaml").write_text(json.dumps(doc), encoding="utf-8")
    (tmp_path / "p.yaml").write_text(json.dumps(doc), encoding="utf-8")
    result = load(tmp_path)
    assert all(isinstance(p.message, str) and p.message for p in result.problems)


def test_compliant_bucket_from_an_unknown_loop_is_error_not_pass(tmp_path: Path) -> None:
    """Fail closed: how many copies exist is unknown, so the rules on the loop's bucket are ERROR."""
    from auditor.app.iac import audit_paths
    from auditor.config import load_config
    from auditor.engine.findings import Status
    from auditor.engine.rules import load_rules

    text = LANG + textwrap.dedent("""\
        Parameters:
          Copies: {Type: CommaDelimitedList}
        Resources:
          Fn::ForEach::Copies:
            - Copy
            - !Ref Copies
            - Logging${Copy}:
                Type: AWS::S3::Bucket
                Properties:
                  BucketName: ucit-ccme-logging-eu-west-1
                  VersioningConfiguration: {Status: Enabled}
        """)
    path = write(tmp_path, "loop.yaml", text)
    config = load_config(None, [("account", "111122223333"), ("regions", ["eu-west-1"])])
    result, _ = audit_paths([path], config, load_rules(None, ["ccme"]))
    versioning = [f for f in result.findings if f.rule_id == "CCME-S3-VERSIONING-LOGGING"]
    assert [f.status for f in versioning] == [Status.ERROR]
    assert "loops over a collection unknown before deployment" in versioning[0].message
    result, _ = audit_paths([path], config, load_rules(None, ["ccme"]), params={"Copies": "A"})
    versioning = [f for f in result.findings if f.rule_id == "CCME-S3-VERSIONING-LOGGING"]
    assert [f.status for f in versioning] == [Status.PASS]


def test_nested_stacks_in_a_parallel_run(tmp_path: Path) -> None:
    """Runs of 16+ files load in worker processes: the followed children still come back and are
    checked only through their parents."""
    from auditor.iac import PARALLEL_MIN_UNITS

    write(tmp_path, "main.yaml", PARENT)
    write(tmp_path, "stacks/storage.yaml", CHILD)
    for i in range(PARALLEL_MIN_UNITS):
        write(tmp_path, f"other{i:02d}.yaml", HEAD + f"Resources:\n  B:\n    Type: AWS::S3::Bucket\n"
              f"    Properties: {{BucketName: hpc-other-{i}}}\n")
    result = load(tmp_path)
    logical = sorted(r.location.logical_id for r in result.snapshot.resources if r.location and r.type == "s3.bucket")
    assert logical.count("Storage/Logging") == 1 and "Logging" not in logical and logical.count("B") == 16
