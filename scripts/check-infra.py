"""The offline half of `scripts/check-infra.sh`: prepares what cfn-lint and checkov check.

    python scripts/check-infra.py OUT_DIR TEMPLATE... [--asl DEFINITION.asl.json]...

- Each SAM template goes through the SAM transform, as `sam validate` would without
  credentials: local CodeUri paths become a placeholder S3 location, and a state machine's
  local DefinitionUri is read and inlined. The CloudFormation it produces is written to
  OUT_DIR/<name>.json, so the checks see what CloudFormation would receive (the roles SAM
  generates included). Managed policies come from the translator's bundled list; IAM is
  never called. Templates without the SAM transform are only parsed.
- Each state machine definition has its state references checked (every Next, Default and
  Catch target exists, every state is reachable, every state ends or moves on), and is
  wrapped as an AWS::StepFunctions::StateMachine in OUT_DIR/<name>.asl.template.json so
  that cfn-lint validates it against the Amazon States Language schema.
"""

import json
import logging
import os
import sys

from cfnlint.decode import decode
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform

PLACEHOLDER_CODE = "s3://lambda-rollout-check/placeholder.zip"
CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}
SAM = "AWS::Serverless-2016-10-31"


class BundledPolicies:
    """The translator's own list of AWS managed policies; IAM is never called."""

    def load(self):
        import samtranslator

        path = os.path.join(
            os.path.dirname(samtranslator.__file__), "internal", "data", "aws_managed_policies.json"
        )
        with open(path) as f:
            return json.load(f)["aws"]


def localize(template, template_dir):
    for name, resource in template.get("Resources", {}).items():
        kind = resource.get("Type")
        props = resource.setdefault("Properties", {})
        prop = CODE_PROPERTIES.get(kind)
        if prop and isinstance(props.get(prop), str) and not props[prop].startswith("s3://"):
            if not os.path.isfile(os.path.join(template_dir, props[prop], "Cargo.toml")):
                print(f"warning: {name}: {prop} {props[prop]} has no Cargo.toml (yet)")
            props[prop] = PLACEHOLDER_CODE
        if kind == "AWS::Serverless::StateMachine" and isinstance(props.get("DefinitionUri"), str):
            with open(os.path.join(template_dir, props.pop("DefinitionUri"))) as f:
                props["Definition"] = json.load(f)


def sam_transform(path, out_dir):
    template, matches = decode(path)
    if matches:
        for m in matches:
            print(f"{path}: {m}")
        return False
    transforms = template.get("Transform", [])
    if SAM not in (transforms if isinstance(transforms, list) else [transforms]):
        print(f"{path}: no SAM transform, parsed ok")
        return True
    localize(template, os.path.dirname(os.path.abspath(path)))
    try:
        output = transform(template, {}, BundledPolicies())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(f"{path}: SAM transform: {cause.message}")
        return False
    name = os.path.splitext(os.path.basename(path))[0] + ".json"
    with open(os.path.join(out_dir, name), "w") as f:
        json.dump(output, f, indent=1)
    print(f"{path}: SAM transform ok ({len(output['Resources'])} resources)")
    return True


def targets(state):
    """Every state name `state` can move to."""
    found = [state["Next"]] if "Next" in state else []
    found += [c["Next"] for c in state.get("Choices", []) if "Next" in c]
    found += [state["Default"]] if "Default" in state else []
    found += [c["Next"] for c in state.get("Catch", []) if "Next" in c]
    return found


def check_asl(path, out_dir):
    with open(path) as f:
        definition = json.load(f)
    states = definition.get("States", {})
    problems = []
    for name, state in states.items():
        for target in targets(state):
            if target not in states:
                problems.append(f"{name} moves to {target!r}, which does not exist")
        ends = state.get("Type") in ("Succeed", "Fail", "Choice") or state.get("End") is True
        if not ends and "Next" not in state:
            problems.append(f"{name} neither ends nor names its Next state")
    seen, todo = set(), [definition.get("StartAt")]
    while todo:
        name = todo.pop()
        if name in states and name not in seen:
            seen.add(name)
            todo.extend(targets(states[name]))
    problems += [f"{name} cannot be reached from StartAt" for name in states if name not in seen]
    for problem in problems:
        print(f"{path}: {problem}")
    placeholders = {
        "TrafficShifterFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:placeholder",
        "LoopsPerExecution": 250,
    }
    wrapper = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{path}, wrapped so that cfn-lint validates it",
        "Resources": {
            "StateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": "arn:aws:iam::123456789012:role/placeholder",
                    "Definition": definition,
                    "DefinitionSubstitutions": placeholders,
                },
            }
        },
    }
    name = os.path.basename(path).removesuffix(".json") + ".template.json"
    with open(os.path.join(out_dir, name), "w") as f:
        json.dump(wrapper, f, indent=1)
    if not problems:
        print(f"{path}: {len(states)} states, references ok")
    return not problems


def main():
    # The transform fills in pseudo parameters (AWS::Region) itself; any region will do.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # The translator logs notes about its feature toggles; only problems matter here.
    logging.basicConfig(level=logging.ERROR)
    out_dir, args = sys.argv[1], sys.argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    ok = True
    while args:
        arg = args.pop(0)
        if arg == "--asl":
            ok = check_asl(args.pop(0), out_dir) and ok
        else:
            ok = sam_transform(arg, out_dir) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
