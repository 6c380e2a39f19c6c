"""Deploy infra/template.yaml into the emulator -- and finish what moto skips.

moto's CloudFormation creates tables, queues, the bucket and the role, but
ignores a few things real CloudFormation does: bucket notifications, queue
policies, Secrets Manager secrets, SNS subscriptions, SES configuration sets and
the console's Cognito user pool (its app client and groups).  Those are read
from the *same* template here and applied through the ordinary APIs, so there
is still one list of resources.  moto has no End User Messaging SMS at all: its
configuration set (with its event destinations) is created in the stand-in
(devstack/sms_voice_standin.py) through `sms_voice`, a boto3 client at the
stand-in; without one only its name is known (for the outputs).
"""

from __future__ import annotations

import re
import secrets
import string
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "template.yaml"


COGNITO = ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup")


class StackError(RuntimeError):
    pass


class LocalStack:
    def __init__(
        self, session: Any, stack_name: str, template: Path = TEMPLATE, sms_voice: Any = None
    ) -> None:
        self._sms_voice = sms_voice
        self._cfn = session.client("cloudformation")
        self._s3 = session.client("s3")
        self._sqs = session.client("sqs")
        self._secrets = session.client("secretsmanager")
        self._sts = session.client("sts")
        self._ses = session.client("ses")
        self._sns = session.client("sns")
        self._cognito = session.client("cognito-idp")
        self._name = stack_name
        self._body = template.read_text()
        self._template = cfn_yaml.loads(self._body)
        self._physical: dict[str, str] = {}
        self._params: dict[str, str] = {}

    def deploy(self, parameters: dict[str, str]) -> dict[str, str]:
        """Create the stack, apply the gaps, and return every output."""
        self._cfn.create_stack(
            StackName=self._name,
            TemplateBody=self._body,
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        )
        stack = self._wait()
        self._params = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
        self._params.update(
            {
                "AWS::AccountId": self._sts.get_caller_identity()["Account"],
                "AWS::Region": self._cfn.meta.region_name,
                "AWS::Partition": "aws",
                "AWS::StackName": self._name,
            }
        )
        for resource in self._cfn.describe_stack_resources(StackName=self._name)["StackResources"]:
            if "PhysicalResourceId" in resource:  # moto lists skipped types without one
                self._physical[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]
        self._apply_gaps()
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        for key, spec in self._template.get("Outputs", {}).items():
            if key not in outputs:  # moto drops outputs of the types it skipped
                outputs[key] = self._resolve(spec["Value"])
        return outputs

    def physical(self, kind: str) -> dict[str, str]:
        """The deployed resources of one type, logical id -> physical id (a queue's is its URL)."""
        return {
            logical: self._physical[logical]
            for logical, resource in self._template["Resources"].items()
            if resource["Type"] == kind and logical in self._physical
        }

    @contextmanager
    def notifications_paused(self) -> Iterator[None]:
        """Bucket puts notify nobody meanwhile (a restore is not a marketer dropping files)."""
        buckets = self.physical("AWS::S3::Bucket")
        saved = {
            name: self._s3.get_bucket_notification_configuration(Bucket=name) for name in buckets.values()
        }
        for name in buckets.values():
            self._s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration={})
        try:
            yield
        finally:
            for name, config in saved.items():
                config.pop("ResponseMetadata", None)
                self._s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=config)

    def _wait(self, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            stack: dict[str, Any] = self._cfn.describe_stacks(StackName=self._name)["Stacks"][0]
            status = stack["StackStatus"]
            if status == "CREATE_COMPLETE":
                return stack
            if status.endswith("FAILED") or "ROLLBACK" in status:
                raise StackError(f"stack {self._name}: {status} {stack.get('StackStatusReason', '')}")
            time.sleep(0.2)
        raise StackError(f"stack {self._name} not created within {timeout}s")

    # --- the gaps ---------------------------------------------------------------
    def _apply_gaps(self) -> None:
        resources = self._template["Resources"]
        for logical, resource in resources.items():
            kind, props = resource["Type"], resource.get("Properties", {})
            if kind == "AWS::SecretsManager::Secret":
                self._create_secret(logical, props)
        for kind in COGNITO:  # the pool before its client and groups, which name it
            for logical, resource in resources.items():
                if resource["Type"] == kind and logical not in self._physical:
                    self._physical[logical] = self._create_cognito(
                        kind, self._resolve(resource["Properties"])
                    )
        for logical, resource in resources.items():
            kind, props = resource["Type"], resource.get("Properties", {})
            if kind == "AWS::SQS::QueuePolicy":
                self._apply_queue_policy(props)
            elif kind == "AWS::S3::Bucket" and "NotificationConfiguration" in props:
                self._apply_bucket_notification(logical, props["NotificationConfiguration"])
                self._apply_bucket_cors(logical, props.get("CorsConfiguration"))
            elif kind == "AWS::SES::EmailIdentity":
                self._verify_identity(logical, self._resolve(props["EmailIdentity"]))
            elif kind == "AWS::SES::ConfigurationSet" and logical not in self._physical:
                name = self._resolve(props["Name"])
                self._ses.create_configuration_set(ConfigurationSet={"Name": name})
                self._physical[logical] = name
            elif kind == "AWS::SNS::Subscription" and logical not in self._physical:
                self._physical[logical] = self._sns.subscribe(
                    TopicArn=self._resolve(props["TopicArn"]),
                    Protocol=props["Protocol"],
                    Endpoint=self._resolve(props["Endpoint"]),
                )["SubscriptionArn"]
            elif kind == "AWS::SES::ConfigurationSetEventDestination":
                self._add_event_destination(props)
            elif kind == "AWS::SMSVOICE::ConfigurationSet" and logical not in self._physical:
                self._physical[logical] = self._create_sms_configuration_set(props)

    def _create_secret(self, logical: str, props: dict[str, Any]) -> None:
        name = self._resolve(props["Name"])
        spec = props.get("GenerateSecretString", {})
        alphabet = string.ascii_letters + string.digits
        if not spec.get("ExcludePunctuation"):
            alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
        value = props.get("SecretString") or "".join(
            secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32)))
        )
        arn = self._secrets.create_secret(Name=name, SecretString=value)["ARN"]
        self._physical[logical] = arn

    def _create_cognito(self, kind: str, props: dict[str, Any]) -> str:
        """The pool as the template declares it (its password policy holds in the emulator too)."""
        if kind == "AWS::Cognito::UserPool":
            spec = {("PoolName" if k == "UserPoolName" else k): v for k, v in props.items()}
            return str(self._cognito.create_user_pool(**spec)["UserPool"]["Id"])
        if kind == "AWS::Cognito::UserPoolClient":
            return str(self._cognito.create_user_pool_client(**props)["UserPoolClient"]["ClientId"])
        self._cognito.create_group(**props)
        return str(props["GroupName"])

    def _verify_identity(self, logical: str, identity: str) -> None:
        """The emulator's SES accepts mail only from verified addresses, as SES's sandbox does."""
        if "@" in identity:
            self._ses.verify_email_identity(EmailAddress=identity)
        else:
            self._ses.verify_domain_identity(Domain=identity)
        self._physical[logical] = identity

    def _add_event_destination(self, props: dict[str, Any]) -> None:
        """Recorded in the emulator's SES (which sends no events: tests publish SES's own
        event documents to the topic, as SES would)."""
        spec = self._resolve(props["EventDestination"])
        self._ses.create_configuration_set_event_destination(
            ConfigurationSetName=self._resolve(props["ConfigurationSetName"]),
            EventDestination={
                "Name": spec["Name"],
                "Enabled": spec.get("Enabled", True),
                "MatchingEventTypes": spec["MatchingEventTypes"],
                "SNSDestination": {"TopicARN": spec["SnsDestination"]["TopicARN"]},
            },
        )

    def _create_sms_configuration_set(self, props: dict[str, Any]) -> str:
        """In the End User Messaging SMS stand-in, with its event destinations, as declared."""
        name = str(self._resolve(props["ConfigurationSetName"]))
        if self._sms_voice is None:
            return name
        self._sms_voice.create_configuration_set(ConfigurationSetName=name)
        kinds = ("CloudWatchLogsDestination", "KinesisFirehoseDestination", "SnsDestination")
        for spec in self._resolve(props.get("EventDestinations", [])):
            self._sms_voice.create_event_destination(
                ConfigurationSetName=name,
                EventDestinationName=spec["EventDestinationName"],
                MatchingEventTypes=spec["MatchingEventTypes"],
                **{kind: spec[kind] for kind in kinds if kind in spec},
            )
        return name

    def _apply_queue_policy(self, props: dict[str, Any]) -> None:
        import json

        document = json.dumps(self._resolve(props["PolicyDocument"]))
        for queue in props["Queues"]:
            self._sqs.set_queue_attributes(QueueUrl=self._resolve(queue), Attributes={"Policy": document})

    def _apply_bucket_notification(self, logical: str, spec: dict[str, Any]) -> None:
        queues = []
        for entry in spec.get("QueueConfigurations", []):
            config: dict[str, Any] = {"Events": [entry["Event"]], "QueueArn": self._resolve(entry["Queue"])}
            rules = entry.get("Filter", {}).get("S3Key", {}).get("Rules", [])
            if rules:
                config["Filter"] = {
                    "Key": {
                        "FilterRules": [
                            {"Name": r["Name"], "Value": self._resolve(r["Value"])} for r in rules
                        ]
                    }
                }
            queues.append(config)
        self._s3.put_bucket_notification_configuration(
            Bucket=self._physical[logical],
            NotificationConfiguration={"QueueConfigurations": queues},
        )

    def _apply_bucket_cors(self, logical: str, spec: dict[str, Any] | None) -> None:
        if not spec:
            return
        config = {"CORSRules": [_cors_rule(rule) for rule in self._resolve(spec["CorsRules"])]}
        self._s3.put_bucket_cors(Bucket=self._physical[logical], CORSConfiguration=config)

    # --- the intrinsic functions the gaps use ---------------------------------------
    def _resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((fn, arg),) = value.items()
            if fn == "Ref":
                return self._ref(arg)
            if fn == "Fn::Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(self._sub_name(m.group(1))), arg)
            if fn == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._get_att(logical, attribute)
        if isinstance(value, dict):
            return {k: self._resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        return value

    def _sub_name(self, name: str) -> str:
        if "." in name:
            logical, attribute = name.split(".", 1)
            return str(self._get_att(logical, attribute))
        return str(self._ref(name))

    def _ref(self, name: str) -> str:
        if name in self._params:
            return self._params[name]
        if name in self._physical:
            return self._physical[name]
        raise StackError(f"cannot resolve Ref {name}")

    def _get_att(self, logical: str, attribute: str) -> str:
        kind = self._template["Resources"][logical]["Type"]
        physical = self._physical[logical]
        if kind == "AWS::SQS::Queue" and attribute == "Arn":
            attrs = self._sqs.get_queue_attributes(QueueUrl=physical, AttributeNames=["QueueArn"])
            return str(attrs["Attributes"]["QueueArn"])
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return physical.rsplit("/", 1)[-1]
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{physical}"
        if kind == "AWS::SMSVOICE::ConfigurationSet" and attribute == "Arn":
            where = f"{self._params['AWS::Region']}:{self._params['AWS::AccountId']}"
            return f"arn:aws:sms-voice:{where}:configuration-set/{physical}"
        raise StackError(f"cannot resolve GetAtt {logical}.{attribute} locally")


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation CORS rule in the S3 API's words (MaxAge is MaxAgeSeconds there)."""
    names = {"MaxAge": "MaxAgeSeconds", "Id": "ID"}
    return {names.get(key, key): value for key, value in rule.items()}
